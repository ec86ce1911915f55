"""Near real time: every change that can move a score or fire a rule queues exactly one debounced recompute.

"Exactly one" is one PendingRecompute row per account and one
`recompute_pending_accounts` task sent, with the debounce as its countdown,
once the change commits. Changes on the accounts side are heard through
events (lifecycle.health.handlers, after commit); lifecycle's own writes
queue in their own transaction. A change that nothing reads queues nothing.

Where a handler meets a request already made (a check-in is also a
touchpoint), the test commits for real (`transaction=True`): inside a test's
transaction, which never commits, the handlers would run inside it too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.events import AccountChanged, AccountsChanged
from accounts.models import (
    Account,
    Channel,
    Coverage,
    DealRole,
    ExchangeRate,
    Industry,
    OutcomeKind,
    OutcomeSource,
    Region,
    RiskTag,
    Stage,
    Tier,
)
from accounts.money.services import exchange_rate_create
from accounts.outcomes.services import outcome_record
from accounts.tasks import converted_arr_refresh_daily
from accounts.tests.conftest import csm, manager, own_account, pool_account, team, teammate  # noqa: F401
from accounts.tests.factories import AccountFactory, ContactFactory
from core import events
from lifecycle.health.recompute import enqueue_account_recompute, health_recompute_pending
from lifecycle.health.services import score_override_clear, score_override_set
from lifecycle.models import CheckInQuestion, PendingRecompute
from lifecycle.signals.services import AnswerInput, checkin_log, pulse_rate, usage_ingest
from lifecycle.stages.services import account_stage_change
from lifecycle.tasks import RECOMPUTE_DEBOUNCE_SECONDS, recompute_pending_accounts
from users.models import User

pytestmark = pytest.mark.django_db

ONE_DEBOUNCED_TASK = [{"countdown": RECOMPUTE_DEBOUNCE_SECONDS}]


@pytest.fixture
def sent(monkeypatch) -> list[dict[str, Any]]:
    """The debounced recompute tasks sent to the broker, each as the keyword arguments of its apply_async."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(recompute_pending_accounts, "apply_async", lambda *args, **kwargs: calls.append(kwargs))
    return calls


@pytest.fixture
def commit(django_capture_on_commit_callbacks) -> Callable[[Callable[[], object]], None]:
    """Run a change as its own committed transaction: its after-commit work (event handlers, tasks) runs too."""

    def run(change: Callable[[], object]) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            change()

    return run


def pending() -> list[int]:
    return sorted(PendingRecompute.objects.values_list("account_id", flat=True))


def champion_of(account: Account):
    return ContactFactory(account=account, deal_role=DealRole.CHAMPION)


# --- the accounts side: heard through events ------------------------------------------------


def test_a_new_account_queues_one_recompute(csm, commit, sent):
    created: list[Account] = []
    commit(
        lambda: created.append(
            account_services.account_create(
                actor=csm,
                fields={
                    "name": "Fjord Labs",
                    "industry": Industry.SOFTWARE,
                    "region": Region.EMEA,
                    "arr": Decimal("12000"),
                },
                coverage=Coverage.ASSIGNED,
                owner=csm,
            )
        )
    )
    assert pending() == [created[0].pk]
    assert sent == ONE_DEBOUNCED_TASK


@pytest.mark.parametrize(
    "fields",
    [
        {"arr": Decimal("75000")},
        {"renewal_date": dt.date(2031, 1, 31)},
        {"contract_start": dt.date(2024, 2, 1)},
        {"tier": Tier.HIGH_TOUCH},
        {"currency": "EUR"},
        # Several health inputs in one edit are still one request.
        {"arr": Decimal("90000"), "renewal_date": dt.date(2031, 6, 30), "tier": Tier.HIGH_TOUCH},
    ],
    ids=["arr", "renewal date", "contract start", "tier", "currency", "several at once"],
)
def test_changing_the_terms_of_an_account_queues_one_recompute(csm, own_account, commit, sent, fields):
    commit(lambda: account_services.account_update(actor=csm, account=own_account, fields=fields))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_change_to_the_products_an_account_holds_queues_one_recompute(own_account, commit, sent):
    # As the entitlement services announce it: adoption breadth reads what the account holds.
    commit(lambda: events.announce(AccountChanged(account_id=own_account.pk, fields=frozenset({"entitlements"}))))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_new_exchange_rate_queues_one_recompute_for_every_account_in_its_currency(csm, commit, sent):
    pounds = [AccountFactory(currency="GBP", arr=Decimal("100000")) for _ in range(3)]
    AccountFactory(currency="USD")
    commit(
        lambda: exchange_rate_create(
            actor=csm, currency="GBP", rate_to_reporting=Decimal("1.27"), effective_on=timezone.localdate()
        )
    )
    # The next-best rank sizes accounts by converted ARR, so only the pounds accounts move.
    assert pending() == sorted(account.pk for account in pounds)
    assert sent == ONE_DEBOUNCED_TASK


def test_a_rate_dated_ahead_queues_its_accounts_on_the_day_it_takes_over(commit, sent):
    euros = AccountFactory(currency="EUR", arr=Decimal("1000"))
    ExchangeRate.objects.create(currency="EUR", rate_to_reporting=Decimal("1.1"), effective_on=timezone.localdate())
    ExchangeRate.objects.create(
        currency="GBP", rate_to_reporting=Decimal("1.3"), effective_on=timezone.localdate() - dt.timedelta(days=4)
    )
    AccountFactory(currency="GBP")
    commit(converted_arr_refresh_daily)
    assert pending() == [euros.pk]


def test_a_bulk_change_of_contacts_queues_one_recompute_for_all_their_accounts(commit, sent):
    accounts = [AccountFactory() for _ in range(3)]
    ids = tuple(account.pk for account in accounts)
    # As an import of contacts announces it.
    commit(lambda: events.announce(AccountsChanged(account_ids=ids, fields=frozenset({"contacts"}))))
    assert pending() == sorted(ids)
    assert sent == ONE_DEBOUNCED_TASK


def test_a_bulk_change_no_score_reads_queues_nothing(commit, sent):
    account = AccountFactory()
    commit(lambda: events.announce(AccountsChanged(account_ids=(account.pk,), fields=frozenset({"name"}))))
    assert pending() == []
    assert sent == []


def test_a_champion_marked_as_departed_queues_one_recompute(csm, own_account, commit, sent):
    champion = champion_of(own_account)
    commit(lambda: account_services.contact_update(actor=csm, contact=champion, fields={"departed": True}))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_champion_marked_as_departed_through_the_api_queues_one_recompute(csm, own_account, commit, sent):
    champion = champion_of(own_account)
    client = APIClient()
    client.force_authenticate(csm)
    responses = []
    commit(
        lambda: responses.append(
            client.patch(reverse("api:contact-detail", args=[champion.pk]), {"departed": True}, format="json")
        )
    )
    assert responses[0].status_code == 200, responses[0].content
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_contact_given_a_new_role_queues_one_recompute(csm, own_account, commit, sent):
    contact = ContactFactory(account=own_account)
    commit(lambda: account_services.contact_update(actor=csm, contact=contact, fields={"deal_role": DealRole.CHAMPION}))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_new_contact_queues_one_recompute(csm, own_account, commit, sent):
    commit(
        lambda: account_services.contact_create(
            actor=csm, account=own_account, fields={"first_name": "Noor", "deal_role": DealRole.DECISION_MAKER}
        )
    )
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_logged_touchpoint_queues_one_recompute(csm, own_account, commit, sent):
    commit(
        lambda: account_services.touchpoint_log(
            actor=csm,
            account=own_account,
            channel=Channel.MEETING,
            occurred_at=timezone.now() - dt.timedelta(hours=1),
            summary="Roadmap review",
        )
    )
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


# --- lifecycle's own writes: queued in their transaction -------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_check_in_which_is_also_a_touchpoint_queues_one_recompute(csm, own_account, commit, sent):
    # The check-in queues in its transaction; the touchpoint it writes is announced too,
    # and its handler finds the account already waiting: still one row, one task.
    answers = [
        AnswerInput(question_id=pk, concern=False)
        for pk in CheckInQuestion.objects.filter(active=True).values_list("pk", flat=True)
    ]
    commit(
        lambda: checkin_log(
            actor=csm, account=own_account, held_at=timezone.now() - dt.timedelta(hours=1), answers=answers
        )
    )
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_pulse_rating_queues_one_recompute(csm, own_account, commit, sent):
    commit(lambda: pulse_rate(actor=csm, account=own_account, rating=2, reasons=["value"]))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_setting_and_clearing_a_score_override_each_queue_one_recompute(manager, own_account, commit, sent):
    # The override shows at once where the account has current health; the recompute
    # also brings it to an account that was never scored.
    commit(
        lambda: score_override_set(
            actor=manager,
            account=own_account,
            score=35,
            reason="Exec sponsor left last week",
            expires_at=timezone.now() + dt.timedelta(days=14),
        )
    )
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK

    PendingRecompute.objects.all().delete()  # as the debounced task would
    commit(lambda: score_override_clear(actor=manager, account=own_account, reason="Replaced"))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK * 2


def test_a_stage_change_queues_one_recompute(csm, own_account, commit, sent):
    commit(lambda: account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason="Live"))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_a_churn_records_its_outcome_and_still_queues_one_recompute(csm, own_account, commit, sent):
    commit(
        lambda: account_stage_change(
            actor=csm, account=own_account, to_stage=Stage.CHURNED, churn_reason="budget", reason="Budget cut"
        )
    )
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


def test_signals_for_several_accounts_queue_one_recompute_for_all_of_them(csm, own_account, pool_account, commit, sent):
    day = timezone.localdate() - dt.timedelta(days=1)
    rows = [
        {"account": account.pk, "day": day.isoformat(), "active_users": 12, "licences_used": 20, "licences_owned": 25}
        for account in (own_account, pool_account)
    ]
    commit(lambda: usage_ingest(actor=csm, rows=rows))
    assert pending() == sorted([own_account.pk, pool_account.pk])
    assert sent == ONE_DEBOUNCED_TASK


# --- what moves nothing queues nothing ------------------------------------------------------


def test_an_internal_note_queues_nothing(csm, own_account, commit, sent):
    commit(lambda: account_services.timeline_note_add(actor=csm, account=own_account, summary="Prefers email"))
    commit(
        lambda: account_services.timeline_note_add(
            actor=csm, account=own_account, summary="Budget review in May", risk_tag=RiskTag.BUDGET_CUT
        )
    )
    assert pending() == []
    assert sent == []


def test_edits_that_no_score_or_rule_reads_queue_nothing(csm, teammate, own_account, commit, sent):
    contact = ContactFactory(account=own_account, deal_role=DealRole.CHAMPION)
    commit(lambda: account_services.account_update(actor=csm, account=own_account, fields={"industry": "retail"}))
    commit(lambda: account_services.contact_update(actor=csm, contact=contact, fields={"title": "VP Operations"}))
    commit(lambda: account_services.contact_verify(actor=csm, contact=contact))
    commit(
        lambda: account_services.account_reassign(
            actor=csm, account=own_account, coverage=Coverage.ASSIGNED, owner=teammate, pool=None, reason="Holiday"
        )
    )
    assert pending() == []
    assert sent == []


def test_a_recorded_renewal_queues_nothing_as_no_score_or_rule_reads_outcomes(csm, own_account, commit, sent):
    today = timezone.localdate()
    commit(
        lambda: outcome_record(
            actor=csm,
            account=own_account,
            kind=OutcomeKind.RENEWED,
            occurred_on=today,
            term_start=today - dt.timedelta(days=365),
            term_end=today,
            arr_before=Decimal("50000"),
            arr_after=Decimal("55000"),
            source=OutcomeSource.PAGE,
        )
    )
    assert pending() == []
    assert sent == []


def test_a_change_that_is_rolled_back_queues_nothing(csm, own_account, commit, sent):
    champion = champion_of(own_account)

    def departs_then_fails() -> None:
        with transaction.atomic():
            account_services.contact_update(actor=csm, contact=champion, fields={"departed": True})
            pulse_rate(actor=csm, account=own_account, rating=1)
            transaction.set_rollback(True)

    commit(departs_then_fails)
    assert pending() == []
    assert sent == []


# --- the request itself -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_several_changes_to_one_account_in_one_transaction_are_one_request(csm, own_account, commit, sent):
    champion = champion_of(own_account)

    def one_transaction() -> None:
        with transaction.atomic():
            pulse_rate(actor=csm, account=own_account, rating=2)
            account_services.contact_update(actor=csm, contact=champion, fields={"departed": True})
            account_services.account_update(actor=csm, account=own_account, fields={"arr": Decimal("20000")})
            score_override_set(
                actor=csm,
                account=own_account,
                score=30,
                reason="Champion gone",
                expires_at=timezone.now() + dt.timedelta(days=7),
            )

    commit(one_transaction)
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK


@pytest.mark.django_db(transaction=True)
def test_an_account_already_waiting_is_not_queued_twice(csm, own_account, commit, sent):
    commit(lambda: pulse_rate(actor=csm, account=own_account, rating=3))
    champion = champion_of(own_account)
    commit(lambda: account_services.contact_update(actor=csm, contact=champion, fields={"departed": True}))
    assert pending() == [own_account.pk]
    # The pulse's task is still on its way and will read the departure: no second one.
    assert sent == ONE_DEBOUNCED_TASK


def test_a_change_after_the_task_took_the_account_queues_a_new_request(csm, own_account, commit, sent):
    commit(lambda: pulse_rate(actor=csm, account=own_account, rating=3))
    assert health_recompute_pending() == 1
    assert pending() == []
    champion = champion_of(own_account)
    commit(lambda: account_services.contact_update(actor=csm, contact=champion, fields={"departed": True}))
    assert pending() == [own_account.pk]
    assert sent == ONE_DEBOUNCED_TASK * 2


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_task_goes_only_with_a_new_row(sent):
    # As an accounts event's handler calls it: the change it reports has committed already.
    account = AccountFactory(owner=User.objects.create(username="csm-outside", role=User.Role.CSM))
    enqueue_account_recompute([account.pk])
    enqueue_account_recompute([account.pk])
    assert pending() == [account.pk]
    assert sent == ONE_DEBOUNCED_TASK

    assert health_recompute_pending() == 1
    enqueue_account_recompute([account.pk])
    assert pending() == [account.pk]
    assert sent == ONE_DEBOUNCED_TASK * 2
