"""The bulk tier apply's records: one history row and one audit record for each account moved, written
set-based, so the statements it runs do not grow with the number of accounts it moves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.events import AccountsChanged
from accounts.models import (
    Account,
    AccountTerms,
    AuditAction,
    AuditEvent,
    ExchangeRate,
    Industry,
    Region,
    TermsSource,
    Tier,
    TierSource,
)
from accounts.money.refresh import converted_arr_refresh
from accounts.segments import sql
from accounts.segments.services import tier_rule_create, tiers_apply
from accounts.tests.factories import AccountFactory
from core import events
from users.models import display_name

pytestmark = pytest.mark.django_db
D = Decimal
HIGH, LOW, TECH = Tier.HIGH_TOUCH, Tier.LOW_TOUCH, Tier.TECH_TOUCH


@pytest.fixture
def rules(admin):
    """Healthcare in North America → high-touch first, then ≥ 100k → high-touch, ≥ 20k → low-touch, else tech-touch."""
    return [
        tier_rule_create(actor=admin, tier=HIGH, industry=Industry.HEALTHCARE, region=Region.NORTH_AMERICA),
        tier_rule_create(actor=admin, tier=HIGH, min_arr=D("100000")),
        tier_rule_create(actor=admin, tier=LOW, min_arr=D("20000")),
        tier_rule_create(actor=admin, tier=TECH),
    ]


@pytest.fixture
def announced():
    seen: list[AccountsChanged] = []
    events.subscribe(AccountsChanged, seen.append)
    yield seen
    events._handlers[AccountsChanged].remove(seen.append)


def moved_records() -> tuple[list[AccountTerms], list[AuditEvent]]:
    return (
        list(AccountTerms.objects.order_by("account_id")),
        list(AuditEvent.objects.filter(action=AuditAction.TIER_CHANGED).order_by("account_id")),
    )


def test_each_moved_account_gets_one_history_row_and_one_audit_record_with_its_move_and_rule(admin, rules):
    ExchangeRate.objects.create(
        currency="EUR", rate_to_reporting=D("1.10"), effective_on=timezone.localdate() - dt.timedelta(days=3)
    )
    clinic = AccountFactory(arr=D("1000"), tier=TECH, industry=Industry.HEALTHCARE, region=Region.NORTH_AMERICA)
    up = AccountFactory(arr=D("150000"), tier=LOW)
    euro_up = AccountFactory(arr=D("95000"), currency="EUR", tier=TECH)  # 104,500 USD
    down = AccountFactory(arr=D("1000"), tier=HIGH, renewal_date=None)
    AccountFactory(arr=D("50000"), tier=LOW)  # already where the rules put it
    AccountFactory(arr=D("1000"), tier=HIGH, tier_source=TierSource.MANUAL)
    AccountFactory(arr=D("1000"), currency="CHF", tier=HIGH)  # no rate: left as it is
    converted_arr_refresh()

    result = tiers_apply(actor=admin)

    assert result.moved == 4
    terms, audits = moved_records()
    moved = [clinic, up, euro_up, down]
    assert [row.account_id for row in terms] == [row.account_id for row in audits] == [a.pk for a in moved]
    for row, account in zip(terms, moved, strict=True):
        account.refresh_from_db()
        assert (row.tier, row.arr, row.currency) == (account.tier, account.arr, account.currency)
        assert (row.contract_start, row.renewal_date) == (account.contract_start, account.renewal_date)
        assert (row.recorded_by, row.source) == (admin, TermsSource.EDITED)
    assert [audit.changes for audit in audits] == [
        {"tier": [TECH, HIGH]},
        {"tier": [LOW, HIGH]},
        {"tier": [TECH, HIGH]},
        {"tier": [HIGH, TECH]},
    ]
    assert [audit.reason for audit in audits] == [
        "Rule 1: industry Healthcare, region North America",
        "Rule 2: ARR at least 100,000 USD",
        "Rule 2: ARR at least 100,000 USD",
        "Rule 4: every account",
    ]
    for audit in audits:
        assert (audit.actor, audit.actor_name) == (admin, display_name(admin))
        assert (audit.subject_type, audit.subject_id) == ("account", audit.account_id)
    assert len({row.effective_at for row in terms} | {audit.created_at for audit in audits}) == 1


def test_a_second_apply_moves_nothing_and_records_nothing(admin, rules):
    AccountFactory.create_batch(3, arr=D("150000"), tier=LOW)
    assert tiers_apply(actor=admin).moved == 3
    assert tiers_apply(actor=admin).moved == 0
    terms, audits = moved_records()
    assert (len(terms), len(audits)) == (3, 3)


def test_the_moves_are_counted_from_and_to_and_every_moved_account_is_announced(
    admin, rules, announced, django_capture_on_commit_callbacks
):
    ups = AccountFactory.create_batch(2, arr=D("150000"), tier=LOW)
    downs = AccountFactory.create_batch(3, arr=D("1000"), tier=LOW)
    sideways = AccountFactory(arr=D("150000"), tier=TECH)

    with django_capture_on_commit_callbacks(execute=True):
        result = tiers_apply(actor=admin)

    assert [(move.from_tier, move.to_tier, move.count) for move in result.moves] == [
        (LOW, HIGH, 2),
        (LOW, TECH, 3),
        (TECH, HIGH, 1),
    ]
    assert [event.account_ids for event in announced] == [tuple(sorted(a.pk for a in [*ups, *downs, sideways]))]


@pytest.mark.parametrize("moving", [3, 30])
def test_the_apply_runs_the_same_statements_for_3_or_30_accounts_moved(admin, rules, moving, django_assert_num_queries):
    """Savepoint, the rules and the accounts locked, the count without a rate, the history, the audit,
    the UPDATE, release."""
    AccountFactory.create_batch(moving, arr=D("150000"), tier=LOW)
    AccountFactory.create_batch(5, arr=D("50000"), tier=LOW)  # staying
    with django_assert_num_queries(8):
        assert tiers_apply(actor=admin).moved == moving
    terms, audits = moved_records()
    assert len(terms) == len(audits) == moving
    assert Account.objects.filter(tier=HIGH).count() == moving


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="SQLite's transaction holds the write lock from its start: nothing lands"
)
def test_an_account_that_starts_moving_after_the_lock_is_left_for_the_next_apply(admin, rules, monkeypatch):
    first = AccountFactory(arr=D("150000"), tier=LOW)
    between = AccountFactory(arr=D("50000"), tier=LOW)
    last = AccountFactory(arr=D("150000"), tier=LOW)
    record = sql.moves_record

    def after_a_new_rate_committed(*args, **kwargs):
        # As if a rate refresh committed once the moving accounts were locked: `between` would now move.
        Account.objects.filter(pk=between.pk).update(arr_reporting=D("150000"))
        record(*args, **kwargs)

    monkeypatch.setattr(sql, "moves_record", after_a_new_rate_committed)
    assert tiers_apply(actor=admin).moved == 2

    terms, audits = moved_records()
    assert [row.account_id for row in terms] == [row.account_id for row in audits] == [first.pk, last.pk]
    assert dict(Account.objects.values_list("pk", "tier")) == {first.pk: HIGH, between.pk: LOW, last.pk: HIGH}
