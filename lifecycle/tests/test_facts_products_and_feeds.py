"""What the facts read for products, entitlements, the usage feeds, tickets and the relationship, and the
missing-data policy end to end: a table with nothing for the account leaves its measure out of the score.

Rows straight into the tables, read through `facts_for`, scored by the Python reference
(`lifecycle.health.scoring`). The PostgreSQL recompute and the backtest's pairs are held to the same
values in test_measures_issue15_postgres.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import (
    Account,
    AccountTerms,
    Channel,
    Contact,
    DealRole,
    Entitlement,
    Product,
    TimelineEntry,
    TimelineKind,
)
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import AccountScope, facts_for
from lifecycle.health.scoring import MISSING, OK, STALE, MeasureConfig, ScorecardConfig, raw_measure, score_account
from lifecycle.models import ProductUsageDaily, PulseRating, SupportTicket, SurveyResponse, UsageDaily

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(dt.datetime(2026, 11, 23, 14, 0, tzinfo=dt.UTC), tick=False):
        yield


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def at(days_back: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(ago(days_back), dt.time(hour)))


def read(*accounts: Account, on: dt.date = TODAY) -> AccountFacts | list[AccountFacts]:
    facts = facts_for(day=on, scope=AccountScope.of(account.pk for account in accounts))
    found = [facts[account.pk] for account in accounts]
    return found[0] if len(found) == 1 else found


def measure(kind: str, item: AccountFacts, validity: int, on: dt.date = TODAY) -> tuple[float | None, str]:
    return raw_measure(kind, item, day=on, validity_days=validity)


def product(key: str) -> Product:
    return Product.objects.create(key=key, name=key.title())


def hold(account: Account, held: Product, *, seats: int | None, since: int, until: int | None = None) -> None:
    """An entitlement from `since` days ago until `until` days ago (negative: in the future; None: open-ended)."""
    Entitlement.objects.create(
        account=account,
        product=held,
        seats=seats,
        starts_on=ago(since),
        ends_on=ago(until) if until is not None else None,
    )


def product_use(account: Account, used: Product, *days_back: int, users=None, events=0, minutes=None) -> None:
    ProductUsageDaily.objects.bulk_create(
        ProductUsageDaily(
            account=account, product=used, day=ago(back), active_users=users, key_events=events, minutes=minutes
        )
        for back in days_back
    )


def usage(account: Account, days_back, *, users: int | None = 0, events: int = 0, owned: int = 20) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(account=account, day=ago(back), active_users=users, key_events=events, licences_owned=owned)
        for back in days_back
    )


def ticket(account: Account, severity: str, opened: int, closed: int | None = None, minutes: int | None = None):
    SupportTicket.objects.create(
        account=account,
        external_id=f"T-{SupportTicket.objects.count()}",
        severity=severity,
        opened_at=at(opened),
        closed_at=at(closed, hour=12) if closed is not None else None,
        time_spent_minutes=minutes,
    )


def touchpoint(account: Account, days_back: int) -> None:
    TimelineEntryFactory(account=account, kind=TimelineKind.TOUCHPOINT, channel=Channel.CALL, occurred_at=at(days_back))


# --- Entitlements and adoption ------------------------------------------------------------------------


class TestEntitlements:
    def test_seats_add_up_over_the_entitlements_in_force_on_the_day_and_each_product_counts_once(self):
        account = AccountFactory()
        reports, dashboards, api, billing, forecasts = (
            product(key) for key in ("reports", "dashboards", "api", "billing", "forecasts")
        )
        hold(account, reports, seats=50, since=100)
        hold(account, reports, seats=10, since=10, until=-30)  # a top-up of the same product
        hold(account, dashboards, seats=None, since=0)  # not sold by seat; held from today
        hold(account, api, seats=5, since=200, until=0)  # its last day is today: still held
        hold(account, billing, seats=40, since=300, until=1)  # ended yesterday
        hold(account, forecasts, seats=7, since=-1)  # starts tomorrow

        item = read(account)
        assert (item.entitled_seats, item.products_entitled) == (50 + 10 + 5, 3)
        # Twenty days ago: reports (without the top-up), api and billing.
        earlier = read(account, on=ago(20))
        assert (earlier.entitled_seats, earlier.products_entitled) == (50 + 5 + 40, 3)

    def test_an_account_without_entitlements_holds_nothing(self):
        item = read(AccountFactory())
        assert (item.entitled_seats, item.products_entitled, item.products_used) == (None, 0, 0)

    def test_a_held_product_counts_as_used_with_activity_in_the_28_days_up_to_the_product_feeds_latest_day(self):
        account, someone_else = AccountFactory(), AccountFactory()
        users, minutes, events, zeros, too_early, never, not_held = (
            product(key) for key in ("users", "minutes", "events", "zeros", "too-early", "never", "not-held")
        )
        for held in (users, minutes, events, zeros, too_early, never):
            hold(account, held, seats=10, since=100)
        product_use(someone_else, users, 2, users=1)  # the product feed's latest day: two days ago
        product_use(account, users, 2, users=3)
        product_use(account, minutes, 29, minutes=20)  # inside the 28 days that end on the feed's day
        product_use(account, events, 15, events=5)  # events, no users reported
        product_use(account, zeros, 3, 4, 5, users=0, events=0, minutes=0)  # rows of zeros are not use
        product_use(account, too_early, 30, users=4)  # a day before the window
        product_use(account, not_held, 2, 3, users=9)  # used, but not bought: not counted

        item = read(account)
        assert item.product_feed_day == ago(2)
        assert (item.products_entitled, item.products_used) == (6, 3)
        assert measure("adoption_breadth", item, 28) == (50.0, OK)

    def test_adoption_is_missing_without_a_product_feed_or_without_products_held(self):
        account, holds_nothing = AccountFactory(), AccountFactory()
        reports = product("reports")
        hold(account, reports, seats=10, since=100)
        assert measure("adoption_breadth", read(account), 28) == (None, MISSING)  # no product feed at all

        product_use(holds_nothing, reports, 1, users=4)
        item, nothing = read(account, holds_nothing)
        assert measure("adoption_breadth", item, 28) == (0.0, OK)
        assert measure("adoption_breadth", nothing, 28) == (None, MISSING)


# --- The usage feeds --------------------------------------------------------------------------------------


class TestFeedDays:
    def test_the_feed_days_are_the_latest_days_any_account_has_rows_up_to_the_day(self):
        sender, other_sender, silent = AccountFactory(), AccountFactory(), AccountFactory()
        usage(sender, [6, 1], users=3)
        reports = product("reports")
        product_use(other_sender, reports, 9, 3, users=2)

        def feeds(on: dt.date) -> set[tuple]:
            return {(item.usage_feed_day, item.product_feed_day) for item in read(sender, other_sender, silent, on=on)}

        # The same for every account, whether it sent anything or not.
        assert feeds(TODAY) == {(ago(1), ago(3))}
        assert feeds(ago(2)) == {(ago(6), ago(3))}
        assert feeds(ago(7)) == {(None, ago(9))}
        assert feeds(ago(10)) == {(None, None)}

    def test_a_feed_a_day_behind_does_not_lower_the_usage_level_or_bend_the_trend(self):
        account = AccountFactory()
        usage(account, range(1, 36), users=10, owned=20)  # 35 days up to yesterday: nothing today yet

        item = read(account)
        assert item.usage_feed_day == ago(1)
        # Windows ending yesterday: 28 full days, the last 7 against the 28 before them.
        assert (item.active_user_days_28d, item.active_user_days_7d, item.active_user_days_prev28) == (280, 70, 280)
        assert measure("usage_level", item, 28) == (50.0, OK)  # 10 a day on 20 licences
        assert measure("usage_trend", item, 7) == (0.0, OK)

        # Once the feed has reached today (for any account), today without a row is a day of no use.
        usage(AccountFactory(), [0], users=1)
        item = read(account)
        assert (item.usage_feed_day, item.active_user_days_28d, item.active_user_days_7d) == (TODAY, 270, 60)
        assert measure("usage_level", item, 28) == (48.2, OK)  # 270 / 28 / 20

    def test_an_account_silent_while_the_feed_went_on_counts_the_silent_days_as_no_use(self):
        account, still_sending = AccountFactory(), AccountFactory()
        usage(still_sending, range(0, 36), users=1)
        usage(account, range(10, 36), users=10, owned=20)  # stopped ten days ago

        item = read(account)
        assert item.usage_feed_day == TODAY
        # 18 days of 10 users in the 28 up to today; none in the last week, 25 days in the four weeks before.
        assert (item.active_user_days_28d, item.active_user_days_7d, item.active_user_days_prev28) == (180, 0, 250)
        assert measure("usage_level", item, 28) == (32.1, OK)  # 180 / 28 / 20
        assert measure("usage_trend", item, 7) == (-100.0, OK)

    def test_when_the_whole_feed_stopped_the_trend_is_stale_not_a_fall(self):
        account = AccountFactory()
        usage(account, range(10, 36), users=10, owned=20)  # nobody has sent usage for ten days

        item = read(account)
        assert item.usage_feed_day == ago(10)
        assert measure("usage_trend", item, 7) == (None, STALE)
        # The level's window ends on the feed's last day, and a 28-day validity still covers it.
        assert item.active_user_days_28d == 260
        assert measure("usage_level", item, 28) == (46.4, OK)  # 260 / 28 / 20
        assert measure("usage_level", item, 10) == (None, STALE)


# --- Tickets -------------------------------------------------------------------------------------------------


class TestTickets:
    def test_an_account_has_a_support_record_with_a_ticket_opened_in_the_year_or_one_still_open(self):
        recent, old_closed, old_open, closed_since, none = (AccountFactory() for _ in range(5))
        ticket(recent, "low", opened=200, closed=190)
        ticket(old_closed, "medium", opened=400, closed=395)
        ticket(old_open, "medium", opened=400)
        ticket(closed_since, "high", opened=400, closed=5)

        accounts = {"recent": recent, "old closed": old_closed, "old open": old_open, "closed since": closed_since}
        facts = dict(zip([*accounts, "none"], read(*accounts.values(), none), strict=True))
        assert {name: item.tickets_known for name, item in facts.items()} == {
            "recent": True,
            "old closed": False,  # opened and closed more than a year ago
            "old open": True,
            "closed since": False,
            "none": False,
        }
        # Ten days ago the old high ticket was still open.
        assert read(closed_since, on=ago(10)).tickets_known is True

        for kind in ("support_load", "support_burden"):
            assert measure(kind, facts["old closed"], 90) == (None, MISSING)
        assert measure("support_burden", facts["old open"], 90) == (2.0, OK)
        assert measure("support_load", facts["old open"], 90) == (0.0, OK)  # nothing opened in the 90 days

    def test_support_load_adds_a_point_per_full_hour_spent_on_the_windows_tickets(self):
        account = AccountFactory()
        ticket(account, "medium", opened=10, closed=9, minutes=90)
        ticket(account, "low", opened=40, minutes=45)
        ticket(account, "high", opened=60, closed=50)  # no time recorded
        ticket(account, "urgent", opened=100, closed=99, minutes=600)  # before the 90-day window

        item = read(account)
        # Severity 2 + 1 + 3, and 135 minutes of support time: two full hours (summed before rounding down).
        assert item.ticket_weight_90d == 6 + 2
        assert measure("support_load", item, 90) == (8.0, OK)
        assert measure("support_burden", item, 90) == (1.0, OK)  # the low one is still open


# --- The relationship --------------------------------------------------------------------------------------


class TestRelationship:
    def test_a_departed_champion_alone_is_a_stakeholder_record_that_scores_zero(self):
        left, users_only, decider = AccountFactory(), AccountFactory(), AccountFactory()
        ContactFactory(account=left, deal_role=DealRole.CHAMPION, departed=True, departed_at=ago(30))
        ContactFactory(account=users_only, deal_role=DealRole.USER)
        ContactFactory(account=decider, deal_role=DealRole.DECISION_MAKER)

        gone, nobody, current = read(left, users_only, decider)
        assert (gone.stakeholders_recorded, gone.champion_known, gone.champion_departed_on) == (True, False, ago(30))
        assert measure("stakeholder_coverage", gone, 3650) == (0.0, OK)
        assert nobody.stakeholders_recorded is False
        assert measure("stakeholder_coverage", nobody, 3650) == (None, MISSING)
        assert measure("stakeholder_coverage", current, 3650) == (50.0, OK)
        # Forty days ago the champion had not left yet.
        assert measure("stakeholder_coverage", read(left, on=ago(40)), 3650, on=ago(40)) == (50.0, OK)

    def test_engagement_recency_counts_days_since_the_latest_touchpoint_of_the_year(self):
        talked, long_ago, notes_only, never = (AccountFactory() for _ in range(4))
        touchpoint(talked, 200)
        touchpoint(talked, 20)
        TimelineEntryFactory(account=talked, kind=TimelineKind.NOTE, occurred_at=at(1))  # a note is not contact
        touchpoint(long_ago, 400)
        TimelineEntryFactory(account=notes_only, kind=TimelineKind.NOTE, occurred_at=at(3))

        recent, old, notes, nothing = read(talked, long_ago, notes_only, never)
        assert measure("engagement_recency", recent, 365) == (20.0, OK)
        assert measure("engagement_recency", recent, 14) == (14.0, OK)  # capped at the window
        for item in (old, notes, nothing):
            assert item.last_touchpoint_at is None
            assert measure("engagement_recency", item, 365) == (None, MISSING)


# --- One missing-data policy, end to end ----------------------------------------------------------------------


def _card(*kinds: str) -> ScorecardConfig:
    """A scorecard of the default's kind of measures, each left out when its data is missing."""
    settings = {
        "usage_level": (3, 0, 40, 14),
        "usage_trend": (2, -50, 0, 14),
        "adoption_breadth": (2, 0, 80, 14),
        "survey_sentiment": (2, 30, 90, 180),
        "support_load": (1, 20, 0, 90),
        "engagement_recency": (1, 60, 14, 365),
        "stakeholder_coverage": (1, 0, 100, 3650),
        "csm_pulse": (1.5, 1, 6, 90),
        "tenure": (1, 0, 365, 3650),
    }
    return ScorecardConfig(
        id=None,
        name="Default-style",
        tier="",
        stage="",
        green_min=70,
        yellow_min=40,
        measures=tuple(
            MeasureConfig(kind=kind, weight=weight, zero_at=zero_at, full_at=full_at, validity_days=validity)
            for kind, (weight, zero_at, full_at, validity) in settings.items()
            if kind in kinds
        ),
    )


KNOWN = ("usage_level", "usage_trend", "survey_sentiment", "tenure")
WITHOUT_DATA = ("adoption_breadth", "support_load", "engagement_recency", "stakeholder_coverage", "csm_pulse")


class TestMissingDataPolicy:
    @pytest.fixture
    def account(self) -> Account:
        """Usage, surveys and a contract: nothing in the tables of tickets, touchpoints, contacts or products."""
        account = AccountFactory(contract_start=ago(500), renewal_date=TODAY + dt.timedelta(days=230))
        AccountTerms.objects.filter(account=account).delete()
        usage(account, range(7, 36), users=5, owned=20)  # 5 a day for four weeks, then 4 a day
        usage(account, range(0, 7), users=4, owned=20)
        for external_id, kind, score, days_back in (("n-1", "nps", 8, 10), ("c-1", "csat", 4, 20)):
            SurveyResponse.objects.create(
                account=account, external_id=external_id, kind=kind, score=score, responded_at=at(days_back)
            )
        return account

    def test_the_same_data_with_and_without_an_empty_table_scores_the_same(self, account):
        full, known = _card(*KNOWN, *WITHOUT_DATA), _card(*KNOWN)
        empty = (
            SupportTicket.objects.all(),
            TimelineEntry.objects.filter(kind=TimelineKind.TOUCHPOINT),
            Contact.objects.all(),
            PulseRating.objects.all(),
            Entitlement.objects.all(),
            ProductUsageDaily.objects.all(),
        )
        assert not any(table.exists() for table in empty)

        item = read(account)
        scored = score_account(full, item, day=TODAY)
        # Level 23.8% (59.5 points), trend -20% (60), sentiment 77.5 (79.2), tenure 500 days (100):
        # (3 × 59.5 + 2 × 60 + 2 × 79.2 + 100) / 8.
        assert scored.score == score_account(known, item, day=TODAY).score == 69.6
        for kind in WITHOUT_DATA:
            assert scored.measures[kind] == {
                "raw": None,
                "score": None,
                "weight": scored.measures[kind]["weight"],
                "status": MISSING,
            }, kind
        for kind in KNOWN:
            assert scored.measures[kind]["status"] == OK, kind

    def test_another_accounts_records_do_not_change_the_score(self, account):
        full = _card(*KNOWN, *WITHOUT_DATA)
        before = score_account(full, read(account), day=TODAY)

        other = AccountFactory()
        ticket(other, "urgent", opened=3, minutes=240)
        ticket(other, "low", opened=500)  # open for long: a support record
        touchpoint(other, 5)
        ContactFactory(account=other, deal_role=DealRole.CHAMPION)
        PulseRating.objects.create(account=other, rating=2, rated_at=at(4), expires_at=at(-80))
        reports = product("reports")
        hold(other, reports, seats=30, since=100)
        product_use(other, reports, 1, users=12)

        after = score_account(full, read(account), day=TODAY)
        assert (after.score, after.measures) == (before.score, before.measures)
        # The other account's records are read all right: it is scored on every one of them.
        theirs = score_account(full, read(other), day=TODAY)
        assert {kind for kind in WITHOUT_DATA if theirs.measures[kind]["status"] == OK} == set(WITHOUT_DATA)
