"""facts_for_pairs reads, for every (account, day) pair, exactly what facts_for reads for that day.

`facts_for` is the reference: over the demo company, for pairs across many
accounts and days (days with no signals, days before an account's first
signal, today, a day ahead), and over hand-built edge cases where a signal
dated after the day must not count, each pair's facts must equal the
reference's field by field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import random
from collections import defaultdict
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Min
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Account, DealRole, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_pairs import facts_for_pairs
from lifecycle.health.facts_query import AccountScope, end_of, facts_for
from lifecycle.models import (
    AlertRule,
    CheckIn,
    CheckInAnswer,
    CheckInQuestion,
    FlagStatus,
    Invoice,
    PulseRating,
    RedFlag,
    SupportTicket,
    SurveyResponse,
    UsageDaily,
)
from users.tests.factories import CSMFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NOW = dt.datetime(2025, 6, 30, 14, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
FIELDS = [field.name for field in dataclasses.fields(AccountFacts)]


@pytest.fixture(autouse=True)
def postgresql() -> None:
    assert connection.vendor == "postgresql", (
        "facts_for_pairs reads every pair in one statement only on PostgreSQL: run with BATON_INTEGRATION=1 "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_ci (make test-integration)"
    )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


def _reference(pairs: list[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], AccountFacts]:
    """facts_for, once per day over that day's accounts (each account's facts depend on its own rows alone)."""
    by_day: dict[dt.date, set[int]] = defaultdict(set)
    for account_id, day in pairs:
        by_day[day].add(account_id)
    reference = {}
    for day, ids in by_day.items():
        facts = facts_for(day=day, scope=AccountScope.of(ids))
        reference.update({(account_id, day): item for account_id, item in facts.items()})
    return reference


def _first_difference(reference: dict, pairs: dict) -> str:
    if reference.keys() != pairs.keys():
        missing, extra = sorted(reference.keys() - pairs.keys()), sorted(pairs.keys() - reference.keys())
        return f"pairs missing {missing[:5]} ({len(missing)}), pairs not in the reference {extra[:5]} ({len(extra)})"
    for pair in sorted(reference):
        for name in FIELDS:
            expected, actual = getattr(reference[pair], name), getattr(pairs[pair], name)
            if expected != actual or type(expected) is not type(actual):
                return (
                    f"account {pair[0]} on {pair[1]}, {name}: "
                    f"facts_for {expected!r} != facts_for_pairs {actual!r} (and maybe more)"
                )
    return ""


def assert_same_facts(pairs: list[tuple[int, dt.date]]) -> dict[tuple[int, dt.date], AccountFacts]:
    reference = _reference(pairs)
    read = facts_for_pairs(pairs)
    difference = _first_difference(reference, read)
    assert not difference, difference
    return read


# --- the demo company -----------------------------------------------------------------------------------


@pytest.fixture
def demo_company(clock) -> list[int]:
    call_command("seed_demo", seed=7, accounts=60, stdout=io.StringIO())
    return sorted(Account.objects.values_list("pk", flat=True))


def _demo_pairs(ids: list[int]) -> list[tuple[int, dt.date]]:
    # Every account on days at and around each window's edge, back to before anything was recorded.
    days_back = [-3, 0, 1, 6, 7, 30, 34, 35, 89, 90, 91, 180, 181, 364, 365, 366, 500, 729, 730, 1200]
    pairs = [(pk, TODAY - dt.timedelta(days=n)) for pk in ids for n in days_back]
    # The day before each account's first day of usage, and that first day.
    first_usage = UsageDaily.objects.values("account_id").annotate(first=Min("day"))
    for row in first_usage:
        pairs += [(row["account_id"], row["first"] - dt.timedelta(days=1)), (row["account_id"], row["first"])]
    # Scattered days over two years.
    rng = random.Random(7)
    pairs += [(rng.choice(ids), TODAY - dt.timedelta(days=rng.randrange(800))) for _ in range(400)]
    return pairs


def test_on_the_demo_company_every_pair_has_the_facts_of_its_own_day(demo_company):
    pairs = _demo_pairs(demo_company)
    gone = max(demo_company) + 1000
    read = assert_same_facts([*pairs, (gone, TODAY), pairs[0]])  # an account that is gone, a pair given twice

    assert len({day for _, day in pairs}) > 300
    assert (gone, TODAY) not in read and len(read) == len(set(pairs))
    # The demo really covers what the windows read, and the early days really have nothing.
    today = [read[(pk, TODAY)] for pk in demo_company]
    for name in ("usage_last_day", "last_touchpoint_at", "last_nps_at", "pulse_rated_at", "last_invoice_on"):
        assert any(getattr(item, name) for item in today), name
    assert any(item.open_ticket_weight for item in today) and any(item.champion_known for item in today)
    long_ago = [read[(pk, TODAY - dt.timedelta(days=1200))] for pk in demo_company]
    assert all(item.usage_last_day is None and item.last_touchpoint_at is None for item in long_ago)
    # Each pair has its own facts: changing one leaves the account's other days alone.
    read[(demo_company[0], TODAY)].tier = "changed"
    assert read[(demo_company[0], TODAY - dt.timedelta(days=1))].tier != "changed"


def test_the_number_of_statements_does_not_grow_with_the_days(demo_company):
    def statements(pairs) -> int:
        with CaptureQueriesContext(connection) as queries:
            facts_for_pairs(pairs)
        return len(queries)

    one_day = statements([(pk, TODAY) for pk in demo_company])
    many_days = statements([(pk, TODAY - dt.timedelta(days=n)) for pk in demo_company for n in range(0, 700, 3)])
    assert one_day == many_days <= 12


# --- hand-built edge cases --------------------------------------------------------------------------------

DAY = TODAY - dt.timedelta(days=10)


def _at(day: dt.date, hour: int = 10, minute: int = 0) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


@pytest.fixture
def edge_cases(clock) -> dict[str, Account]:
    """Accounts with signals on both sides of the edges of DAY's windows."""
    csm = CSMFactory()
    rule = AlertRule.objects.order_by("pk").first()
    questions = list(CheckInQuestion.objects.order_by("pk"))
    day_end = end_of(DAY)
    just_before = day_end - dt.timedelta(microseconds=1)
    cases: dict[str, Account] = {}

    def account(case: str, **fields) -> Account:
        cases[case] = AccountFactory(name=case, owner=csm, **fields)
        return cases[case]

    usage = account("usage after the day", tier="high", stage="adoption")
    UsageDaily.objects.bulk_create(
        UsageDaily(
            account=usage,
            day=DAY + _days(1) - _days(back),
            active_users=3 * back,
            licences_used=back % 3,
            licences_owned=5,
        )
        for back in range(40)
    )

    tickets = account("tickets")
    SupportTicket.objects.bulk_create(
        [
            SupportTicket(account=tickets, external_id="after", severity="urgent", opened_at=day_end),
            SupportTicket(account=tickets, external_id="last instant", severity="high", opened_at=just_before),
            SupportTicket(
                account=tickets,
                external_id="closed as the day ended",
                opened_at=_at(DAY - _days(60)),
                closed_at=day_end,
            ),
            SupportTicket(
                account=tickets,
                external_id="closed during the day",
                severity="low",
                opened_at=_at(DAY - _days(60)),
                closed_at=_at(DAY),
            ),
            SupportTicket(account=tickets, external_id="a week back", opened_at=end_of(DAY - _days(7))),
            SupportTicket(account=tickets, external_id="five weeks back", opened_at=end_of(DAY - _days(35))),
            SupportTicket(
                account=tickets,
                external_id="old, closed",
                opened_at=_at(DAY - _days(50)),
                closed_at=_at(DAY - _days(45)),
            ),
        ]
    )

    nps = account("NPS the day after")
    SurveyResponse.objects.create(
        account=nps, external_id="N-1", kind="nps", score=4, responded_at=_at(DAY - _days(30))
    )
    for n, score in enumerate((9, 10)):  # two answers at one instant: the later recorded is the latest
        SurveyResponse.objects.create(
            account=nps, external_id=f"N-{n + 2}", kind="nps", score=score, comment=f"{score}", responded_at=day_end
        )
    SurveyResponse.objects.create(account=nps, external_id="C-1", kind="csat", score=5, responded_at=_at(DAY))

    contacts = account("champion departed after the day")
    ContactFactory(account=contacts, deal_role=DealRole.CHAMPION, departed=True, departed_at=DAY + _days(1))
    ContactFactory(account=contacts, deal_role=DealRole.CHAMPION, departed=True, departed_at=DAY - _days(20))
    ContactFactory(account=contacts, deal_role=DealRole.DECISION_MAKER, departed=True, departed_at=DAY)
    ContactFactory(account=contacts, deal_role=DealRole.DECISION_MAKER, departed=True, departed_at=None)

    flags = account("flags resolved after the day")
    RedFlag.objects.bulk_create(
        [
            RedFlag(  # resolved as the day ended: open all day
                account=flags,
                rule=rule,
                severity=rule.severity,
                reason="r",
                status=FlagStatus.RESOLVED,
                raised_at=_at(DAY - _days(5)),
                resolved_at=day_end,
            ),
            RedFlag(  # resolved during the day: read as the day ended, no longer open
                account=flags,
                rule=rule,
                severity=rule.severity,
                reason="r",
                status=FlagStatus.RESOLVED,
                raised_at=_at(DAY - _days(5)),
                resolved_at=_at(DAY),
            ),
            RedFlag(  # raised during the day: not yet counted
                account=flags,
                rule=rule,
                severity=rule.severity,
                reason="r",
                status=FlagStatus.RESOLVED,
                raised_at=_at(DAY),
                resolved_at=_at(DAY + _days(3)),
            ),
            RedFlag(  # raised as the day began: not before it
                account=flags,
                rule=rule,
                severity=rule.severity,
                reason="r",
                status=FlagStatus.RESOLVED,
                raised_at=end_of(DAY - _days(1)),
                resolved_at=_at(DAY + _days(3)),
            ),
            RedFlag(  # re-opened during the day, first raised long before
                account=flags,
                rule=rule,
                severity=rule.severity,
                reason="r",
                status=FlagStatus.OPEN,
                raised_at=_at(DAY),
                first_raised_at=_at(DAY - _days(40)),
            ),
        ]
    )

    engaged = account("calls, touchpoints, pulse and invoices", stage_entered_at=_at(DAY - _days(200)))
    for held_at, concerns in ((just_before, 2), (just_before, 1), (day_end, 3), (end_of(DAY - _days(90)), 0)):
        check_in = CheckIn.objects.create(account=engaged, held_at=held_at, conducted_by=csm)
        CheckInAnswer.objects.bulk_create(
            CheckInAnswer(check_in=check_in, question=question, concern=n < concerns)
            for n, question in enumerate(questions)
        )
    for occurred_at in (day_end, just_before, end_of(DAY - _days(365)), _at(DAY - _days(365)), _at(DAY - _days(150))):
        TimelineEntryFactory(account=engaged, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=occurred_at)
    TimelineEntryFactory(account=engaged, kind=TimelineKind.NOTE, occurred_at=_at(DAY))
    PulseRating.objects.create(
        account=engaged, rated_by=csm, rating=3, rated_at=_at(DAY - _days(30)), expires_at=day_end
    )
    PulseRating.objects.create(account=engaged, rated_by=csm, rating=6, rated_at=day_end, expires_at=_at(TODAY))
    Invoice.objects.bulk_create(
        Invoice(
            account=engaged, external_id=f"I-{back}", issued_on=DAY - _days(back), amount=Decimal(f"{100 + back}.50")
        )
        for back in (-1, 0, 89, 90, 179, 180)
    )
    account("no signals at all", tier="tech")
    return cases


def test_signals_dated_after_the_day_are_not_used(edge_cases):
    ids = [account.pk for account in edge_cases.values()]
    days = [DAY - _days(1), DAY, DAY + _days(1), TODAY]
    read = assert_same_facts([(pk, day) for pk in ids for day in days])

    # The cases are what their names say, so the agreement above covers them.
    def on_day(case: str) -> AccountFacts:
        return read[(edge_cases[case].pk, DAY)]

    usage = on_day("usage after the day")
    assert usage.usage_last_day == DAY and usage.active_users_7d == 12.0  # 3 × (1..7) / 7, not the day after's 0
    tickets = on_day("tickets")
    assert (tickets.open_ticket_weight, tickets.tickets_opened_7d, tickets.tickets_opened_prev28) == (9, 2, 1)
    assert tickets.last_ticket_at == end_of(DAY) - dt.timedelta(microseconds=1)
    nps = on_day("NPS the day after")
    assert (nps.last_nps, read[(edge_cases["NPS the day after"].pk, DAY + _days(1))].last_nps) == (4, 10)
    contacts = on_day("champion departed after the day")
    assert contacts.champion_known and not contacts.decision_maker_known
    assert contacts.champion_departed_on == DAY - _days(20)
    assert on_day("flags resolved after the day").open_flags == 2
    engaged = on_day("calls, touchpoints, pulse and invoices")
    assert (engaged.checkins_90d, engaged.last_checkin_concerns) == (3, 1)
    assert (engaged.touchpoints_since_onboarding, engaged.last_touchpoint_at) == (
        2,
        end_of(DAY) - dt.timedelta(microseconds=1),
    )
    assert (engaged.pulse_rating, engaged.pulse_expired) == (3, True)
    assert (engaged.spend_recent_90d, engaged.spend_previous_90d, engaged.last_invoice_on) == (
        Decimal("290.00"),
        Decimal("470.00"),
        DAY,
    )
    assert on_day("no signals at all").last_checkin_concerns is None


LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def test_west_of_utc_windows_start_and_end_at_local_midnight(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    now = dt.datetime(2025, 6, 30, 23, 45, tzinfo=LOS_ANGELES)

    def late(day: dt.date) -> dt.datetime:
        """23:30 local time on `day`: the next day in UTC."""
        return dt.datetime.combine(day, dt.time(23, 30), tzinfo=LOS_ANGELES)

    with time_machine.travel(now, tick=True):
        today = timezone.localdate()
        # Days whose windows start on the other side of a change of daylight saving time: at a local
        # midnight, not a whole number of 24 hours before the day ended.
        days = [
            today,
            today - _days(1),
            *(dt.date(2025, 3, d) for d in (8, 9, 10)),
            *(dt.date(2024, 11, d) for d in (2, 3)),
        ]
        account = AccountFactory(name="late evenings", stage_entered_at=late(today - _days(500)))
        for day in days:
            for back in (0, 1, 7, 35, 90, 364, 365):
                at = late(day - _days(back))
                TimelineEntryFactory(account=account, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=at)
                CheckIn.objects.create(account=account, held_at=at)
                SupportTicket.objects.create(account=account, external_id=f"{day}-{back}", opened_at=at)
                SurveyResponse.objects.create(
                    account=account, external_id=f"{day}-{back}", kind="nps", score=back % 11, responded_at=at
                )
        read = assert_same_facts([(account.pk, day) for day in days])
        assert read[(account.pk, today)].last_touchpoint_at == late(today)
        assert read[(account.pk, dt.date(2025, 3, 9))].last_touchpoint_at == late(dt.date(2025, 3, 9))
