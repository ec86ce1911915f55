"""Red-flag rules, one kind at a time: each fires at its threshold and stays quiet just below it.

Pure evaluation on hand-built facts: no database.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from lifecycle.flags.rules import DEFAULT_PARAMS, Firing, evaluate_rules, validate_params
from lifecycle.health.facts import AccountFacts
from lifecycle.models import AlertRule, RuleKind

TODAY = dt.date(2025, 6, 30)
NOON = dt.time(12, 0)


def at(days_ago: int) -> dt.datetime:
    return dt.datetime.combine(TODAY - dt.timedelta(days=days_ago), NOON, tzinfo=dt.UTC)


def facts(**overrides: Any) -> AccountFacts:
    """A quiet, healthy adoption account; each test changes only what its rule reads."""
    values: dict[str, Any] = {
        "account_id": 7,
        "tier": "high",
        "stage": "success",
        "owner_id": 1,
        "pool_id": None,
        "stage_entered_on": TODAY - dt.timedelta(days=300),
        "contract_start": TODAY - dt.timedelta(days=400),
        "renewal_date": TODAY + dt.timedelta(days=300),
        "last_touchpoint_at": at(3),
        "last_checkin_at": at(3),
        "score": 80.0,
        "band": "green",
        "score_7d_ago": 80.0,
        "band_yesterday": "green",
    }
    values.update(overrides)
    return AccountFacts(**values)


def rule(kind: str, *, pk: int = 1, severity: str = "high", **params: Any) -> AlertRule:
    return AlertRule(pk=pk, name=f"rule {kind}", kind=kind, severity=severity, params=params)


def fire(
    kind: str,
    item: AccountFacts,
    *,
    cadences: dict[str, int] | None = None,
    **params: Any,
) -> Firing | None:
    firings = evaluate_rules([rule(kind, **params)], [item], today=TODAY, cadences=cadences)
    assert len(firings) <= 1
    return firings[0] if firings else None


def test_a_quiet_healthy_account_fires_no_default_rule() -> None:
    rules = [rule(kind, pk=n) for n, kind in enumerate(RuleKind.values, start=1)]
    assert evaluate_rules(rules, [facts()], today=TODAY) == []


def test_a_firing_names_the_rule_account_and_severity() -> None:
    firing = fire(RuleKind.BAND_RED, facts(band="red", score=31.5, band_yesterday="yellow"))
    assert (firing.rule_id, firing.account_id, firing.severity) == (1, 7, "high")
    assert firing.reason == "Health turned red today (score 31.5; was yellow yesterday)."
    assert firing.values == {"score": 31.5, "band": "red", "band_yesterday": "yellow"}


class TestBandRed:
    def test_fires_while_the_band_is_red(self) -> None:
        assert fire(RuleKind.BAND_RED, facts(band="red", band_yesterday="red", score=20.0)).reason == (
            "Health band is red (score 20)."
        )

    def test_quiet_when_yellow(self) -> None:
        assert fire(RuleKind.BAND_RED, facts(band="yellow", score=40.0)) is None


class TestScoreDrop:
    def test_fires_at_the_configured_drop(self) -> None:
        firing = fire(RuleKind.SCORE_DROP, facts(score_7d_ago=72.0, score=57.0), points=15)
        assert firing.reason == "Health score fell 15 points in 7 days (from 72 to 57)."
        assert firing.values["drop"] == 15

    def test_quiet_just_below_it(self) -> None:
        assert fire(RuleKind.SCORE_DROP, facts(score_7d_ago=72.0, score=57.1), points=15) is None

    def test_quiet_without_a_score_a_week_ago(self) -> None:
        assert fire(RuleKind.SCORE_DROP, facts(score_7d_ago=None, score=10.0)) is None


class TestNoTouchpoint:
    def test_fires_at_the_limit(self) -> None:
        firing = fire(RuleKind.NO_TOUCHPOINT, facts(last_touchpoint_at=at(30)), days=30)
        assert firing.reason == "No touchpoint for 30 days (last on 31 May 2025; limit 30)."

    def test_quiet_a_day_before(self) -> None:
        assert fire(RuleKind.NO_TOUCHPOINT, facts(last_touchpoint_at=at(29)), days=30) is None

    def test_an_account_without_a_touchpoint_counts_from_entering_its_stage_not_its_contract_start(self) -> None:
        # An imported customer of four years, in Baton and in success for 30 days: 30 days, not four years.
        never = facts(
            last_touchpoint_at=None,
            contract_start=TODAY - dt.timedelta(days=4 * 365),
            stage_entered_on=TODAY - dt.timedelta(days=30),
        )
        firing = fire(RuleKind.NO_TOUCHPOINT, never, days=30)
        assert firing.reason == "No touchpoint since the account entered Success on 31 May 2025: 30 days (limit 30)."
        assert firing.values == {"days_since": 30, "since": "2025-05-31", "counted_from": "stage start", "limit": 30}
        just_entered = facts(last_touchpoint_at=None, stage_entered_on=TODAY - dt.timedelta(days=29))
        assert fire(RuleKind.NO_TOUCHPOINT, just_entered, days=30) is None

    def test_without_a_touchpoint_on_record_a_stage_older_than_the_look_back_counts_a_year(self) -> None:
        # The facts look back a year for touchpoints: older silence is not claimed.
        long_ago = facts(last_touchpoint_at=None, stage_entered_on=TODAY - dt.timedelta(days=1000))
        firing = fire(RuleKind.NO_TOUCHPOINT, long_ago, days=30)
        assert firing.reason == "No touchpoint in the last 365 days, as far back as Baton looks (limit 30)."
        assert firing.values["days_since"] == 365

    def test_an_imported_account_counts_from_the_day_it_came_into_baton(self) -> None:
        # Imported today into a stage it entered three years ago: its silence before the import is not on record.
        imported = facts(
            last_touchpoint_at=None,
            stage_entered_on=TODAY - dt.timedelta(days=3 * 365),
            in_baton_since=TODAY - dt.timedelta(days=29),
        )
        assert fire(RuleKind.NO_TOUCHPOINT, imported, days=30) is None
        imported.in_baton_since = TODAY - dt.timedelta(days=30)
        firing = fire(RuleKind.NO_TOUCHPOINT, imported, days=30)
        assert firing.reason == "No touchpoint since the account came into Baton on 31 May 2025: 30 days (limit 30)."
        assert firing.values["counted_from"] == "in Baton since"

    def test_a_stage_change_does_not_excuse_an_old_last_touchpoint(self) -> None:
        moved_yesterday = facts(last_touchpoint_at=at(45), stage_entered_on=TODAY - dt.timedelta(days=1))
        assert fire(RuleKind.NO_TOUCHPOINT, moved_yesterday, days=30).values["days_since"] == 45


class TestMissedCheckin:
    def test_fires_the_day_after_the_tiers_cadence_ran_out(self) -> None:
        item = facts(stage="adoption", tier="tech", last_checkin_at=at(31))
        firing = fire(RuleKind.MISSED_CHECKIN, item, cadences={"tech": 30, "high": 14})
        assert firing.reason == (
            "Check-in overdue: 31 days without one (last check-in on 30 May 2025); cadence is every 30 days."
        )

    def test_quiet_on_the_last_day_of_the_cadence(self) -> None:
        item = facts(stage="adoption", tier="tech", last_checkin_at=at(30))
        assert fire(RuleKind.MISSED_CHECKIN, item, cadences={"tech": 30}) is None

    def test_grace_days_extend_the_cadence(self) -> None:
        item = facts(stage="adoption", tier="high", last_checkin_at=at(17))
        assert fire(RuleKind.MISSED_CHECKIN, item, cadences={"high": 14}, grace_days=3) is None
        item = facts(stage="adoption", tier="high", last_checkin_at=at(18))
        assert fire(RuleKind.MISSED_CHECKIN, item, cadences={"high": 14}, grace_days=3) is not None

    def test_without_any_check_in_the_clock_starts_when_adoption_began(self) -> None:
        item = facts(
            stage="adoption",
            last_checkin_at=None,
            stage_entered_on=TODAY - dt.timedelta(days=15),
        )
        assert (
            "no check-in since adoption started on 15 Jun 2025"
            in fire(RuleKind.MISSED_CHECKIN, item, cadences={"high": 14}).reason
        )

    def test_without_any_check_in_an_imported_account_counts_from_the_day_it_came_into_baton(self) -> None:
        item = facts(
            stage="adoption",
            last_checkin_at=None,
            stage_entered_on=TODAY - dt.timedelta(days=400),
            in_baton_since=TODAY - dt.timedelta(days=14),
        )
        assert fire(RuleKind.MISSED_CHECKIN, item, cadences={"high": 14}) is None
        item.in_baton_since = TODAY - dt.timedelta(days=15)
        assert (
            "no check-in since the account came into Baton on 15 Jun 2025"
            in fire(RuleKind.MISSED_CHECKIN, item, cadences={"high": 14}).reason
        )

    def test_only_adoption_accounts_are_held_to_the_cadence(self) -> None:
        item = facts(stage="success", last_checkin_at=at(100))
        assert fire(RuleKind.MISSED_CHECKIN, item, cadences={"high": 14}) is None


class TestOnboardingNotEngaged:
    PARAMS = {"checkpoints": [30, 60, 90], "min_touchpoints": 2, "min_active_users": 3}

    def onboarding(self, day: int, **overrides: Any) -> AccountFacts:
        return facts(
            stage=overrides.pop("stage", "onboarding"),
            contract_start=TODAY - dt.timedelta(days=day),
            touchpoints_since_onboarding=overrides.pop("touchpoints", 2),
            active_users_7d=overrides.pop("active", 3.0),
            **overrides,
        )

    def test_fires_on_day_30_with_too_few_touchpoints_and_says_which_day(self) -> None:
        firing = fire(
            RuleKind.ONBOARDING_NOT_ENGAGED,
            self.onboarding(30, touchpoints=1),
            **self.PARAMS,
        )
        assert firing.reason == "Not engaged by day 30 of onboarding (now day 30): 1 touchpoint (needs 2)."
        assert firing.values["checkpoint"] == 30

    def test_quiet_on_day_29(self) -> None:
        assert (
            fire(
                RuleKind.ONBOARDING_NOT_ENGAGED,
                self.onboarding(29, touchpoints=0),
                **self.PARAMS,
            )
            is None
        )

    def test_quiet_when_engaged_at_exactly_the_minimums(self) -> None:
        assert fire(RuleKind.ONBOARDING_NOT_ENGAGED, self.onboarding(45), **self.PARAMS) is None

    def test_low_usage_names_the_latest_checkpoint_passed(self) -> None:
        firing = fire(
            RuleKind.ONBOARDING_NOT_ENGAGED,
            self.onboarding(61, active=2.9),
            **self.PARAMS,
        )
        assert firing.reason == ("Not engaged by day 60 of onboarding (now day 61): 2.9 active users a day (needs 3).")

    def test_no_usage_data_is_not_engagement(self) -> None:
        firing = fire(
            RuleKind.ONBOARDING_NOT_ENGAGED,
            self.onboarding(90, active=None),
            **self.PARAMS,
        )
        assert "day 90" in firing.reason and "no usage recorded" in firing.reason

    def test_accounts_past_onboarding_are_not_judged(self) -> None:
        item = self.onboarding(120, touchpoints=0, stage="adoption")
        assert fire(RuleKind.ONBOARDING_NOT_ENGAGED, item, **self.PARAMS) is None

    def test_counts_from_entering_onboarding_not_from_a_contract_start_years_before(self) -> None:
        # An imported long-standing customer set to onboarding 10 days ago is on day 10, not day 1,460.
        imported = facts(
            stage="onboarding",
            contract_start=TODAY - dt.timedelta(days=4 * 365),
            stage_entered_on=TODAY - dt.timedelta(days=10),
            touchpoints_since_onboarding=0,
            active_users_7d=None,
        )
        assert fire(RuleKind.ONBOARDING_NOT_ENGAGED, imported, **self.PARAMS) is None
        thirty_days_in = facts(
            stage="onboarding",
            contract_start=TODAY - dt.timedelta(days=4 * 365),
            stage_entered_on=TODAY - dt.timedelta(days=30),
            touchpoints_since_onboarding=0,
            active_users_7d=None,
        )
        firing = fire(RuleKind.ONBOARDING_NOT_ENGAGED, thirty_days_in, **self.PARAMS)
        assert firing.reason.startswith("Not engaged by day 30 of onboarding (now day 30)")
        assert firing.values["onboarding_started_on"] == "2025-05-31"

    def test_a_contract_starting_after_the_account_entered_onboarding_starts_the_clock(self) -> None:
        early = facts(
            stage="onboarding",
            stage_entered_on=TODAY - dt.timedelta(days=40),
            contract_start=TODAY - dt.timedelta(days=20),
            touchpoints_since_onboarding=0,
        )
        assert fire(RuleKind.ONBOARDING_NOT_ENGAGED, early, **self.PARAMS) is None


class TestUsageDrop:
    def test_fires_at_exactly_the_percentage(self) -> None:
        firing = fire(
            RuleKind.USAGE_DROP,
            facts(active_users_7d=7.0, active_users_prev28=10.0),
            percent=30,
        )
        assert firing.reason == (
            "Active users down 30%: 7 a day over the last 7 days vs 10 over the previous 4 weeks (limit 30%)."
        )

    def test_quiet_just_above_it(self) -> None:
        assert (
            fire(
                RuleKind.USAGE_DROP,
                facts(active_users_7d=7.01, active_users_prev28=10.0),
                percent=30,
            )
            is None
        )

    def test_needs_both_periods(self) -> None:
        assert (
            fire(
                RuleKind.USAGE_DROP,
                facts(active_users_7d=0.0, active_users_prev28=None),
            )
            is None
        )
        assert (
            fire(
                RuleKind.USAGE_DROP,
                facts(active_users_7d=None, active_users_prev28=10.0),
            )
            is None
        )
        assert fire(RuleKind.USAGE_DROP, facts(active_users_7d=0.0, active_users_prev28=0.0)) is None


class TestNpsDetractor:
    def test_fires_on_a_six_answered_exactly_days_ago(self) -> None:
        item = facts(last_nps=6, last_nps_at=at(30), last_nps_comment="Too slow")
        assert fire(RuleKind.NPS_DETRACTOR, item, days=30).reason == (
            'NPS detractor: scored 6/10 on 31 May 2025. "Too slow"'
        )

    def test_quiet_on_a_seven(self) -> None:
        assert fire(RuleKind.NPS_DETRACTOR, facts(last_nps=7, last_nps_at=at(1)), days=30) is None

    def test_quiet_when_the_answer_is_older_than_the_window(self) -> None:
        assert fire(RuleKind.NPS_DETRACTOR, facts(last_nps=2, last_nps_at=at(31)), days=30) is None


class TestChampionDeparted:
    def test_fires_for_a_departure_within_the_window_even_with_another_champion(
        self,
    ) -> None:
        item = facts(champion_departed_on=TODAY - dt.timedelta(days=30), champion_known=True)
        assert fire(RuleKind.CHAMPION_DEPARTED, item, days=30).reason == (
            "Champion departed on 31 May 2025 (30 days ago); a champion is still known."
        )

    def test_an_older_departure_is_quiet_once_a_new_champion_is_known(self) -> None:
        item = facts(champion_departed_on=TODAY - dt.timedelta(days=31), champion_known=True)
        assert fire(RuleKind.CHAMPION_DEPARTED, item, days=30) is None

    def test_an_older_departure_keeps_firing_while_no_champion_is_known(self) -> None:
        item = facts(champion_departed_on=TODAY - dt.timedelta(days=200), champion_known=False)
        assert "no champion is known now" in fire(RuleKind.CHAMPION_DEPARTED, item, days=30).reason

    def test_quiet_when_no_champion_ever_left(self) -> None:
        assert fire(RuleKind.CHAMPION_DEPARTED, facts(champion_known=False)) is None


class TestTicketSpike:
    def test_fires_at_factor_times_the_weekly_baseline(self) -> None:
        item = facts(tickets_opened_7d=10, tickets_opened_prev28=20)
        firing = fire(RuleKind.TICKET_SPIKE, item, factor=2, min_tickets=3)
        assert firing.reason == (
            "Support ticket spike: 10 opened in 7 days vs 5 a week over the previous 4 weeks (fires at 10)."
        )

    def test_quiet_just_below_it(self) -> None:
        item = facts(tickets_opened_7d=9, tickets_opened_prev28=20)
        assert fire(RuleKind.TICKET_SPIKE, item, factor=2, min_tickets=3) is None

    def test_a_quiet_history_still_needs_the_minimum_number_of_tickets(self) -> None:
        assert (
            fire(
                RuleKind.TICKET_SPIKE,
                facts(tickets_opened_7d=3),
                factor=2,
                min_tickets=3,
            )
            is not None
        )
        assert (
            fire(
                RuleKind.TICKET_SPIKE,
                facts(tickets_opened_7d=2),
                factor=2,
                min_tickets=3,
            )
            is None
        )


class TestRenewalNotGreen:
    def test_fires_at_the_window_edge_when_yellow(self) -> None:
        item = facts(renewal_date=TODAY + dt.timedelta(days=90), band="yellow")
        assert fire(RuleKind.RENEWAL_NOT_GREEN, item, days=90).reason == (
            "Renewal in 90 days (28 Sep 2025) and health is yellow."
        )

    def test_quiet_a_day_further_out(self) -> None:
        item = facts(renewal_date=TODAY + dt.timedelta(days=91), band="red")
        assert fire(RuleKind.RENEWAL_NOT_GREEN, item, days=90) is None

    def test_quiet_when_green_and_when_the_renewal_has_passed(self) -> None:
        assert fire(RuleKind.RENEWAL_NOT_GREEN, facts(renewal_date=TODAY, band="green")) is None
        assert (
            fire(
                RuleKind.RENEWAL_NOT_GREEN,
                facts(renewal_date=TODAY - dt.timedelta(days=1), band="red"),
            )
            is None
        )

    def test_an_unscored_account_is_not_green(self) -> None:
        item = facts(renewal_date=TODAY + dt.timedelta(days=10), band="", score=None)
        assert "there is no health score yet" in fire(RuleKind.RENEWAL_NOT_GREEN, item).reason

    def test_a_monthly_contract_is_watched_for_a_quarter_of_its_term_not_every_night(self) -> None:
        def monthly(days_left: int) -> AccountFacts:
            # A 30-day term that ends in `days_left` days: watched from 7 days before (floor of 30 x 0.25).
            start = TODAY - dt.timedelta(days=30 - days_left)
            return facts(contract_start=start, renewal_date=TODAY + dt.timedelta(days=days_left), band="yellow")

        assert fire(RuleKind.RENEWAL_NOT_GREEN, monthly(8)) is None
        firing = fire(RuleKind.RENEWAL_NOT_GREEN, monthly(7))
        assert firing is not None and firing.values["window_days"] == 7
        assert firing.reason.endswith("Watched from 7 days before, a 0.25 share of the contract term.")

    def test_an_annual_contract_keeps_the_full_window(self) -> None:
        item = facts(
            renewal_date=TODAY + dt.timedelta(days=90), contract_start=TODAY - dt.timedelta(days=275), band="red"
        )
        firing = fire(RuleKind.RENEWAL_NOT_GREEN, item)
        assert firing is not None and firing.values["window_days"] == 90
        assert "Watched from" not in firing.reason

    @pytest.mark.parametrize("share", [0, -0.5, 1.5, "a quarter", True])
    def test_the_term_share_must_be_a_share(self, share) -> None:
        with pytest.raises(ValidationError, match="term_share"):
            validate_params(RuleKind.RENEWAL_NOT_GREEN, {"term_share": share})


class TestSpendRising:
    def test_fires_at_exactly_the_percentage(self) -> None:
        item = facts(spend_recent_90d=Decimal("12500"), spend_previous_90d=Decimal("10000"))
        firing = fire(RuleKind.SPEND_RISING, item, percent=25)
        assert firing.reason.startswith("Spend up 25% over the last 90 days (12,500.00 vs 10,000.00")
        assert "a customer since 26 May 2024" in firing.reason

    def test_quiet_just_below_it(self) -> None:
        item = facts(spend_recent_90d=Decimal("12499.99"), spend_previous_90d=Decimal("10000"))
        assert fire(RuleKind.SPEND_RISING, item, percent=25) is None

    def test_needs_previous_spend(self) -> None:
        item = facts(spend_recent_90d=Decimal("5000"), spend_previous_90d=Decimal("0"))
        assert fire(RuleKind.SPEND_RISING, item, percent=25) is None

    def test_a_young_account_is_not_judged_until_it_has_a_full_previous_period(self) -> None:
        # A customer of 120 days: its previous 90 days hold one month's invoice against three now.
        young = {"spend_recent_90d": Decimal("3000"), "spend_previous_90d": Decimal("1000")}
        for days in (120, 179):
            start = TODAY - dt.timedelta(days=days)
            assert fire(RuleKind.SPEND_RISING, facts(contract_start=start, customer_since=start, **young)) is None
        start = TODAY - dt.timedelta(days=180)
        firing = fire(RuleKind.SPEND_RISING, facts(contract_start=start, customer_since=start, **young))
        assert firing.values["customer_since"] == start.isoformat()

    def test_its_age_is_from_its_first_contract_not_the_current_term(self) -> None:
        # Renewed 30 days ago (the current term's start), a customer for two years: judged.
        renewed = facts(
            contract_start=TODAY - dt.timedelta(days=30),
            customer_since=TODAY - dt.timedelta(days=730),
            spend_recent_90d=Decimal("15000"),
            spend_previous_90d=Decimal("10000"),
        )
        assert fire(RuleKind.SPEND_RISING, renewed) is not None

    def test_an_account_of_unknown_age_is_not_judged(self) -> None:
        unknown = facts(
            contract_start=None,
            customer_since=None,
            spend_recent_90d=Decimal("15000"),
            spend_previous_90d=Decimal("10000"),
        )
        assert fire(RuleKind.SPEND_RISING, unknown) is None


class TestCountsInReasons:
    """A reason says "1 day" and "2 days", and "0 days" as English does."""

    @pytest.mark.parametrize(
        "days, said", [(0, "Renewal in 0 days"), (1, "Renewal in 1 day"), (2, "Renewal in 2 days")]
    )
    def test_a_renewal(self, days: int, said: str) -> None:
        item = facts(renewal_date=TODAY + dt.timedelta(days=days), band="yellow")
        assert fire(RuleKind.RENEWAL_NOT_GREEN, item).reason.startswith(f"{said} (")

    def test_a_renewal_watched_from_one_day_before(self) -> None:
        # A 4-day term watched for a quarter of it: from 1 day before.
        item = facts(contract_start=TODAY - dt.timedelta(days=3), renewal_date=TODAY + dt.timedelta(days=1), band="red")
        assert fire(RuleKind.RENEWAL_NOT_GREEN, item).reason == (
            "Renewal in 1 day (01 Jul 2025) and health is red. Watched from 1 day before, a 0.25 share of the "
            "contract term."
        )

    @pytest.mark.parametrize("days, said", [(1, "1 day"), (2, "2 days")])
    def test_no_touchpoint(self, days: int, said: str) -> None:
        firing = fire(RuleKind.NO_TOUCHPOINT, facts(last_touchpoint_at=at(days)), days=1)
        assert firing.reason.startswith(f"No touchpoint for {said} (")
        entered = facts(last_touchpoint_at=None, stage_entered_on=TODAY - dt.timedelta(days=days))
        assert f": {said} (limit 1)." in fire(RuleKind.NO_TOUCHPOINT, entered, days=1).reason

    @pytest.mark.parametrize("days, said", [(1, "1 day"), (2, "2 days")])
    def test_a_champion_departed(self, days: int, said: str) -> None:
        item = facts(champion_departed_on=TODAY - dt.timedelta(days=days), champion_known=False)
        assert f"({said} ago);" in fire(RuleKind.CHAMPION_DEPARTED, item).reason

    def test_a_check_in_cadence_of_one_day(self) -> None:
        item = facts(stage="adoption", tier="tech", last_checkin_at=at(2))
        assert fire(RuleKind.MISSED_CHECKIN, item, cadences={"tech": 1}).reason == (
            "Check-in overdue: 2 days without one (last check-in on 28 Jun 2025); cadence is every 1 day."
        )

    @pytest.mark.parametrize("drop, said", [(1.0, "1 point"), (2.0, "2 points")])
    def test_a_score_drop(self, drop: float, said: str) -> None:
        firing = fire(RuleKind.SCORE_DROP, facts(score_7d_ago=60.0, score=60.0 - drop), points=1)
        assert firing.reason.startswith(f"Health score fell {said} in 7 days")

    def test_onboarding_touchpoints_and_active_users(self) -> None:
        params = {"checkpoints": [30], "min_touchpoints": 3, "min_active_users": 1}
        item = facts(stage="onboarding", contract_start=TODAY - dt.timedelta(days=30), touchpoints_since_onboarding=2)
        assert fire(RuleKind.ONBOARDING_NOT_ENGAGED, item, **params).reason.endswith(
            ": 2 touchpoints (needs 3); no usage recorded (needs 1 active user a day)."
        )
        item = facts(
            stage="onboarding",
            contract_start=TODAY - dt.timedelta(days=30),
            touchpoints_since_onboarding=0,
            active_users_7d=1.0,
        )
        assert fire(RuleKind.ONBOARDING_NOT_ENGAGED, item, **{**params, "min_active_users": 2}).reason.endswith(
            ": 0 touchpoints (needs 3); 1 active user a day (needs 2)."
        )


class TestScope:
    RED = {"band": "red", "score": 20.0}

    def test_a_rule_scoped_to_a_tier_ignores_other_tiers(self) -> None:
        scoped = rule(RuleKind.BAND_RED)
        scoped.tier = "tech"
        assert evaluate_rules([scoped], [facts(tier="high", **self.RED)], today=TODAY) == []
        assert len(evaluate_rules([scoped], [facts(tier="tech", **self.RED)], today=TODAY)) == 1

    def test_a_rule_scoped_to_a_stage_ignores_other_stages(self) -> None:
        scoped = rule(RuleKind.BAND_RED)
        scoped.stage = "adoption"
        assert evaluate_rules([scoped], [facts(stage="success", **self.RED)], today=TODAY) == []
        assert len(evaluate_rules([scoped], [facts(stage="adoption", **self.RED)], today=TODAY)) == 1

    def test_churned_accounts_and_inactive_rules_fire_nothing(self) -> None:
        assert (
            evaluate_rules(
                [rule(RuleKind.BAND_RED)],
                [facts(stage="churned", **self.RED)],
                today=TODAY,
            )
            == []
        )
        inactive = rule(RuleKind.BAND_RED)
        inactive.active = False
        assert evaluate_rules([inactive], [facts(**self.RED)], today=TODAY) == []

    def test_params_not_given_fall_back_to_the_defaults(self) -> None:
        assert DEFAULT_PARAMS[RuleKind.NO_TOUCHPOINT] == {"days": 30}
        assert fire(RuleKind.NO_TOUCHPOINT, facts(last_touchpoint_at=at(30))) is not None
        assert fire(RuleKind.NO_TOUCHPOINT, facts(last_touchpoint_at=at(29))) is None


class TestValidateParams:
    def test_defaults_are_valid_for_every_kind(self) -> None:
        for kind in RuleKind.values:
            assert validate_params(kind, {}) == DEFAULT_PARAMS[kind]

    @pytest.mark.parametrize(
        ("kind", "params", "message"),
        [
            ("no_touchpoint", {"dayz": 30}, r"Unknown parameter\(s\) dayz"),
            ("no_touchpoint", {"days": "30"}, "'days' must be a number"),
            ("no_touchpoint", {"days": 0}, "'days' must be at least 1"),
            ("usage_drop", {"percent": 120}, "cannot exceed 100"),
            ("ticket_spike", {"days": 14}, "only a 7-day window"),
            ("onboarding_not_engaged", {"checkpoints": []}, "non-empty list"),
            (
                "onboarding_not_engaged",
                {"checkpoints": [30, "sixty"]},
                "must be a number",
            ),
        ],
    )
    def test_nonsense_is_refused_with_a_clear_message(self, kind: str, params: dict, message: str) -> None:
        with pytest.raises(ValidationError, match=message):
            validate_params(kind, params)
