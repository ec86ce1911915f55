"""The recompute inside PostgreSQL writes exactly what the Python reference writes.

On PostgreSQL `health_recompute_scope` runs `_recompute_scope_in_database`; `_recompute_scope_in_python`
is the reference it must match. Each test builds its data once, runs one path inside a savepoint, keeps
what that path wrote (the day's snapshots, the current health, the red flags, the timeline entries and
risk plays they start), rolls it back, runs the other path on the very same data and requires identical
results: over the demo company, over hand-built edge cases and in a time zone west of UTC.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import Account, Coverage, DealRole, TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import ScopeOutcome, _recompute_scope_in_database, _recompute_scope_in_python
from lifecycle.health.scoring import load_scorecards
from lifecycle.models import (
    AccountHealth,
    AlertRule,
    CheckIn,
    CheckInAnswer,
    CheckInQuestion,
    FlagStatus,
    HealthScore,
    Invoice,
    Measure,
    PulseRating,
    RedFlag,
    Scorecard,
    ScoreOverride,
    SupportTicket,
    SurveyResponse,
    UsageDaily,
)
from notifications.models import Notification
from transitions.models import Transition
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

Path = Callable[..., ScopeOutcome]
PYTHON: Path = _recompute_scope_in_python
DATABASE: Path = _recompute_scope_in_database

# A Monday afternoon. The clock keeps ticking, so each run stamps its own `now` as real runs do.
NOW = dt.datetime(2025, 6, 30, 14, 0, tzinfo=dt.UTC)
TODAY = NOW.date()
FLAG_FIELDS = (
    "rule_id",
    "account_id",
    "owner_id",
    "severity",
    "status",
    "reason",
    "values",
    "snoozed_until",
    "cleared_reason",
)


@pytest.fixture(autouse=True)
def postgresql() -> None:
    assert connection.vendor == "postgresql", (
        "the recompute inside the database only exists on PostgreSQL: run with BATON_INTEGRATION=1 "
        "DATABASE_URL=postgres://postgres@127.0.0.1:5432/baton_ci (make test-integration)"
    )


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


# --- running one path and reading back what it wrote --------------------------------------------------


def _last_pk(model) -> int:
    return model.objects.aggregate(last=Max("pk"))["last"] or 0


def _run(path: Path, *, day: dt.date, scope: AccountScope, notify: bool = False) -> dict[str, Any]:
    """Run `path` over `scope` for `day`; every row it wrote or changed, in a form two runs can compare.

    Ids and timestamps differ between runs by nature, so rows are keyed by what they are about (rule,
    account) and a flag only says whether this run raised (or re-opened) it, and whether it cleared it.
    """
    started = timezone.now()
    last_entry, last_transition = _last_pk(TimelineEntry), _last_pk(Transition)
    outcome = path(day=day, scope=scope, scorecards=load_scorecards(), notify=notify, raise_flags=True)
    raised = RedFlag.objects.filter(pk__in=outcome.flags_raised).order_by("rule_id", "account_id")
    flags = (
        RedFlag.objects.filter(scope.q())
        .order_by("rule_id", "account_id", "status", "reason")
        .values(*FLAG_FIELDS, "raised_at", "cleared_at")
    )
    return {
        "outcome": {
            "accounts": outcome.accounts,
            "scored": outcome.scored,
            "raised": list(raised.values_list("rule_id", "account_id")),
        },
        "snapshots": list(
            HealthScore.objects.filter(scope.q(), day=day)
            .order_by("account_id")
            .values("account_id", "scorecard_id", "score", "band", "measures")
        ),
        "health": list(AccountHealth.objects.filter(scope.q()).order_by("account_id").values()),
        "flags": [
            {
                **{name: flag[name] for name in FLAG_FIELDS},
                "raised_by_this_run": flag["raised_at"] >= started,
                "cleared_by_this_run": flag["cleared_at"] is not None and flag["cleared_at"] >= started,
            }
            for flag in flags
        ],
        "timeline": list(
            TimelineEntry.objects.filter(pk__gt=last_entry)
            .order_by("account_id", "event", "summary", "body")
            .values("account_id", "kind", "event", "summary", "body")
        ),
        "risk_plays": list(
            Transition.objects.filter(pk__gt=last_transition)
            .order_by("account_id")
            .values_list("account_id", "kind", "playbook_id")
        ),
    }


def _notifications_since(last_notification: int) -> dict[str, list]:
    return {
        "notifications": list(
            Notification.objects.filter(pk__gt=last_notification)
            .order_by("recipient_id", "title")
            .values_list("recipient_id", "kind", "title", "body", "url", "flag__rule_id", "flag__account_id")
        ),
        "emails": sorted((tuple(message.to), message.subject) for message in mail.outbox),
    }


def _results_of(path: Path, *, day: dt.date, scope: AccountScope, notify: bool = False, capture=None) -> dict:
    """What `path` writes, rolled back afterwards so that the other path starts from the same data.

    With `notify`, the notifications queued on commit are run (eager Celery) inside the savepoint too.
    """
    with transaction.atomic():
        if not notify:
            results = _run(path, day=day, scope=scope)
        else:
            mail.outbox = []
            last_notification = _last_pk(Notification)
            with capture(execute=True):
                results = _run(path, day=day, scope=scope, notify=True)
            results.update(_notifications_since(last_notification))
        transaction.set_rollback(True)
    return results


def _first_difference(python: list, database: list, names: tuple[str, str] = ("python", "database")) -> str:
    for index, (left, right) in enumerate(zip(python, database)):
        if left != right:
            if isinstance(left, dict) and isinstance(right, dict):
                keys = [key for key in {**left, **right} if left.get(key) != right.get(key)]
                where = {key: left[key] for key in ("account_id", "rule_id") if key in left}
                left, right = {k: left.get(k) for k in keys}, {k: right.get(k) for k in keys}
                return f"row {index} {where}: {names[0]} {left!r} != {names[1]} {right!r}"
            return f"row {index}: {names[0]} {left!r} != {names[1]} {right!r}"
    return f"{names[0]} has {len(python)} rows, {names[1]} {len(database)}"


def assert_paths_agree(*, day: dt.date, scope: AccountScope, notify: bool = False, capture=None) -> dict:
    """Both paths write the same rows from the same data; returns those rows."""
    python = _results_of(PYTHON, day=day, scope=scope, notify=notify, capture=capture)
    database = _results_of(DATABASE, day=day, scope=scope, notify=notify, capture=capture)
    differences = [
        f"{part}: {_first_difference(python[part], database[part])}"
        if isinstance(python[part], list)
        else f"{part}: python {python[part]!r} != database {database[part]!r}"
        for part in python
        if python[part] != database[part]
    ]
    assert not differences, f"the paths disagree on {day} over {scope}:\n" + "\n".join(differences)
    return python


# --- the demo company -----------------------------------------------------------------------------------


@pytest.fixture
def demo_company(clock) -> list[int]:
    call_command("seed_demo", seed=7, accounts=150, stdout=io.StringIO())
    return sorted(Account.objects.values_list("pk", flat=True))


def _demo_scopes(ids: list[int]) -> list[AccountScope]:
    # The daily run's id range over the whole book, and the scattered ids of a recompute after new signals.
    return [AccountScope.between(ids[0], ids[-1]), AccountScope.of(ids[3::7])]


def test_on_the_demo_company_both_paths_write_the_same_health_and_flags_today_and_in_the_past(demo_company):
    # As seeded: today and 14 days ago already have snapshots (written by the database path) with history a
    # week and a month before today; 10 days ago has none yet, and its firings meet today's open flags.
    for days_back in (0, 10, 14):
        for scope in _demo_scopes(demo_company):
            results = assert_paths_agree(day=TODAY - dt.timedelta(days=days_back), scope=scope)
            assert results["outcome"]["scored"] == len(results["snapshots"]) == len(results["health"]) > 0


def test_on_the_demo_company_from_a_clean_slate_both_paths_raise_the_same_flags(demo_company):
    # Without the seeded flags and current health, every firing raises a new flag (and maybe a risk play).
    RedFlag.objects.all().delete()
    AccountHealth.objects.all().delete()
    HealthScore.objects.filter(day=TODAY).delete()
    for scope in _demo_scopes(demo_company):
        results = assert_paths_agree(day=TODAY, scope=scope)
        assert results["outcome"]["raised"], "the demo company has accounts in trouble"


def test_on_the_demo_company_both_paths_notify_the_same_people(demo_company, django_capture_on_commit_callbacks):
    RedFlag.objects.all().delete()
    results = assert_paths_agree(
        day=TODAY, scope=_demo_scopes(demo_company)[0], notify=True, capture=django_capture_on_commit_callbacks
    )
    assert results["notifications"] and results["emails"]


# --- hand-built edge cases --------------------------------------------------------------------------------


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _at(days_back: int, hour: int = 10, minute: int = 0) -> dt.datetime:
    """A moment `days_back` days before TODAY, in the project's time zone."""
    return timezone.make_aware(dt.datetime.combine(TODAY - dt.timedelta(days=days_back), dt.time(hour, minute)))


def _usage(account: Account, *, recent: int, previous: int, last_day: dt.date = TODAY, used=8, owned=10) -> None:
    """35 days of usage ending on `last_day`: `recent` active users in its last week, `previous` before."""
    UsageDaily.objects.bulk_create(
        UsageDaily(
            account=account,
            day=last_day - dt.timedelta(days=back),
            active_users=recent if back < 7 else previous,
            key_events=10,
            licences_used=used,
            licences_owned=owned,
        )
        for back in range(35)
    )


def _scorecard(name: str, measures: dict[str, tuple], **fields) -> Scorecard:
    fields.setdefault("status", "active")
    if fields["status"] == "active":
        fields["activated_at"] = timezone.now()
    card = Scorecard.objects.create(name=name, **fields)
    Measure.objects.bulk_create(
        Measure(scorecard=card, kind=kind, weight=weight, zero_at=zero_at, full_at=full_at, validity_days=validity)
        for kind, (weight, zero_at, full_at, validity) in measures.items()
    )
    return card


def _rule(name: str) -> AlertRule:
    return AlertRule.objects.get(name=name)


def _flag(account: Account, rule: AlertRule, **fields) -> RedFlag:
    fields = {"status": FlagStatus.OPEN, "raised_at": _at(3), **fields}
    return RedFlag.objects.create(
        account=account,
        rule=rule,
        owner=account.owner,
        severity=rule.severity,
        reason="Raised by an earlier run.",
        values={"earlier": True},
        **fields,
    )


@pytest.fixture
def edge_cases(clock) -> dict[str, Account]:
    """One account per case the two paths could read differently, all in one id range."""
    manager, csm = ManagerFactory(), CSMFactory()
    pool = TeamFactory(name="Pool team")
    questions = list(CheckInQuestion.objects.order_by("pk"))
    not_engaged = _rule("Onboarding not engaged")  # fires on any onboarding account without touchpoints

    # Scorecards: high-touch adoption (tier and stage) beats high-touch (tier only), which beats the
    # success stage card (stage only), which beats the default; the retired tech-touch card is ignored,
    # and tech-touch onboarding has a card with no measures yet.
    _scorecard(
        "High-touch",
        {
            "usage_trend": (2, -50, 10, 7),
            "engagement_recency": (1.5, 45, 5, 60),
            "csm_pulse": (1, 1, 6, 30),
            "nps": (1, 0, 10, 90),
            "open_red_flags": (1, 3, 0, 1),
            "licence_utilisation": (0.75, 20, 90, 14),
        },
        tier="high",
        green_min=75,
        yellow_min=45,
    )
    _scorecard(
        "High-touch adoption",
        {
            "checkin_cadence": (2, 0, 100, 90),
            "checkin_concerns": (1, 3, 0, 30),
            "licence_utilisation": (1.25, 20, 90, 14),
            "stakeholder_coverage": (0.5, 0, 100, 3650),
            "support_burden": (1, 8, 0, 90),
            "usage_trend": (1, -40, 20, 10),
        },
        tier="high",
        stage="adoption",
        green_min=80,
        yellow_min=50,
    )
    _scorecard(
        "Success stage",
        {"engagement_recency": (1, 90, 0, 90), "nps": (2, 2, 9, 120)},
        stage="success",
        green_min=80,
        yellow_min=40,
    )
    _scorecard("Tech-touch (retired)", {"nps": (5, 0, 10, 30)}, tier="tech", status="draft")
    _scorecard("Tech-touch onboarding (no measures yet)", {}, tier="tech", stage="onboarding")

    cases: dict[str, Account] = {}

    def account(case: str, **fields) -> Account:
        # In its stage since its contract began (the factory's, 200 days ago), unless the case says otherwise:
        # the stage rules count from the stage's start.
        fields.setdefault("stage_entered_at", NOW - dt.timedelta(days=200))
        cases[case] = AccountFactory(name=case, owner=fields.pop("owner", csm), **fields)
        return cases[case]

    # The override in force beats the computed score; the expired one no longer does.
    overridden = account("override in force", tier="high", stage="adoption", arr=Decimal("300000"))
    _usage(overridden, recent=12, previous=30, used=9, owned=20)
    ContactFactory(account=overridden, deal_role=DealRole.CHAMPION)
    ContactFactory(account=overridden, deal_role=DealRole.DECISION_MAKER)
    for days_back, concern in ((50, False), (20, False), (6, True)):
        check_in = CheckIn.objects.create(account=overridden, held_at=_at(days_back), conducted_by=csm)
        CheckInAnswer.objects.bulk_create(
            CheckInAnswer(check_in=check_in, question=question, concern=concern and n < 2)
            for n, question in enumerate(questions)
        )
    SupportTicket.objects.create(account=overridden, external_id="T-1", severity="high", opened_at=_at(12))
    # Two calls logged for the same instant: the later recorded is the latest, and it raised no concern.
    same_instant = account("two calls at one instant", tier="high", stage="adoption")
    for concerns in (2, 0):
        check_in = CheckIn.objects.create(account=same_instant, held_at=_at(3), conducted_by=csm)
        CheckInAnswer.objects.bulk_create(
            CheckInAnswer(check_in=check_in, question=question, concern=n < concerns)
            for n, question in enumerate(questions)
        )
    ScoreOverride.objects.create(  # exactly the card's green line
        account=overridden,
        score=80,
        reason="Sponsor renewed verbally",
        set_by=manager,
        expires_at=NOW + dt.timedelta(days=10),
    )
    expired = account("override expired", tier="low", stage="success", renewal_date=TODAY + dt.timedelta(days=40))
    _usage(expired, recent=20, previous=20)
    ScoreOverride.objects.create(
        account=expired,
        score=95,
        reason="Back then it looked fine",
        set_by=manager,
        created_at=NOW - dt.timedelta(days=20),
        expires_at=NOW - dt.timedelta(hours=1),
    )

    # Last touched 18 days ago: 80 points of engagement, no NPS, so exactly the card's green line.
    on_the_line = account("on the green line", tier="low", stage="success")
    TimelineEntryFactory(account=on_the_line, kind=TimelineKind.TOUCHPOINT, channel="email", occurred_at=_at(18))

    # Flags in every state, on an onboarding account where "not engaged" fires again today.
    _flag(account("snoozed until today"), not_engaged, status=FlagStatus.SNOOZED, snoozed_until=_start_of(TODAY))
    _flag(
        account("snoozed until tomorrow"),
        not_engaged,
        status=FlagStatus.SNOOZED,
        snoozed_until=_start_of(TODAY + dt.timedelta(days=1)),
    )
    _flag(
        account("acknowledged"),
        not_engaged,
        status=FlagStatus.ACKNOWLEDGED,
        acknowledged_at=_at(2),
        acknowledged_by=csm,
    )
    _flag(
        account("resolved"),
        not_engaged,
        status=FlagStatus.RESOLVED,
        resolved_at=_at(1),
        resolution_note="Kick-off held.",
    )
    _flag(account("open since yesterday"), not_engaged, raised_at=_at(1))

    # Conditions gone: rules that no longer fire clear the open, acknowledged and snoozed flags they
    # raised (counted by the High-touch card's open red flags until today); a resolved flag stays resolved.
    gone = account("conditions gone", tier="high", stage="success", renewal_date=TODAY + dt.timedelta(days=300))
    _usage(gone, recent=30, previous=30, used=9, owned=10)
    TimelineEntryFactory(account=gone, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=_at(2))
    _flag(gone, _rule("NPS detractor"))
    _flag(gone, _rule("Champion departed"), status=FlagStatus.ACKNOWLEDGED, acknowledged_at=_at(2), acknowledged_by=csm)
    _flag(
        gone,
        _rule("Usage down 30% vs previous 4 weeks"),
        status=FlagStatus.SNOOZED,
        snoozed_until=_start_of(TODAY + dt.timedelta(days=1)),
    )
    _flag(gone, _rule("Spend rising 25%+"), status=FlagStatus.RESOLVED, resolved_at=_at(1), resolution_note="Fine.")

    # Who owns the new flags: nobody for a pooled account; churned accounts raise none and sink.
    account("pooled", coverage=Coverage.POOLED, owner=None, pool=pool, tier="high")
    churned = account("churned", stage="churned", renewal_date=TODAY + dt.timedelta(days=20))
    _usage(churned, recent=1, previous=40)

    # Stale and missing measures: usage older than its validity, an expired pulse, an old NPS.
    stale = account("stale signals", tier="high", stage="success", renewal_date=TODAY + dt.timedelta(days=75))
    _usage(stale, recent=5, previous=25, last_day=TODAY - dt.timedelta(days=10))
    PulseRating.objects.create(account=stale, rated_by=csm, rating=2, rated_at=_at(20), expires_at=_at(5))
    SurveyResponse.objects.create(account=stale, external_id="N-1", kind="nps", score=9, responded_at=_at(100))
    TimelineEntryFactory(account=stale, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=_at(45))
    fresh_pulse = account("pulse in force", tier="high", stage="success")
    PulseRating.objects.create(account=fresh_pulse, rated_by=csm, rating=5, rated_at=_at(3), expires_at=_at(-80))
    account("no signals at all", tier="tech", stage="adoption")  # the retired tech card: the default applies
    # A card without measures scores nothing: no score, no band, yet a renewal close by still fires.
    account("unscored", tier="tech", renewal_date=TODAY + dt.timedelta(days=10), arr=Decimal("25000"))
    # No contract dates, no licences and no users last month: onboarding counts from the stage's start.
    no_dates = account(
        "no dates",
        contract_start=None,
        renewal_date=None,
        stage_entered_at=NOW - dt.timedelta(days=35, hours=20),
        arr=Decimal("100000"),
    )
    _usage(no_dates, recent=2, previous=0, used=0, owned=0)

    # A score that fell: snapshots a day, a week and a month back make the deltas, score_drop and
    # "turned red today" fire.
    falling = account("falling", stage="adoption", renewal_date=TODAY + dt.timedelta(days=25))
    _usage(falling, recent=4, previous=40, used=3, owned=60)
    SurveyResponse.objects.create(
        account=falling, external_id="N-2", kind="nps", score=2, comment="Nobody answers.", responded_at=_at(5)
    )
    for days_back, score, band in ((1, 71, "green"), (7, 92.5, "green"), (30, 88.2, "green")):
        HealthScore.objects.create(
            account=falling, day=TODAY - dt.timedelta(days=days_back), score=score, band=band, measures={}
        )

    # Every other signal-driven rule on one account: tickets, champion, spend, a missed check-in.
    busy = account("busy", stage="adoption", tier="high")
    _usage(busy, recent=30, previous=28, used=18, owned=20)
    SupportTicket.objects.bulk_create(
        SupportTicket(account=busy, external_id=f"S-{n}", severity="urgent", opened_at=_at(n)) for n in range(1, 5)
    )
    SupportTicket.objects.create(
        account=busy, external_id="S-old", severity="low", opened_at=_at(20), closed_at=_at(15)
    )
    ContactFactory(account=busy, deal_role=DealRole.CHAMPION, departed=True, departed_at=TODAY - dt.timedelta(days=5))
    Invoice.objects.bulk_create(
        [
            Invoice(
                account=busy, external_id="I-1", issued_on=TODAY - dt.timedelta(days=150), amount=Decimal("1000.00")
            ),
            Invoice(
                account=busy, external_id="I-2", issued_on=TODAY - dt.timedelta(days=30), amount=Decimal("1333.33")
            ),
        ]
    )
    CheckIn.objects.create(account=busy, held_at=_at(40), conducted_by=csm)
    HealthScore.objects.create(account=busy, day=TODAY - dt.timedelta(days=7), score=50, band="yellow", measures={})

    # Onboarding for 45 days with one touchpoint and little usage: not engaged by day 30.
    onboarding = account("onboarding", tier="high", contract_start=TODAY - dt.timedelta(days=45))
    _usage(onboarding, recent=2, previous=1)
    TimelineEntryFactory(account=onboarding, kind=TimelineKind.TOUCHPOINT, channel="meeting", occurred_at=_at(44))
    return cases


def _scope_of(cases: dict[str, Account]) -> AccountScope:
    ids = sorted(account.pk for account in cases.values())
    return AccountScope.between(ids[0], ids[-1])


def _by_case(cases: dict[str, Account], rows: list[dict]) -> dict[str, list[dict]]:
    names = {account.pk: name for name, account in cases.items()}
    grouped: dict[str, list[dict]] = {name: [] for name in cases}
    for row in rows:
        grouped[names[row["account_id"]]].append(row)
    return grouped


@pytest.mark.parametrize("scope_by", ["id range", "ids"])
def test_overrides_flag_states_scorecards_and_stale_data_come_out_the_same_on_both_paths(edge_cases, scope_by):
    scope = _scope_of(edge_cases)
    if scope_by == "ids":
        # A recompute after new signals: scattered accounts; the others' flags must stay out of it.
        scope = AccountScope.of(account.pk for name, account in edge_cases.items() if name != "open since yesterday")
    results = assert_paths_agree(day=TODAY, scope=scope)

    # The cases really are what their names say, so the agreement above covers them.
    health = {name: rows[0] for name, rows in _by_case(edge_cases, results["health"]).items() if rows}
    snapshots = {name: rows[0] for name, rows in _by_case(edge_cases, results["snapshots"]).items() if rows}
    flags = _by_case(edge_cases, results["flags"])
    cards = dict(Scorecard.objects.values_list("name", "pk"))
    assert (health["override in force"]["overridden"], health["override in force"]["score"]) == (True, 80)
    assert health["override in force"]["band"] == "green" != health["override in force"]["computed_band"]
    assert not health["override expired"]["overridden"]
    assert health["override expired"]["score"] == health["override expired"]["computed_score"]
    assert {name: snapshots[name]["scorecard_id"] for name in ("override in force", "pooled", "stale signals")} == {
        "override in force": cards["High-touch adoption"],
        "pooled": cards["High-touch"],
        "stale signals": cards["High-touch"],  # tier beats stage
    }
    assert snapshots["override expired"]["scorecard_id"] == cards["Success stage"]
    assert (snapshots["on the green line"]["score"], snapshots["on the green line"]["band"]) == (80, "green")
    default = Scorecard.objects.active().get(tier="", stage="").pk
    assert snapshots["no signals at all"]["scorecard_id"] == default  # the tech card is retired
    stale = snapshots["stale signals"]["measures"]
    # Its usage ended 10 days ago while the feed went on for other accounts: a week without rows is a week
    # without use (the trend falls all the way), and last week's licence counts are missing.
    assert [stale[kind]["status"] for kind in ("usage_trend", "licence_utilisation", "csm_pulse", "nps")] == [
        "ok",
        "missing",
        "stale",
        "stale",
    ]
    assert stale["usage_trend"]["raw"] == -100.0
    assert snapshots["pulse in force"]["measures"]["csm_pulse"]["status"] == "ok"
    assert snapshots["two calls at one instant"]["measures"]["checkin_concerns"]["raw"] == 0
    assert snapshots["override in force"]["measures"]["checkin_concerns"]["raw"] == 2
    assert snapshots["no signals at all"]["measures"]["usage_trend"]["status"] == "missing"
    assert (health["falling"]["delta_7d"], health["falling"]["delta_30d"]) == (Decimal("-59.8"), Decimal("-55.5"))
    assert health["churned"]["priority"] < 0 and flags["churned"] == []
    assert (health["unscored"]["score"], health["unscored"]["band"], snapshots["unscored"]["measures"]) == (
        None,
        "",
        {},
    )
    renewal = f"Renewal in 10 days ({TODAY + dt.timedelta(days=10):%d %b %Y}) and there is no health score yet."
    # Its term is shorter than a year, so it is watched for a quarter of it, which the reason goes on to say.
    assert any(flag["reason"].startswith(renewal) for flag in flags["unscored"])
    assert snapshots["no dates"]["measures"]["usage_trend"]["status"] == "missing"

    def statuses(case: str) -> set[tuple[str, bool]]:
        # (status, raised or re-opened by this run) of the case's "Onboarding not engaged" flags
        rule = _rule("Onboarding not engaged").pk
        return {(flag["status"], flag["raised_by_this_run"]) for flag in flags[case] if flag["rule_id"] == rule}

    if scope_by == "id range":
        assert statuses("open since yesterday") == {("open", False)}
    assert statuses("snoozed until today") == {("open", True)}
    assert statuses("snoozed until tomorrow") == {("snoozed", False)}
    assert statuses("acknowledged") == {("acknowledged", False)}
    assert statuses("resolved") == {("resolved", False), ("open", True)}
    assert flags["pooled"] and all(flag["owner_id"] is None for flag in flags["pooled"])
    fired = {AlertRule.objects.get(pk=flag["rule_id"]).kind for flag in flags["falling"] + flags["busy"]}
    assert {"score_drop", "band_red", "nps_detractor", "ticket_spike", "champion_departed", "spend_rising"} <= fired
    assert {"missed_checkin", "usage_drop", "renewal_not_green"} <= fired
    assert "Health turned red today" in next(f["reason"] for f in flags["falling"] if f["values"].get("band"))

    # Rules that no longer fire cleared the flags they raised, saying so; a person's resolution stands.
    # The day's score still counts them (open as the day began); current health no longer does.
    on_the_day = f"Condition no longer holds on {TODAY.day} {TODAY:%b %Y}: "
    gone = {
        AlertRule.objects.get(pk=flag["rule_id"]).name: (
            flag["status"],
            flag["cleared_by_this_run"],
            flag["cleared_reason"],
        )
        for flag in flags["conditions gone"]
    }
    assert gone == {
        "NPS detractor": ("cleared", True, on_the_day + "NPS detractor"),
        "Champion departed": ("cleared", True, on_the_day + "Champion departed"),
        "Usage down 30% vs previous 4 weeks": ("cleared", True, on_the_day + "Usage down 30% vs previous 4 weeks"),
        "Spend rising 25%+": ("resolved", False, ""),
    }
    assert snapshots["conditions gone"]["measures"]["open_red_flags"]["raw"] == 3
    assert health["conditions gone"]["open_flags"] == 0


def _assert_second_run_changes_nothing(first: Path, second: Path, *, scope: AccountScope) -> None:
    before = _run(first, day=TODAY, scope=scope)
    stamps = list(HealthScore.objects.order_by("account_id", "day").values_list("account_id", "day", "computed_at"))
    after = _run(second, day=TODAY, scope=scope)
    assert after["outcome"]["raised"] == [] and after["timeline"] == [] and after["risk_plays"] == []
    runs = ("first run", "second run")
    assert after["snapshots"] == before["snapshots"], _first_difference(before["snapshots"], after["snapshots"], runs)
    assert after["health"] == before["health"], _first_difference(before["health"], after["health"], runs)
    snapshots = HealthScore.objects.order_by("account_id", "day").values_list("account_id", "day", "computed_at")
    assert list(snapshots) == stamps

    def settled(flags: list[dict]) -> list[dict]:
        return [{name: flag[name] for name in FLAG_FIELDS} for flag in flags]

    assert settled(after["flags"]) == settled(before["flags"])
    assert not any(flag["raised_by_this_run"] for flag in after["flags"])


RUN_ORDERS = pytest.mark.parametrize(
    "first, second",
    [(PYTHON, PYTHON), (DATABASE, DATABASE), (PYTHON, DATABASE), (DATABASE, PYTHON)],
    ids=["python twice", "database twice", "python then database", "database then python"],
)


@RUN_ORDERS
def test_a_second_run_the_same_day_changes_nothing(edge_cases, first, second):
    scope = AccountScope.of(account.pk for account in edge_cases.values())
    _assert_second_run_changes_nothing(first, second, scope=scope)


@RUN_ORDERS
def test_a_second_run_the_same_day_after_a_snoozed_flag_woke_changes_nothing(edge_cases, first, second):
    _assert_second_run_changes_nothing(first, second, scope=AccountScope.of([edge_cases["snoozed until today"].pk]))


@pytest.mark.parametrize("path", [PYTHON, DATABASE], ids=["python", "database"])
def test_cleared_flags_leave_the_next_days_score_and_a_rule_firing_again_raises_a_new_flag(edge_cases, path):
    gone = edge_cases["conditions gone"]
    scope = AccountScope.of([gone.pk])
    path(day=TODAY, scope=scope, scorecards=load_scorecards(), notify=False, raise_flags=True)
    # A detractor answers the next morning: the NPS rule fires again.
    tomorrow = TODAY + dt.timedelta(days=1)
    SurveyResponse.objects.create(
        account=gone,
        external_id="N-back",
        kind="nps",
        score=3,
        responded_at=_start_of(tomorrow) + dt.timedelta(hours=9),
    )
    outcome = path(day=tomorrow, scope=scope, scorecards=load_scorecards(), notify=False, raise_flags=True)
    nps = RedFlag.objects.filter(account=gone, rule=_rule("NPS detractor")).order_by("pk")
    assert [(flag.status, flag.pk in outcome.flags_raised) for flag in nps] == [("cleared", False), ("open", True)]
    measures = HealthScore.objects.get(account=gone, day=tomorrow).measures
    # Cleared yesterday, and the new flag was raised during the day scored: neither counts.
    assert measures["open_red_flags"]["raw"] == 0
    assert AccountHealth.objects.get(account=gone).open_flags == 1


def test_a_back_fill_of_an_earlier_day_clears_only_flags_raised_by_then_on_both_paths(edge_cases):
    gone = edge_cases["conditions gone"]
    # The champion flag is raised (for the first time) after the day back-filled.
    RedFlag.objects.filter(account=gone, rule=_rule("Champion departed")).update(raised_at=_at(1))
    scope = AccountScope.of([gone.pk])
    results = assert_paths_agree(day=TODAY - dt.timedelta(days=2), scope=scope)
    statuses = {AlertRule.objects.get(pk=f["rule_id"]).name: f["status"] for f in results["flags"]}
    assert statuses["Champion departed"] == "acknowledged"
    assert statuses["NPS detractor"] == "cleared"


def test_both_paths_say_1_day_and_2_days_in_the_same_words(clock):
    # Unscored (a tech-touch card without measures), so never green: the renewal rule fires however close.
    _scorecard("Tech-touch (no measures yet)", {}, tier="tech")
    AlertRule.objects.create(name="Quiet for a day", kind="no_touchpoint", severity="low", params={"days": 1})
    cases: dict[str, Account] = {}
    for days in (0, 1, 2):
        account = AccountFactory(
            name=f"{days} away",
            tier="tech",
            stage="success",
            stage_entered_at=NOW - dt.timedelta(days=200),
            contract_start=TODAY - dt.timedelta(days=400),  # a long term: the full 90-day window, said no more
            renewal_date=TODAY + dt.timedelta(days=days),
        )
        Account.objects.filter(pk=account.pk).update(created_at=account.stage_entered_at)
        ContactFactory(
            account=account, deal_role=DealRole.CHAMPION, departed=True, departed_at=TODAY - dt.timedelta(days=days)
        )
        TimelineEntryFactory(account=account, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=_at(days))
        cases[account.name] = account
    results = assert_paths_agree(day=TODAY, scope=_scope_of(cases))

    reasons = {
        (name, AlertRule.objects.get(pk=flag["rule_id"]).kind): flag["reason"]
        for name, flags in _by_case(cases, results["flags"]).items()
        for flag in flags
    }
    for days, said in ((0, "0 days"), (1, "1 day"), (2, "2 days")):
        renewal, departed = TODAY + dt.timedelta(days=days), TODAY - dt.timedelta(days=days)
        name = f"{days} away"
        assert (
            reasons[name, "renewal_not_green"]
            == f"Renewal in {said} ({renewal:%d %b %Y}) and there is no health score yet."
        )
        assert reasons[name, "champion_departed"] == (
            f"Champion departed on {departed:%d %b %Y} ({said} ago); no champion is known now."
        )
    assert ("0 away", "no_touchpoint") not in reasons
    for days, said in ((1, "1 day"), (2, "2 days")):
        last = TODAY - dt.timedelta(days=days)
        assert (
            reasons[f"{days} away", "no_touchpoint"] == f"No touchpoint for {said} (last on {last:%d %b %Y}; limit 1)."
        )


# --- west of UTC ------------------------------------------------------------------------------------------

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def test_west_of_utc_signals_late_in_the_evening_count_on_their_local_day_on_both_paths(settings):
    settings.TIME_ZONE = "America/Los_Angeles"
    # 23:45 on 30 June in Los Angeles is already 1 July in UTC.
    now = dt.datetime(2025, 6, 30, 23, 45, tzinfo=LOS_ANGELES)

    def late(days_back: int) -> dt.datetime:
        """23:30 local time, `days_back` days before today: the next day in UTC."""
        return dt.datetime.combine(now.date() - dt.timedelta(days=days_back), dt.time(23, 30), tzinfo=LOS_ANGELES)

    with time_machine.travel(now, tick=True):
        today = timezone.localdate()
        assert today == dt.date(2025, 6, 30)
        # 30 local days since the last touchpoint (29 by the UTC date): the high-touch limit of 30 fires.
        quiet = AccountFactory(name="quiet", tier="high", stage="success", stage_entered_at=late(100))
        TimelineEntryFactory(account=quiet, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=late(30))
        # A touchpoint tonight, after midnight UTC, is today's.
        tonight = AccountFactory(name="tonight", tier="high", stage="success", stage_entered_at=late(100))
        TimelineEntryFactory(account=tonight, kind=TimelineKind.TOUCHPOINT, channel="call", occurred_at=late(0))
        # 15 local days since the last check-in (14 by the UTC date): a 14-day cadence is missed.
        overdue = AccountFactory(name="overdue", tier="low", stage="adoption", stage_entered_at=late(60))
        CheckIn.objects.create(account=overdue, held_at=late(15))
        # In adoption since 23:30 local 15 days ago and no check-in yet: the 14-day cadence is missed too.
        new_in_adoption = AccountFactory(
            name="new in adoption", tier="low", stage="adoption", stage_entered_at=late(15)
        )
        # A detractor 31 local days ago (30 by the UTC date) is older than the rule's 30 days.
        detractor = AccountFactory(name="detractor", tier="high", stage="success", stage_entered_at=late(30))
        SurveyResponse.objects.create(account=detractor, external_id="N-1", kind="nps", score=3, responded_at=late(31))
        TimelineEntryFactory(account=detractor, kind=TimelineKind.TOUCHPOINT, channel="chat", occurred_at=late(2))
        PulseRating.objects.create(account=detractor, rating=4, rated_at=late(30), expires_at=late(-60))
        _usage(detractor, recent=10, previous=10, last_day=today)
        cases = {account.name: account for account in (quiet, tonight, overdue, new_in_adoption, detractor)}
        # In Baton since they entered their stages: the rules count from then.
        for account in cases.values():
            Account.objects.filter(pk=account.pk).update(created_at=account.stage_entered_at)
        results = assert_paths_agree(day=today, scope=_scope_of(cases))

    snapshots = {name: rows[0] for name, rows in _by_case(cases, results["snapshots"]).items()}
    assert snapshots["quiet"]["measures"]["engagement_recency"]["raw"] == 30
    assert snapshots["tonight"]["measures"]["engagement_recency"]["raw"] == 0
    assert snapshots["detractor"]["measures"]["survey_sentiment"]["status"] == "ok"
    fired = {
        (name, AlertRule.objects.get(pk=flag["rule_id"]).kind)
        for name, flags in _by_case(cases, results["flags"]).items()
        for flag in flags
    }
    assert {("quiet", "no_touchpoint"), ("overdue", "missed_checkin"), ("new in adoption", "missed_checkin")} <= fired
    assert ("tonight", "no_touchpoint") not in fired and ("detractor", "nps_detractor") not in fired
