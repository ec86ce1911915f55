"""Usage level, survey sentiment, support load and tenure read the same on every path.

The recompute inside PostgreSQL scores a scorecard of the new measures exactly as the Python
reference does, and the backtest's `facts_for_pairs` reads the same facts as `facts_for`, on
accounts built at each measure's edges.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from accounts.models import Account, AccountTerms, TermsSource
from accounts.tests.factories import AccountFactory
from lifecycle.health.facts_query import AccountScope
from lifecycle.models import Measure, Scorecard, SupportTicket, SurveyResponse, UsageDaily, WhenMissing
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
