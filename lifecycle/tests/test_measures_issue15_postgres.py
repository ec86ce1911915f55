"""The measures of issue 15 read the same on every path.

The recompute inside PostgreSQL scores a scorecard of the new measures exactly as the Python
reference does, and the backtest's `facts_for_pairs` reads the same facts as `facts_for`, on
accounts built at each measure's edges: usage level, survey sentiment, support load and tenure;
then adoption breadth, usage trend, engagement recency, stakeholder coverage and support burden
over products held and used, a feed of active days only, tickets' time and the relationship.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import Account, AccountTerms, Channel, DealRole, Entitlement, Product, TermsSource, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory
from lifecycle.health.facts_query import AccountScope
from lifecycle.models import Measure, Scorecard, SupportTicket, SurveyResponse, UsageDaily, WhenMissing
from lifecycle.signals import services as ingest
from lifecycle.tests.test_facts_pairs_postgres import assert_same_facts
from lifecycle.tests.test_recompute_sql import NOW, TODAY, assert_paths_agree

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def postgresql() -> None:
    assert connection.vendor == "postgresql", (
        "the recompute inside the database only exists on PostgreSQL: run with BATON_INTEGRATION=1 "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_ci (make test-integration)"
    )


def _at(days_back: int, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days_back), dt.time(hour)))


def _card(name: str, measures: dict[str, tuple], **fields) -> Scorecard:
    card = Scorecard.objects.create(name=name, status="active", activated_at=timezone.now(), **fields)
    Measure.objects.bulk_create(
        Measure(
            scorecard=card,
            kind=kind,
            weight=weight,
            zero_at=zero_at,
            full_at=full_at,
            validity_days=validity,
            when_missing=when_missing,
        )
        for kind, (weight, zero_at, full_at, validity, when_missing) in measures.items()
    )
    return card


def _usage(account: Account, days_back, *, users: int = 0, events: int = 0, owned: int = 10) -> None:
    UsageDaily.objects.bulk_create(
        UsageDaily(
            account=account,
            day=TODAY - dt.timedelta(days=back),
            active_users=users,
            key_events=events,
            licences_used=min(users, owned),
            licences_owned=owned,
        )
        for back in days_back
    )


def _terms(account: Account, *, effective_days_back: int, start_days_back: int | None) -> None:
    AccountTerms.objects.create(
        account=account,
        effective_at=_at(effective_days_back),
        contract_start=TODAY - dt.timedelta(days=start_days_back) if start_days_back is not None else None,
        arr=account.arr,
        currency="USD",
        tier=account.tier,
        source=TermsSource.DEMO,
    )


@pytest.fixture
def cases() -> dict[str, Account]:
    """One tech-touch account per edge of the new measures, scored by a card of them alone."""
    with time_machine.travel(NOW, tick=True):
        _card(
            "New measures",
            {
                "usage_level": (2, 0, 40, 28, WhenMissing.SKIP),
                "survey_sentiment": (1.5, 30, 90, 60, WhenMissing.NEUTRAL),
                "support_load": (1, 24, 0, 90, WhenMissing.SKIP),
                "tenure": (1, 0, 365, 3650, WhenMissing.WORST),
            },
            tier="tech",
        )
        found: dict[str, Account] = {}

        def account(case: str, **fields) -> Account:
            fields.setdefault("contract_start", TODAY - dt.timedelta(days=200))
            fields.setdefault("renewal_date", TODAY + dt.timedelta(days=165))
            found[case] = AccountFactory(name=case, tier="tech", stage="success", **fields)
            return found[case]

        _usage(account("steady"), range(28), users=7, owned=40)
        _usage(account("tiny"), range(0, 28, 7), users=1, owned=300)
        _usage(account("dormant"), range(40, 60), users=5, owned=20)  # licences bought, nothing for 40 days
        _usage(account("rows of zeros"), range(28), owned=15)
        _usage(account("events only"), range(10), events=90, owned=12)
        _usage(account("no licences"), range(28), users=5, owned=0)
        account("no usage ever")
        _usage(account("gone a year"), [366], users=5, owned=10)

        def surveys(case: str, *answers: tuple[str, int, int]) -> None:
            holder = account(case)
            for n, (kind, score, days_back) in enumerate(answers):
                SurveyResponse.objects.create(
                    account=holder, external_id=f"{case}-{n}", kind=kind, score=score, responded_at=_at(days_back)
                )

        surveys("nps 9", ("nps", 9, 5))
        surveys("nps 10", ("nps", 10, 5))
        surveys("nps and csat", ("nps", 7, 5), ("csat", 2, 59), ("csat", 5, 70))
        surveys("csat only", ("csat", 3, 1))
        surveys("nps stale, csat fresh", ("nps", 0, 60), ("csat", 4, 20))
        surveys("both stale", ("nps", 9, 61), ("csat", 5, 100))
        surveys("two at one instant", ("csat", 1, 2), ("csat", 5, 2))

        tickets = account("tickets")
        for n, (severity, days_back, closed) in enumerate(
            [("urgent", 0, None), ("high", 89, 88), ("low", 90, None), ("medium", 91, 91), ("low", 30, 29)]
        ):
            SupportTicket.objects.create(
                account=tickets,
                external_id=f"T-{n}",
                severity=severity,
                opened_at=_at(days_back, hour=1 if days_back == 90 else 10),
                closed_at=_at(closed, hour=12) if closed is not None else None,
            )

        history = account("renewed twice")
        AccountTerms.objects.filter(account=history).delete()
        _terms(history, effective_days_back=900, start_days_back=900)
        _terms(history, effective_days_back=170, start_days_back=170)
        _terms(history, effective_days_back=-3, start_days_back=1500)  # recorded after the day: not yet known
        blank_terms = account("terms without a start", contract_start=TODAY - dt.timedelta(days=50))
        AccountTerms.objects.filter(account=blank_terms).delete()
        _terms(blank_terms, effective_days_back=10, start_days_back=None)
        no_start = account("no contract start", contract_start=None, renewal_date=None)
        AccountTerms.objects.filter(account=no_start).delete()
        account("starts next month", contract_start=TODAY + dt.timedelta(days=30), renewal_date=None)
    return found


def _measures(cases: dict[str, Account], snapshots: list[dict]) -> dict[str, dict]:
    names = {account.pk: name for name, account in cases.items()}
    return {names[row["account_id"]]: row["measures"] for row in snapshots if row["account_id"] in names}


@pytest.mark.parametrize("days_back", [0, 45])
def test_a_scorecard_of_the_new_measures_scores_the_same_on_both_paths(cases, days_back):
    ids = sorted(account.pk for account in cases.values())
    with time_machine.travel(NOW, tick=True):
        results = assert_paths_agree(
            day=TODAY - dt.timedelta(days=days_back), scope=AccountScope.between(ids[0], ids[-1])
        )
        if days_back:
            assert len(results["snapshots"]) == len(cases)
            return
        scattered = assert_paths_agree(day=TODAY, scope=AccountScope.of(ids[::3]))
    assert scattered["snapshots"] == [row for row in results["snapshots"] if row["account_id"] in ids[::3]]

    # The cases are what their names say, so the agreement above covers them.
    measures = _measures(cases, results["snapshots"])

    def value(case: str, kind: str) -> tuple:
        return measures[case][kind]["raw"], measures[case][kind]["status"]

    assert value("steady", "usage_level") == (17.5, "ok")  # 7 a day on 40 licences
    assert value("tiny", "usage_level") == (0.0, "ok")  # 4 user-days on 300 licences: 0.05%, rounded
    assert value("dormant", "usage_level") == (0.0, "ok")
    assert value("rows of zeros", "usage_level") == (0.0, "ok")
    assert value("events only", "usage_level") == (267.9, "ok")  # 900 events / 28 days / 12 licences
    for case in ("no licences", "no usage ever", "gone a year"):
        assert value(case, "usage_level") == (None, "missing")
        assert measures[case]["usage_level"]["score"] is None
    assert value("nps 9", "survey_sentiment") == (90.0, "ok")
    assert value("nps 10", "survey_sentiment") == (100.0, "ok")
    assert value("nps and csat", "survey_sentiment") == (47.5, "ok")  # (70 + 25) / 2
    assert value("csat only", "survey_sentiment") == (50.0, "ok")
    assert value("nps stale, csat fresh", "survey_sentiment") == (75.0, "ok")
    assert value("both stale", "survey_sentiment") == (None, "stale")
    assert measures["both stale"]["survey_sentiment"]["score"] == 50.0
    assert value("two at one instant", "survey_sentiment") == (100.0, "ok")  # the later recorded
    assert value("steady", "survey_sentiment") == (None, "missing")
    # Urgent 4 + high 3 (closed) + low 1 (closed); the low one opened 90 days back came before the window's first midnight.
    assert value("tickets", "support_load") == (8.0, "ok")
    assert value("tickets", "support_load")[0] != measures["tickets"]["support_load"]["score"]
    assert value("steady", "support_load") == (None, "missing")  # no ticket in a year: no support record
    assert value("renewed twice", "tenure") == (900.0, "ok")
    assert value("terms without a start", "tenure") == (50.0, "ok")
    assert value("no contract start", "tenure") == (None, "missing")
    assert measures["no contract start"]["tenure"]["score"] == 0.0
    assert value("starts next month", "tenure") == (0.0, "ok")


def test_the_backtest_pairs_read_the_new_facts_as_facts_for_does(cases):
    ids = [account.pk for account in cases.values()]
    days = [TODAY - dt.timedelta(days=n) for n in (-1, 0, 1, 27, 28, 29, 45, 89, 90, 91, 170, 171, 365, 901)]
    with time_machine.travel(NOW, tick=True):
        read = assert_same_facts([(pk, day) for pk in ids for day in days])

    def on(case: str, days_back: int = 0):
        return read[(cases[case].pk, TODAY - dt.timedelta(days=days_back))]

    assert (on("steady").active_user_days_28d, on("steady").usage_licences_owned) == (7 * 28, 40)
    assert (on("dormant").active_user_days_28d, on("dormant").usage_licences_owned) == (0, 20)
    assert on("events only").key_events_28d == 900 and on("events only").active_user_days_28d == 0
    assert on("gone a year").usage_licences_owned is None and on("gone a year", 27).usage_licences_owned == 10
    assert (on("nps and csat").last_csat, on("nps and csat").last_nps) == (2, 7)
    assert on("tickets").ticket_weight_90d == 8 and on("tickets", 1).ticket_weight_90d == 3 + 1 + 1
    assert on("renewed twice").customer_since == TODAY - dt.timedelta(days=900)
    assert on("renewed twice", 901).customer_since == TODAY - dt.timedelta(days=200)  # before any terms: its own
    assert on("no contract start").customer_since is None


# --- products, the usage feed, tickets' time and the relationship ----------------------------------------


def _ingest_usage(rows: list[dict]) -> None:
    result = ingest.usage_ingest(rows=rows)  # as Baton's own feed job: trusted for every account
    assert result.ok, result.errors


def _use(account: Account, days_back, product: str | None = None, **measures) -> list[dict]:
    return [
        {
            "account": account.pk,
            "day": (TODAY - dt.timedelta(days=back)).isoformat(),
            **({"product": product} if product else {}),
            **measures,
        }
        for back in days_back
    ]


def _hold(account: Account, product: Product, *, seats: int | None, since: int, until: int | None = None) -> None:
    Entitlement.objects.create(
        account=account,
        product=product,
        seats=seats,
        starts_on=TODAY - dt.timedelta(days=since),
        ends_on=TODAY - dt.timedelta(days=until) if until is not None else None,
    )


@pytest.fixture
def breadth_cases() -> dict[str, Account]:
    """One tech-touch account per edge of adoption, the usage feed, support time and the relationship,
    fed through the ingest (product rows add up into account-wide days) and scored by a card of those measures."""
    with time_machine.travel(NOW, tick=True):
        _card(
            "Breadth and relationship",
            {
                "adoption_breadth": (2, 0, 100, 28, WhenMissing.SKIP),
                "usage_trend": (2, -50, 0, 14, WhenMissing.SKIP),
                "usage_level": (1, 0, 40, 28, WhenMissing.SKIP),
                "engagement_recency": (1, 60, 14, 365, WhenMissing.NEUTRAL),
                "stakeholder_coverage": (1, 0, 100, 3650, WhenMissing.WORST),
                "support_burden": (1, 12, 0, 90, WhenMissing.SKIP),
                "support_load": (1, 20, 0, 90, WhenMissing.SKIP),
            },
            tier="tech",
        )
        reports, dashboards = (Product.objects.create(key=key, name=key.title()) for key in ("reports", "dashboards"))
        Product.objects.create(key="billing", name="Billing")  # no account below holds it
        found: dict[str, Account] = {}

        def account(case: str) -> Account:
            found[case] = AccountFactory(name=case, tier="tech", stage="success")
            return found[case]

        used = account("held and used")
        _hold(used, reports, seats=20, since=100)
        _hold(used, dashboards, seats=10, since=100)
        _ingest_usage(
            _use(used, range(28), "reports", active_users=5)
            + _use(used, [3, 10], "dashboards", key_events=40)
            + _use(used, [50], "reports", active_users=2)
        )

        unused = account("held and unused")
        _hold(unused, reports, seats=10, since=100)
        _hold(unused, dashboards, seats=10, since=100)
        _ingest_usage(_use(unused, range(6), "billing", active_users=4))  # a product it does not hold

        ended = account("entitlement ended")
        _hold(ended, reports, seats=10, since=400, until=1)
        _hold(ended, dashboards, seats=10, since=100)
        _ingest_usage(_use(ended, range(6), "reports", active_users=3))

        zeros = account("product rows of zeros")
        _hold(zeros, reports, seats=10, since=100)
        _ingest_usage(_use(zeros, range(7), "reports", active_users=0, key_events=0, minutes=0))

        # An analytics export of active days only: a day without a row is a day nobody used it.
        sparse = account("active days only")
        _ingest_usage(_use(sparse, [30, 25, 20, 15, 12, 9, 4], active_users=10, licences_owned=10))

        helped = account("tickets with time spent")
        result = ingest.tickets_ingest(
            rows=[
                {
                    "account": helped.pk,
                    "external_id": external_id,
                    "severity": severity,
                    "opened_at": _at(opened).isoformat(),
                    "closed_at": _at(closed, hour=12).isoformat() if closed is not None else None,
                    "time_spent_minutes": minutes,
                }
                for external_id, severity, opened, closed, minutes in (
                    ("Z-1", "high", 5, 4, 130),
                    ("Z-2", "low", 20, None, 50),
                    ("Z-3", "medium", 60, 58, None),
                    ("Z-4", "medium", 100, 99, 600),  # before the 90-day window
                )
            ]
        )
        assert result.ok, result.errors

        ContactFactory(
            account=account("departed champion only"),
            deal_role=DealRole.CHAMPION,
            departed=True,
            departed_at=TODAY - dt.timedelta(days=30),
        )

        talked = account("touchpoints")
        for days_back in (100, 10):
            TimelineEntryFactory(
                account=talked, kind=TimelineKind.TOUCHPOINT, channel=Channel.CALL, occurred_at=_at(days_back)
            )
        TimelineEntryFactory(
            account=account("touchpoint over a year ago"),
            kind=TimelineKind.TOUCHPOINT,
            channel=Channel.MEETING,
            occurred_at=_at(400),
        )
        account("nothing on file")
    return found


def test_breadth_feed_support_time_and_relationship_score_the_same_on_both_paths(breadth_cases):
    ids = sorted(account.pk for account in breadth_cases.values())
    with time_machine.travel(NOW, tick=True):
        today = _measures(
            breadth_cases, assert_paths_agree(day=TODAY, scope=AccountScope.between(ids[0], ids[-1]))["snapshots"]
        )
        earlier = _measures(
            breadth_cases,
            assert_paths_agree(day=TODAY - dt.timedelta(days=45), scope=AccountScope.of(ids))["snapshots"],
        )
    assert len(today) == len(earlier) == len(breadth_cases)

    def value(case: str, kind: str, measures: dict = today) -> tuple:
        return measures[case][kind]["raw"], measures[case][kind]["status"]

    # Adoption: products held on the day with activity in the 28 days up to the product feed's day.
    assert value("held and used", "adoption_breadth") == (100.0, "ok")
    assert value("held and unused", "adoption_breadth") == (0.0, "ok")  # billing is used, but not held
    assert value("entitlement ended", "adoption_breadth") == (0.0, "ok")  # only dashboards held now, unused
    assert value("product rows of zeros", "adoption_breadth") == (0.0, "ok")
    for case in ("active days only", "nothing on file"):
        assert value(case, "adoption_breadth") == (None, "missing")
        assert today[case]["adoption_breadth"]["score"] is None
    # 45 days ago the product feed's latest day was 50 days back: reports' row then, dashboards unused.
    assert value("held and used", "adoption_breadth", earlier) == (50.0, "ok")
    assert value("entitlement ended", "adoption_breadth", earlier) == (0.0, "ok")  # both held then

    # Product rows added up into account-wide days without licences: the seats bought stand in.
    assert value("held and used", "usage_level") == (16.7, "ok")  # 5 a day on 20 + 10 seats
    assert value("held and used", "usage_trend") == (33.3, "ok")  # 35 in the week against 105 in 28 days
    assert value("product rows of zeros", "usage_level") == (0.0, "ok")
    assert value("product rows of zeros", "usage_trend") == (None, "missing")  # nothing to compare with
    assert value("held and unused", "usage_trend") == (None, "missing")
    # Active days only: 60 user-days in 28 days on 10 licences; 10 in the last week against 60 before it.
    assert value("active days only", "usage_level") == (21.4, "ok")
    assert value("active days only", "usage_trend") == (-33.3, "ok")
    assert value("nothing on file", "usage_trend") == (None, "missing")

    # Support: severity 3 + 1 + 2 and three full hours (180 minutes) of the 90 days; the low one is open.
    assert value("tickets with time spent", "support_load") == (9.0, "ok")
    assert value("tickets with time spent", "support_burden") == (1.0, "ok")
    # 45 days ago: the two medium ones of 60 and 100 days back (2 + 2, and ten hours), both closed by then.
    assert value("tickets with time spent", "support_load", earlier) == (14.0, "ok")
    assert value("tickets with time spent", "support_burden", earlier) == (0.0, "ok")
    for kind in ("support_load", "support_burden"):
        assert value("nothing on file", kind) == (None, "missing")

    # The relationship.
    assert value("departed champion only", "stakeholder_coverage") == (0.0, "ok")
    assert value("departed champion only", "stakeholder_coverage", earlier) == (50.0, "ok")  # not gone yet
    assert value("touchpoints", "engagement_recency") == (10.0, "ok")
    assert value("touchpoints", "engagement_recency", earlier) == (55.0, "ok")
    assert value("touchpoint over a year ago", "engagement_recency") == (None, "missing")
    assert today["touchpoint over a year ago"]["engagement_recency"]["score"] == 50.0
    assert value("nothing on file", "stakeholder_coverage") == (None, "missing")
    assert today["nothing on file"]["stakeholder_coverage"]["score"] == 0.0


def test_the_backtest_pairs_read_breadth_feed_and_relationship_facts_as_facts_for_does(breadth_cases):
    ids = [account.pk for account in breadth_cases.values()]
    days = [TODAY - dt.timedelta(days=n) for n in (-1, 0, 1, 4, 5, 6, 27, 28, 29, 30, 31, 45, 50, 78, 90, 101, 401)]
    with time_machine.travel(NOW, tick=True):
        read = assert_same_facts([(pk, day) for pk in ids for day in days])

    def on(case: str, days_back: int = 0):
        return read[(breadth_cases[case].pk, TODAY - dt.timedelta(days=days_back))]

    used = on("held and used")
    assert (used.entitled_seats, used.products_entitled, used.products_used, used.product_feed_day) == (30, 2, 2, TODAY)
    assert (used.active_user_days_28d, used.usage_licences_owned) == (5 * 28, 0)
    assert (on("entitlement ended").products_entitled, on("entitlement ended", 1).products_entitled) == (1, 2)
    assert on("held and unused").products_used == 0 and on("product rows of zeros").products_used == 0
    sparse = on("active days only")
    assert (sparse.active_user_days_7d, sparse.active_user_days_prev28, sparse.usage_feed_day) == (10, 60, TODAY)
    helped = on("tickets with time spent")
    assert (helped.ticket_weight_90d, helped.open_ticket_weight, helped.tickets_known) == (9, 1, True)
    assert on("tickets with time spent", 401).tickets_known is False
    assert on("departed champion only").stakeholders_recorded and not on("departed champion only").champion_known
    assert on("nothing on file").stakeholders_recorded is False
    assert on("touchpoint over a year ago").last_touchpoint_at is None
    assert on("touchpoint over a year ago", 45).last_touchpoint_at == _at(400)
