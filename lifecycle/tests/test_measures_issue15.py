"""Usage level, survey sentiment, support load and tenure: their raw values at the edges, and when they are missing.

Hand-built facts for the scoring math; a few rows through `facts_for` for what the facts read.
The PostgreSQL recompute and the backtest's pairs are held to the same values in
test_measures_issue15_postgres.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AccountTerms, TermsSource
from accounts.tests.factories import AccountFactory
from lifecycle.health.defaults import DEFAULT_MEASURES, SUGGESTED_MEASURES
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import AccountScope, facts_for
from lifecycle.health.scorecards.forms import MEASURE_UNITS, measure_rows_initial
from lifecycle.health.scoring import MISSING, OK, STALE, MeasureConfig, ScorecardConfig, raw_measure, score_account
from lifecycle.models import MeasureKind, SupportTicket, SurveyResponse, UsageDaily

TODAY = dt.date(2026, 11, 23)
NEW_KINDS = (MeasureKind.USAGE_LEVEL, MeasureKind.SURVEY_SENTIMENT, MeasureKind.SUPPORT_LOAD, MeasureKind.TENURE)


def facts(**overrides) -> AccountFacts:
    base = dict(
        account_id=1,
        tier="low",
        stage="success",
        owner_id=1,
        pool_id=None,
        stage_entered_on=TODAY - dt.timedelta(days=200),
        contract_start=TODAY - dt.timedelta(days=300),
        renewal_date=TODAY + dt.timedelta(days=65),
    )
    base.update(overrides)
    return AccountFacts(**base)


def raw(kind: str, validity: int = 90, **overrides) -> tuple[float | None, str]:
    return raw_measure(kind, facts(**overrides), day=TODAY, validity_days=validity)


def at(days_back: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days_back), dt.time(10)))


FEED = {"usage_feed_day": TODAY}  # the usage feed delivered today, for some account


class TestUsageLevel:
    def test_mean_daily_active_users_per_owned_licence(self):
        # 280 user-days over 28 days is 10 a day, on 40 licences: 25%.
        usage = dict(active_user_days_28d=280, key_events_28d=9999, usage_licences_owned=40)
        assert raw("usage_level", **FEED, **usage) == (25.0, OK)

    def test_every_licence_used_every_day_is_100_and_more_users_than_licences_goes_above(self):
        assert raw("usage_level", **FEED, active_user_days_28d=28 * 40, usage_licences_owned=40) == (100.0, OK)
        assert raw("usage_level", **FEED, active_user_days_28d=28 * 60, usage_licences_owned=40) == (150.0, OK)

    def test_a_dormant_account_with_licences_scores_zero_not_missing(self):
        usage = dict(active_user_days_28d=0, key_events_28d=0, usage_licences_owned=25)
        assert raw("usage_level", **FEED, **usage) == (0.0, OK)

    def test_key_events_stand_in_where_no_active_users_are_reported(self):
        # 1,400 events over 28 days is 50 a day, on 20 licences: 2.5 per licence, 250 per 100 licences.
        usage = dict(active_user_days_28d=0, key_events_28d=1400, usage_licences_owned=20)
        assert raw("usage_level", **FEED, **usage) == (250.0, OK)

    def test_without_licence_information_it_is_missing(self):
        assert raw("usage_level", **FEED, active_user_days_28d=280, usage_licences_owned=None) == (None, MISSING)
        assert raw("usage_level", **FEED, active_user_days_28d=280, usage_licences_owned=0) == (None, MISSING)

    def test_the_seats_bought_stand_in_where_usage_rows_carry_no_licences(self):
        # 280 user-days on 20 seats of the entitlements in force: 50%.
        usage = dict(active_user_days_28d=280, usage_licences_owned=0, entitled_seats=20)
        assert raw("usage_level", **FEED, **usage) == (50.0, OK)

    def test_rounds_half_up_to_one_decimal(self):
        # 1 user-day over 28 days on 3 licences: 1.19047...%
        assert raw("usage_level", **FEED, active_user_days_28d=1, usage_licences_owned=3) == (1.2, OK)

    def test_without_a_usage_feed_it_is_missing_and_with_a_silent_feed_stale(self):
        usage = dict(active_user_days_28d=56, usage_licences_owned=4)
        assert raw("usage_level", validity=28, **usage) == (None, MISSING)
        quiet = {"usage_feed_day": TODAY - dt.timedelta(days=28)}
        assert raw("usage_level", validity=28, **quiet, **usage) == (None, STALE)
        lagging = {"usage_feed_day": TODAY - dt.timedelta(days=27)}
        assert raw("usage_level", validity=28, **lagging, **usage) == (50.0, OK)


class TestUsageTrend:
    def test_days_without_a_row_count_as_no_use(self):
        # A feed that sends only active days: 4 active days of 10 users in the last week (40 user-days, 5.7 a
        # day) against 20 active days of 10 users in the four weeks before (200, 7.1 a day): −20 %.
        usage = dict(usage_licences_owned=10, active_user_days_7d=40, active_user_days_prev28=200)
        assert raw("usage_trend", validity=7, **FEED, **usage) == (-20.0, OK)

    def test_key_events_stand_in_where_no_active_users_are_reported(self):
        usage = dict(usage_licences_owned=0, key_events_7d=70, key_events_prev28=140)  # 10 a day against 5
        assert raw("usage_trend", validity=7, **FEED, **usage) == (100.0, OK)

    def test_without_use_before_the_last_week_there_is_no_baseline(self):
        usage = dict(usage_licences_owned=10, active_user_days_7d=40)
        assert raw("usage_trend", validity=7, **FEED, **usage) == (None, MISSING)

    def test_an_account_without_usage_in_a_year_is_missing_and_a_silent_feed_stale(self):
        assert raw("usage_trend", validity=7, **FEED, usage_licences_owned=None) == (None, MISSING)
        usage = dict(usage_licences_owned=10, active_user_days_7d=40, active_user_days_prev28=200)
        quiet = {"usage_feed_day": TODAY - dt.timedelta(days=7)}
        assert raw("usage_trend", validity=7, **quiet, **usage) == (None, STALE)


class TestAdoptionBreadth:
    PRODUCT_FEED = {"product_feed_day": TODAY - dt.timedelta(days=1)}

    def test_share_of_the_products_held_that_were_used(self):
        assert raw("adoption_breadth", validity=28, **self.PRODUCT_FEED, products_entitled=4, products_used=3) == (
            75.0,
            OK,
        )
        assert raw("adoption_breadth", validity=28, **self.PRODUCT_FEED, products_entitled=3, products_used=0) == (
            0.0,
            OK,
        )

    def test_without_products_held_or_without_a_product_feed_it_is_missing(self):
        assert raw("adoption_breadth", validity=28, **self.PRODUCT_FEED, products_entitled=0) == (None, MISSING)
        assert raw("adoption_breadth", validity=28, products_entitled=3, products_used=3) == (None, MISSING)

    def test_a_product_feed_silent_for_the_window_is_stale(self):
        quiet = {"product_feed_day": TODAY - dt.timedelta(days=28)}
        assert raw("adoption_breadth", validity=28, **quiet, products_entitled=3, products_used=3) == (None, STALE)


class TestSurveySentiment:
    def test_nps_nine_and_ten_differ(self):
        assert raw("survey_sentiment", last_nps=9, last_nps_at=at(3)) == (90.0, OK)
        assert raw("survey_sentiment", last_nps=10, last_nps_at=at(3)) == (100.0, OK)
        assert raw("survey_sentiment", last_nps=0, last_nps_at=at(3)) == (0.0, OK)

    def test_csat_spans_its_one_to_five_scale(self):
        assert [raw("survey_sentiment", last_csat=s, last_csat_at=at(3))[0] for s in (1, 2, 3, 4, 5)] == [
            0.0,
            25.0,
            50.0,
            75.0,
            100.0,
        ]

    def test_both_in_the_window_are_averaged(self):
        # NPS 7 is 70, CSAT 4 is 75: 72.5.
        assert raw("survey_sentiment", last_nps=7, last_nps_at=at(3), last_csat=4, last_csat_at=at(40)) == (72.5, OK)

    def test_an_answer_as_old_as_the_window_no_longer_counts(self):
        both = dict(last_nps=2, last_nps_at=at(90), last_csat=5, last_csat_at=at(89))
        assert raw("survey_sentiment", validity=90, **both) == (100.0, OK)  # the NPS is stale, the CSAT not yet
        assert raw("survey_sentiment", validity=89, **both) == (None, STALE)

    def test_without_any_answer_it_is_missing(self):
        assert raw("survey_sentiment") == (None, MISSING)


class TestSupportLoad:
    def test_the_weighted_tickets_of_the_window(self):
        assert raw("support_load", tickets_known=True, ticket_weight_90d=11) == (11.0, OK)

    def test_no_ticket_in_the_window_is_zero_for_an_account_that_uses_support(self):
        assert raw("support_load", tickets_known=True) == (0.0, OK)

    def test_an_account_without_a_ticket_in_a_year_has_no_support_record(self):
        assert raw("support_load", tickets_known=False) == (None, MISSING)
        assert raw("support_burden", tickets_known=False) == (None, MISSING)


class TestTenure:
    def test_days_since_the_first_contract_started(self):
        assert raw("tenure", customer_since=TODAY - dt.timedelta(days=400)) == (400.0, OK)
        assert raw("tenure", customer_since=TODAY) == (0.0, OK)

    def test_a_contract_starting_later_counts_as_a_new_customer(self):
        assert raw("tenure", customer_since=TODAY + dt.timedelta(days=10)) == (0.0, OK)

    def test_without_a_contract_start_it_is_missing(self):
        assert raw("tenure", customer_since=None) == (None, MISSING)


def test_a_missing_new_measure_follows_its_policy_like_any_other():
    card = ScorecardConfig(
        id=None,
        name="New measures",
        tier="",
        stage="",
        green_min=70,
        yellow_min=40,
        measures=(
            MeasureConfig(kind="tenure", weight=1, zero_at=0, full_at=365, validity_days=3650, missing_points=50.0),
            MeasureConfig(kind="usage_level", weight=1, zero_at=0, full_at=40, validity_days=28),
            MeasureConfig(kind="support_load", weight=2, zero_at=30, full_at=0, validity_days=90),
        ),
    )
    result = score_account(
        card,
        facts(customer_since=None, usage_licences_owned=None, tickets_known=True, ticket_weight_90d=6),
        day=TODAY,
    )
    # Tenure counts as 50, usage level drops out, support load 6 of 30 scores 80: (50 + 2 × 80) / 3 = 70.
    assert result.score == 70.0
    assert result.measures["usage_level"] == {"raw": None, "score": None, "weight": 1, "status": MISSING}


def test_the_editor_names_each_unit_and_suggests_starting_values_without_changing_the_shipped_scorecard():
    assert all(MEASURE_UNITS[kind] for kind in NEW_KINDS)
    assert not set(NEW_KINDS) & set(DEFAULT_MEASURES)
    rows = {row["kind"]: row for row in measure_rows_initial(None, DEFAULT_MEASURES)}
    for kind in NEW_KINDS:
        weight, zero_at, full_at, validity = SUGGESTED_MEASURES[kind]
        assert (rows[kind]["include"], rows[kind]["zero_at"], rows[kind]["full_at"]) == (False, zero_at, full_at)


@pytest.mark.django_db
class TestFactsRead:
    @pytest.fixture(autouse=True)
    def clock(self):
        with time_machine.travel(dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC), tick=False):
            yield

    def read(self, account) -> AccountFacts:
        return facts_for(day=TODAY, scope=AccountScope.of([account.pk]))[account.pk]

    def usage(self, account, *days_back: int, users=0, events=0, owned=10) -> None:
        UsageDaily.objects.bulk_create(
            UsageDaily(
                account=account,
                day=TODAY - dt.timedelta(days=back),
                active_users=users,
                key_events=events,
                licences_owned=owned,
            )
            for back in days_back
        )

    def test_usage_of_the_last_28_days_and_the_licences_of_the_latest_row(self):
        account = AccountFactory()
        self.usage(account, 0, 27, users=4, events=7, owned=12)
        self.usage(account, 28, users=100, events=100, owned=50)  # a day before the window
        item = self.read(account)
        assert (item.active_user_days_28d, item.key_events_28d, item.usage_licences_owned) == (8, 14, 12)

    def test_an_account_silent_for_weeks_keeps_the_licences_it_bought(self):
        account = AccountFactory()
        self.usage(AccountFactory(), 0, users=1)  # the feed itself delivered today
        self.usage(account, 60, 200, users=9, owned=30)
        self.usage(account, 366, owned=99)  # beyond the year it looks back
        item = self.read(account)
        assert (item.active_user_days_28d, item.usage_licences_owned) == (0, 30)
        assert raw_measure("usage_level", item, day=TODAY, validity_days=28) == (0.0, OK)
        never = AccountFactory()
        self.usage(never, 366, owned=99)
        assert self.read(never).usage_licences_owned is None

    def test_support_load_counts_closed_tickets_opened_in_the_last_90_days(self):
        account = AccountFactory()
        for n, (severity, days_back, closed) in enumerate(
            [("urgent", 1, None), ("high", 89, 80), ("low", 90, 85), ("medium", 91, None), ("high", 200, 150)]
        ):
            SupportTicket.objects.create(
                account=account,
                external_id=f"T-{n}",
                severity=severity,
                opened_at=at(days_back),
                closed_at=at(closed) if closed else None,
            )
        item = self.read(account)
        # urgent 4 + high 3 (closed); the low one opened 90 days back, before the window's first midnight.
        assert item.ticket_weight_90d == 7
        assert item.open_ticket_weight == 4 + 2  # the open ones, as before: urgent and the old medium
        assert item.last_ticket_at == at(1)

    def test_the_latest_csat_beside_the_latest_nps(self):
        account = AccountFactory()
        for n, (kind, score, days_back) in enumerate([("csat", 2, 30), ("csat", 4, 5), ("nps", 9, 10)]):
            SurveyResponse.objects.create(
                account=account, external_id=f"S-{n}", kind=kind, score=score, responded_at=at(days_back)
            )
        item = self.read(account)
        assert (item.last_csat, item.last_csat_at, item.last_nps) == (4, at(5), 9)
        assert raw_measure("survey_sentiment", item, day=TODAY, validity_days=90) == (82.5, OK)

    def test_tenure_counts_from_the_first_contract_in_the_terms_known_by_the_day(self):
        account = AccountFactory(
            contract_start=TODAY - dt.timedelta(days=100), renewal_date=TODAY + dt.timedelta(days=265)
        )
        for effective, start in ((800, 830), (100, 100), (-5, 2000)):  # the last recorded after the day
            AccountTerms.objects.create(
                account=account,
                effective_at=at(effective),
                contract_start=TODAY - dt.timedelta(days=start),
                arr=account.arr,
                currency="USD",
                tier=account.tier,
                source=TermsSource.DEMO,
            )
        assert self.read(account).customer_since == TODAY - dt.timedelta(days=830)

    def test_without_terms_the_account_own_contract_start_and_without_one_missing(self):
        account = AccountFactory(
            contract_start=TODAY - dt.timedelta(days=40), renewal_date=TODAY + dt.timedelta(days=5)
        )
        AccountTerms.objects.filter(account=account).delete()
        assert self.read(account).customer_since == TODAY - dt.timedelta(days=40)
        unknown = AccountFactory(contract_start=None, renewal_date=None)
        AccountTerms.objects.filter(account=unknown).delete()
        assert self.read(unknown).customer_since is None
