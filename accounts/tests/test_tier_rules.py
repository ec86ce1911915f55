"""Tier rules: the first matching rule gives an account its tier, on save and in bulk; a tier set by hand stays."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import (
    Account,
    AccountTerms,
    AuditAction,
    AuditEvent,
    ExchangeRate,
    Industry,
    Region,
    Tier,
    TierRule,
    TierSource,
)
from accounts.money.refresh import converted_arr_refresh
from accounts.segments.rules import tier_by_rules
from accounts.segments.services import (
    tier_rule_create,
    tier_rule_delete,
    tier_rule_move,
    tier_rule_update,
    tier_rules_reorder,
    tiers_apply,
    tiers_preview,
)
from accounts.services import account_create, account_update
from accounts.tests.factories import AccountFactory
from users.models import User

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate()
HIGH, LOW, TECH = Tier.HIGH_TOUCH, Tier.LOW_TOUCH, Tier.TECH_TOUCH


@pytest.fixture
def standard_rules(admin: User) -> list[TierRule]:
    """≥ 100k → high-touch, ≥ 20k → low-touch, everything else → tech-touch (reporting currency)."""
    return [
        tier_rule_create(actor=admin, tier=HIGH, min_arr=D("100000")),
        tier_rule_create(actor=admin, tier=LOW, min_arr=D("20000")),
        tier_rule_create(actor=admin, tier=TECH),
    ]


def eur_at(value: str) -> None:
    ExchangeRate.objects.create(currency="EUR", rate_to_reporting=D(value), effective_on=TODAY - dt.timedelta(days=3))
    converted_arr_refresh(currencies=["EUR"])


def fields(**values) -> dict:
    base = {"name": "Umbra Labs", "industry": Industry.SOFTWARE, "region": Region.EMEA, "arr": D("5000")}
    return {**base, **values}


# Ordering and conditions


def test_the_first_matching_rule_wins(admin, standard_rules):
    big, middle, small = (
        AccountFactory(arr=D("150000")),
        AccountFactory(arr=D("20000")),
        AccountFactory(arr=D("19999.99")),
    )
    assert [tier_by_rules(account.pk).tier for account in (big, middle, small)] == [HIGH, LOW, TECH]
    # Moved to the top, the catch-all wins for everyone.
    tier_rule_move(actor=admin, rule=standard_rules[2], up=True)
    tier_rule_move(actor=admin, rule=standard_rules[2], up=True)
    assert [rule.pk for rule in TierRule.objects.in_order()] == [
        standard_rules[2].pk,
        standard_rules[0].pk,
        standard_rules[1].pk,
    ]
    assert {tier_by_rules(account.pk).tier for account in (big, middle, small)} == {TECH}


def test_a_rule_can_name_an_industry_a_region_and_an_arr_band(admin):
    tier_rule_create(
        actor=admin, tier=HIGH, industry=Industry.HEALTHCARE, region=Region.APAC, min_arr=D("10000"), max_arr=D("50000")
    )
    inside = AccountFactory(industry=Industry.HEALTHCARE, region=Region.APAC, arr=D("10000"))
    at_the_top = AccountFactory(industry=Industry.HEALTHCARE, region=Region.APAC, arr=D("50000"))
    other_region = AccountFactory(industry=Industry.HEALTHCARE, region=Region.EMEA, arr=D("20000"))
    assert tier_by_rules(inside.pk).tier == HIGH
    assert tier_by_rules(at_the_top.pk).tier is None  # "below 50,000" leaves 50,000 out
    assert tier_by_rules(other_region.pk).tier is None


def test_thresholds_compare_arr_in_the_reporting_currency(admin, standard_rules):
    eur_at("1.20")
    # 90,000 EUR is 108,000 USD: high-touch, though the amount as written is under 100,000.
    account = AccountFactory(arr=D("90000"), currency="EUR")
    converted_arr_refresh(account_ids=[account.pk])
    assert tier_by_rules(account.pk).tier == HIGH


def test_an_account_without_a_rate_is_left_as_it_is_and_reported(admin, standard_rules):
    account = AccountFactory(arr=D("900000"), currency="JPY", tier=LOW)
    assert account.arr_reporting is None
    decision = tier_by_rules(account.pk)
    assert decision.tier is None and decision.no_rate and decision.rule == standard_rules[0]

    preview = tiers_preview()
    assert preview.moving == 0 and preview.no_rate == 1
    assert list(preview.no_rate_accounts) == [account]
    assert "no exchange rate for JPY" in preview.reason(preview.no_rate_accounts[0])
    assert tiers_apply(actor=admin).no_rate == 1
    account.refresh_from_db()
    assert account.tier == LOW


def test_a_rule_without_arr_conditions_places_an_account_without_a_rate_if_it_comes_first(admin):
    tier_rule_create(actor=admin, tier=HIGH, industry=Industry.MEDIA)
    tier_rule_create(actor=admin, tier=TECH, max_arr=D("10000"))
    media = AccountFactory(industry=Industry.MEDIA, currency="JPY", arr=D("1"))
    assert tier_by_rules(media.pk).tier == HIGH


def test_no_matching_rule_leaves_the_tier_as_it_is(admin):
    tier_rule_create(actor=admin, tier=HIGH, min_arr=D("100000"))
    account = account_create(actor=admin, fields=fields(arr=D("5000")), owner=AccountFactory().owner)
    assert account.tier == LOW and account.tier_source == TierSource.RULES


# Rule validation


@pytest.mark.parametrize(
    "values, field",
    [
        ({"tier": "gold"}, "tier"),
        ({"tier": HIGH, "min_arr": D("100"), "max_arr": D("100")}, "max_arr"),
        ({"tier": HIGH, "min_arr": D("-1")}, "min_arr"),
        ({"tier": HIGH, "max_arr": D("0")}, "max_arr"),
        ({"tier": HIGH, "industry": "mining"}, "industry"),
        ({"tier": HIGH, "region": "mars"}, "region"),
    ],
)
def test_a_rule_that_makes_no_sense_is_refused(admin, values, field):
    with pytest.raises(ValidationError) as error:
        tier_rule_create(actor=admin, **values)
    assert field in error.value.message_dict
    assert not TierRule.objects.exists()


def test_the_database_keeps_positions_unique_and_min_below_max(admin):
    TierRule.objects.create(position=1, tier=HIGH)
    with pytest.raises(IntegrityError), transaction.atomic():
        TierRule.objects.create(position=1, tier=LOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        TierRule.objects.create(position=2, tier=LOW, min_arr=D("10"), max_arr=D("5"))
    with pytest.raises(IntegrityError), transaction.atomic():
        TierRule.objects.create(position=3, tier="gold")


def test_rule_writes_are_audited_and_positions_stay_compact(admin, standard_rules):
    tier_rule_update(actor=admin, rule=standard_rules[1], min_arr=D("25000"))
    tier_rule_delete(actor=admin, rule=standard_rules[0])
    tier_rules_reorder(actor=admin, rule_ids=[standard_rules[2].pk, standard_rules[1].pk])
    assert list(TierRule.objects.in_order().values_list("pk", "position")) == [
        (standard_rules[2].pk, 1),
        (standard_rules[1].pk, 2),
    ]
    actions = list(AuditEvent.objects.order_by("pk").values_list("action", flat=True))
    assert actions == [
        AuditAction.TIER_RULE_CREATED,
        AuditAction.TIER_RULE_CREATED,
        AuditAction.TIER_RULE_CREATED,
        AuditAction.TIER_RULE_UPDATED,
        AuditAction.TIER_RULE_DELETED,
        AuditAction.TIER_RULES_REORDERED,
    ]
    assert AuditEvent.objects.get(action=AuditAction.TIER_RULE_UPDATED).changes == {"min_arr": ["20000.00", "25000"]}


def test_a_reorder_must_name_every_rule_once(admin, standard_rules):
    with pytest.raises(ValidationError):
        tier_rules_reorder(actor=admin, rule_ids=[standard_rules[0].pk, standard_rules[0].pk, standard_rules[1].pk])
    with pytest.raises(ValidationError):
        tier_rules_reorder(actor=admin, rule_ids=[standard_rules[0].pk])


# On save


def test_the_rules_decide_a_new_accounts_tier_and_its_history_says_so(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("250000")), owner=csm)
    assert account.tier == HIGH and account.tier_source == TierSource.RULES
    assert Account.objects.get(pk=account.pk).tier == HIGH
    assert list(AccountTerms.objects.filter(account=account).values_list("tier", flat=True)) == [HIGH]
    assert "Rule 1" in AuditEvent.objects.get(account=account, action=AuditAction.ACCOUNT_CREATED).reason


def test_a_tier_sent_with_a_new_account_is_set_by_hand(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("250000"), tier=TECH, tier_reason="Pilot"), owner=csm)
    assert (account.tier, account.tier_source, account.tier_reason) == (TECH, TierSource.MANUAL, "Pilot")


def test_a_new_arr_moves_the_tier_through_the_rules(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("5000")), owner=csm)
    assert account.tier == TECH
    account_update(actor=csm, account=account, fields={"arr": D("120000")})
    account.refresh_from_db()
    assert account.tier == HIGH
    update = AuditEvent.objects.get(account=account, action=AuditAction.ACCOUNT_UPDATED)
    assert update.changes["tier"] == [TECH, HIGH] and "Rule 1" in update.reason
    # One history row for the edit, carrying the new ARR and the tier the rules gave it.
    assert list(AccountTerms.objects.filter(account=account).values_list("arr", "tier")) == [
        (D("120000"), HIGH),
        (D("5000"), TECH),
    ]


def test_a_change_of_currency_is_judged_after_conversion(admin, csm, standard_rules):
    eur_at("1.25")
    account = account_create(actor=admin, fields=fields(arr=D("85000")), owner=csm)
    assert account.tier == LOW
    account_update(actor=csm, account=account, fields={"currency": "EUR"})  # 106,250 USD
    account.refresh_from_db()
    assert account.tier == HIGH


def test_an_edit_that_touches_nothing_the_rules_read_moves_no_tier(admin, csm, standard_rules):
    account = AccountFactory(arr=D("500000"), tier=LOW, owner=csm)  # out of step with the rules
    account_update(actor=csm, account=account, fields={"name": "Renamed"})
    account.refresh_from_db()
    assert account.tier == LOW


def test_a_tier_set_by_hand_survives_a_new_arr_and_the_bulk_apply(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("5000")), owner=csm)
    account_update(
        actor=csm,
        account=account,
        fields={"tier": HIGH, "tier_source": TierSource.MANUAL, "tier_reason": "Strategic logo"},
    )
    account.refresh_from_db()
    assert (account.tier, account.tier_source) == (HIGH, TierSource.MANUAL)

    account_update(actor=csm, account=account, fields={"arr": D("6000")})
    assert tiers_preview().moving == 0 and tiers_preview().manual == 1
    tiers_apply(actor=admin)
    account.refresh_from_db()
    assert (account.tier, account.tier_reason) == (HIGH, "Strategic logo")


def test_changing_the_tier_alone_sets_it_by_hand(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("5000")), owner=csm)
    account_update(actor=csm, account=account, fields={"tier": LOW})
    account.refresh_from_db()
    assert (account.tier, account.tier_source) == (LOW, TierSource.MANUAL)
    changes = AuditEvent.objects.filter(account=account, action=AuditAction.ACCOUNT_UPDATED).get().changes
    assert changes == {"tier": [TECH, LOW], "tier_source": [TierSource.RULES, TierSource.MANUAL]}


def test_letting_the_rules_decide_clears_the_override_and_applies_them(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("5000"), tier=HIGH, tier_reason="Pilot"), owner=csm)
    account_update(actor=csm, account=account, fields={"tier_source": TierSource.RULES})
    account.refresh_from_db()
    assert (account.tier, account.tier_source, account.tier_reason) == (TECH, TierSource.RULES, "")


def test_setting_a_tier_and_letting_the_rules_decide_at_once_is_refused(admin, csm, standard_rules):
    account = account_create(actor=admin, fields=fields(arr=D("5000")), owner=csm)
    with pytest.raises(ValidationError) as error:
        account_update(actor=csm, account=account, fields={"tier": HIGH, "tier_source": TierSource.RULES})
    assert "tier" in error.value.message_dict


def test_a_new_exchange_rate_moves_no_tier_by_itself(admin, csm, standard_rules):
    from accounts.money.services import exchange_rate_create

    account = account_create(actor=admin, fields=fields(arr=D("90000"), currency="EUR"), owner=csm)
    assert account.tier == LOW  # created without a rate: "no exchange rate", left at the default
    exchange_rate_create(actor=admin, currency="EUR", rate_to_reporting=D("1.2"), effective_on=TODAY)
    account.refresh_from_db()
    assert account.tier == LOW
    preview = tiers_preview()
    assert [(move.from_tier, move.to_tier, move.count) for move in preview.moves] == [(LOW, HIGH, 1)]


# In bulk


def test_the_preview_shows_exactly_the_accounts_the_apply_moves(admin, standard_rules):
    eur_at("1.10")
    stays = AccountFactory(arr=D("150000"), tier=HIGH)
    up = AccountFactory(arr=D("150000"), tier=LOW)
    down = AccountFactory(arr=D("1000"), tier=LOW)
    euro = AccountFactory(arr=D("95000"), currency="EUR", tier=LOW)  # 104,500 USD
    manual = AccountFactory(arr=D("1000"), tier=HIGH, tier_source=TierSource.MANUAL)
    no_rate = AccountFactory(arr=D("1000"), currency="CHF", tier=HIGH)
    converted_arr_refresh()

    preview = tiers_preview()
    previewed = {account.pk: account.rule_tier for account in preview.accounts}
    assert previewed == {up.pk: HIGH, down.pk: TECH, euro.pk: HIGH}
    assert [(move.from_tier, move.to_tier, move.count) for move in preview.moves] == [(LOW, HIGH, 2), (LOW, TECH, 1)]
    assert (preview.moving, preview.no_rate, preview.manual) == (3, 1, 1)

    result = tiers_apply(actor=admin, expected=3)
    assert result.moved == 3
    tiers = dict(Account.objects.values_list("pk", "tier"))
    assert {pk: tiers[pk] for pk in previewed} == previewed
    assert (tiers[stays.pk], tiers[manual.pk], tiers[no_rate.pk]) == (HIGH, HIGH, HIGH)
    assert tiers_preview().moving == 0


def test_the_apply_records_history_and_audit_for_each_account_moved(admin, standard_rules):
    account = AccountFactory(arr=D("150000"), tier=LOW)
    tiers_apply(actor=admin)
    terms = AccountTerms.objects.get(account=account)
    assert (terms.tier, terms.arr, terms.recorded_by) == (HIGH, D("150000"), admin)
    audit = AuditEvent.objects.get(account=account, action=AuditAction.TIER_CHANGED)
    assert audit.changes == {"tier": [LOW, HIGH]} and audit.actor == admin
    assert audit.reason == "Rule 1: ARR at least 100,000 USD"


def test_the_apply_refuses_when_the_book_changed_since_the_preview(admin, standard_rules):
    AccountFactory(arr=D("150000"), tier=LOW)
    with pytest.raises(ValidationError) as error:
        tiers_apply(actor=admin, expected=5)
    assert "expected" in error.value.message_dict
    assert Account.objects.get().tier == LOW


def test_the_apply_runs_in_fixed_queries_whatever_the_number_of_accounts(
    admin, standard_rules, django_assert_num_queries
):
    def moves(n):
        AccountFactory.create_batch(n, arr=D("150000"), tier=LOW)
        AccountFactory.create_batch(n, arr=D("1000"), tier=LOW)

    moves(2)
    with django_assert_num_queries(8):
        assert tiers_apply(actor=admin).moved == 4
    moves(20)
    with django_assert_num_queries(8):
        assert tiers_apply(actor=admin).moved == 40


def test_the_preview_runs_in_fixed_queries(admin, standard_rules, django_assert_num_queries):
    AccountFactory.create_batch(3, arr=D("150000"), tier=LOW)
    with django_assert_num_queries(4):
        preview = tiers_preview()
    with django_assert_num_queries(1):
        assert len(list(preview.accounts[:50])) == 3
    AccountFactory.create_batch(30, arr=D("150000"), tier=LOW)
    with django_assert_num_queries(4):
        tiers_preview()


# Cadence and scorecard follow the tier


def test_a_moved_account_is_recomputed_with_its_new_tiers_cadence_and_scorecard(
    admin, standard_rules, django_capture_on_commit_callbacks
):
    from lifecycle.health.facts_query import AccountScope, facts_for
    from lifecycle.models import AccountHealth, CheckInCadence, Scorecard

    CheckInCadence.objects.update_or_create(tier=HIGH, defaults={"every_days": 7})
    CheckInCadence.objects.update_or_create(tier=LOW, defaults={"every_days": 30})
    strategic = Scorecard.objects.create(name="Strategic", tier=HIGH, status="active", activated_at=timezone.now())
    account = AccountFactory(arr=D("150000"), tier=LOW)
    assert facts_for(day=TODAY, scope=AccountScope.of([account.pk]))[account.pk].cadence_days == 30

    with django_capture_on_commit_callbacks(execute=True):
        tiers_apply(actor=admin)

    assert facts_for(day=TODAY, scope=AccountScope.of([account.pk]))[account.pk].cadence_days == 7
    assert AccountHealth.objects.get(account=account).scorecard == strategic


# Demo data


def test_the_demo_installs_its_default_rules_once_and_keeps_an_admins_own(admin):
    from accounts.demo.tiers import default_tier_rules_install

    assert default_tier_rules_install() == 3
    assert [(rule.tier, rule.min_arr) for rule in TierRule.objects.in_order()] == [
        (HIGH, D("80000")),
        (LOW, D("15000")),
        (TECH, None),
    ]
    assert default_tier_rules_install() == 0
    TierRule.objects.all().delete()
    tier_rule_create(actor=admin, tier=HIGH)
    assert default_tier_rules_install() == 0 and TierRule.objects.count() == 1
