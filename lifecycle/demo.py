"""Lifecycle's parts of the demo company (imported by accounts.demo's seeder registry).

The stage history is registered by `lifecycle.stages.demo`, imported here so the
registry's autodiscovery (which imports each app's `demo` module) finds it.

Signals come in two layers. The last 90 days follow each account's story
(`lifecycle.signals.demo`): what the cockpit, flags and health pages show today.
At demo sizes the two years before that are written here from the churn model's
drivers (accounts/demo/outcomes.py, docs/demo-churn-model.md): each past term's
usage, tickets, surveys and check-in calls show the risk that decided its outcome,
so a backtest that scores an account 30, 60 or 90 days before a renewal or churn
finds the evidence in the signals stored by then. A churned account's signals stop
on the day it left. Benchmark-sized companies keep 90 days and no history.

At demo sizes the build ends with a backtest of the default scorecard over those two
years (30, 60 and 90 days), beside the version it replaced, so its page shows figures from
the first `make run`. Each module an account holds gets per-product usage on one day a week
of its active days once the account adopted it (`seed_product_usage`).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass

from accounts.demo import DemoBatch, DemoCompany, Seeder, demo_seeder, register_seeder
from accounts.demo import outcomes as demo_outcomes
from accounts.demo.core import RiskDrivers
from accounts.models import Account, Tier
from lifecycle.health.backtest.services import backtest_request, backtest_run
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import health_recompute_scope
from lifecycle.health.scoring import load_scorecards
from lifecycle.models import Backtest, CheckInQuestion, Scorecard, SupportTicket, SurveyResponse, UsageDaily
from lifecycle.signals import demo as signals
from lifecycle.stages import demo as stages_demo  # noqa: F401  (registers the stage history)

# Days back for which the demo scores every account: daily for the last week
# (7-day trend), then weekly to 13 weeks (the 90-day chart).
HISTORY_DAYS_BACK = sorted({*range(0, 8), 30, *range(14, 92, 7)}, reverse=True)
# Benchmark-sized companies skip the history: the benchmark times the recompute itself.
HISTORY_MAX_ACCOUNTS = 5000

STORY_DAYS = 90
# Two years of outcomes and the 120 days before the oldest (a 90-day backtest horizon and the
# 35 days of usage its trend reads).
SIGNAL_HISTORY_DAYS = 730 + 120
# How each driver shows in the signals of its term (drivers are on a standard scale, higher is worse).
USAGE_LEVEL_PER_SD = 0.08  # the term's share of licences in use falls by this much per unit of `usage`
USAGE_DROP = (0.10, 0.25, -0.2, 0.8)  # fall before the outcome: intercept, per unit, least, most
USAGE_DROP_STARTS = (50, 150)  # days before the outcome the fall starts
USAGE_DROP_DAYS = (20, 45)  # how long it takes
TICKET_RATE_PER_SD = 0.4  # tickets per day scale by exp(this x `support`)
TICKET_LATE_DAYS = 120  # in these last days of a term a support load builds up further
TICKET_OPEN_PER_SD = 0.6  # time to close scales by exp(this x `support`)
NPS_MEAN, NPS_PER_SD, NPS_SD = 8.3, 2.0, 1.4
NPS_EVERY_DAYS, NPS_ANSWER_SHARE = 91, 0.7
CHECKIN_CONCERN = (0.10, 0.09, 0.02, 0.6)  # chance each question raises a concern, likewise


def _score_history(company: DemoCompany, batch: DemoBatch) -> None:
    """Score the batch's accounts on past days too, so trends and deltas have history to show."""
    if company.size > HISTORY_MAX_ACCOUNTS:
        return
    scorecards = load_scorecards()
    scope = AccountScope.of(account.pk for account in batch.accounts)
    for days_back in HISTORY_DAYS_BACK:
        day = company.today - dt.timedelta(days=days_back)
        health_recompute_scope(day=day, scope=scope, scorecards=scorecards, notify=False, raise_flags=days_back == 0)


@demo_seeder("signals", order=40)
def seed_signals(company: DemoCompany, batch: DemoBatch) -> None:
    """Usage, tickets, surveys, invoices, check-ins and pulse for the batch's accounts.

    90 days of stories for every account still a customer; at demo sizes, two years of
    history before them from the churn model, and a churned account's whole story up to
    the day it left.
    """
    term_ends = demo_outcomes.term_ends(company, batch)
    churned_on = {
        account.pk: term.occurred_on for account in batch.accounts for term in term_ends[account.pk] if term.churned
    }
    profiles: dict[int, signals.UsageProfile] = {}
    story_accounts = batch.accounts
    if company.signal_history:
        history = _SignalHistory(company, batch.rng("signal history"))
        for account in batch.accounts:
            profiles[account.pk] = history.add(account, batch, churned_on.get(account.pk))
        company.rows.update(history.write())
        story_accounts = [account for account in batch.accounts if account.pk not in churned_on]
    counts = signals.seed_demo_signals(
        rng=batch.rng("signals"),
        accounts=[(account.pk, account.tier, account.stage, account.contract_start) for account in story_accounts],
        today=company.today,
        days=STORY_DAYS,
        profiles=profiles,
        usage_until=churned_on,
    )
    company.rows.update(counts)


# Per-product usage: each module an account holds is used on one day a week of the days the account
# was active, if the account adopted it. Core is always adopted; another module is adopted while the
# day's share of licences in use (the usage driver's and the story's mark) is above the module's draw
# for that account, so accounts that use little of what they bought use few of its modules, and a
# declining account drops modules as it declines. No driver of its own: breadth observes `usage`.
PRODUCT_USAGE_SQL = """
    INSERT INTO {product_usage} (account_id, product_id, day, active_users, key_events, minutes)
    SELECT u.account_id, e.product_id, u.day, MAX({at_least_one}), MAX(u.key_events * {share} / 100), NULL
    FROM {usage} AS u
    JOIN {entitlement} AS e ON e.account_id = u.account_id AND e.starts_on <= u.day
         AND (e.ends_on IS NULL OR e.ends_on >= u.day)
    JOIN {product} AS p ON p.id = e.product_id
    WHERE u.account_id BETWEEN %s AND %s AND u.day >= %s AND u.active_users > 0 AND u.licences_owned > 0
      AND {weekday} = (u.account_id + e.product_id) %% 7
      AND (p.key = 'core'
           OR (u.account_id * 7919 + e.product_id * 104729) %% 100 < 100 * u.licences_used / u.licences_owned)
    GROUP BY u.account_id, e.product_id, u.day
    ON CONFLICT DO NOTHING
"""
# The share of the account's active users that use a module (30-89%), fixed per account and module.
_MODULE_SHARE = "(30 + (u.account_id * 13 + e.product_id * 29) %% 60)"
# Benchmark-sized companies get the weeks adoption breadth reads, not the whole story.
PRODUCT_USAGE_BENCH_DAYS = 35


@demo_seeder("product usage", order=45)
def seed_product_usage(company: DemoCompany, batch: DemoBatch) -> None:
    """The batch's per-product usage, from its usage rows and entitlements, in one INSERT ... SELECT."""
    from django.db import connection

    from accounts.models import Entitlement, Product
    from lifecycle.models import ProductUsageDaily

    if not batch.accounts:
        return
    ids = [account.pk for account in batch.accounts]
    users = f"u.active_users * {_MODULE_SHARE} / 100"
    if connection.vendor == "postgresql":
        weekday, at_least_one = "EXTRACT(DOW FROM u.day)::integer", f"GREATEST(1, {users})"
    else:
        weekday, at_least_one = "CAST(strftime('%%w', u.day) AS integer)", f"MAX(1, {users})"
    sql = PRODUCT_USAGE_SQL.format(
        product_usage=connection.ops.quote_name(ProductUsageDaily._meta.db_table),
        usage=connection.ops.quote_name(UsageDaily._meta.db_table),
        entitlement=connection.ops.quote_name(Entitlement._meta.db_table),
        product=connection.ops.quote_name(Product._meta.db_table),
        weekday=weekday,
        at_least_one=at_least_one,
        share=_MODULE_SHARE,
    )
    first_day = dt.date.min if company.signal_history else company.today - dt.timedelta(days=PRODUCT_USAGE_BENCH_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(sql, [min(ids), max(ids), first_day])
        company.rows[ProductUsageDaily._meta.label] += cursor.rowcount


demo_seeder("health history", order=60)(_score_history)


def _forget_backtests(company: DemoCompany) -> None:
    """A new demo company starts without backtests: any left were of outcomes that no longer exist."""
    Backtest.objects.all().delete()


def _backtest_default_scorecard(company: DemoCompany) -> None:
    """At demo sizes, the default scorecard backtested over the last two years, so the page opens on real figures."""
    if not company.signal_history:
        return
    scorecard = Scorecard.objects.active().filter(tier="", stage="").order_by("pk").first()
    if scorecard is None:
        return
    # Beside the version it replaced, when there is one: the page then shows what the change did.
    previous = (
        Scorecard.objects.filter(lineage=scorecard.lineage, version__lt=scorecard.version).order_by("-version").first()
    )
    backtest = backtest_request(
        requested_by=company.users.get("admin"),
        scorecard_id=scorecard.pk,
        baseline_id=previous.pk if previous else None,
        first_day=company.today - dt.timedelta(days=demo_outcomes.MODELLED_DAYS),
        last_day=company.today,
        queue=False,
    )
    backtest_run(backtest_id=backtest.pk)


register_seeder(
    Seeder(name="backtest", order=70, setup=_forget_backtests, finish=_backtest_default_scorecard),
)


@dataclass(frozen=True)
class _Stretch:
    """Days of an account's history that belong to one term: [start, end), and the term's drivers (None: neutral)."""

    start: dt.date
    end: dt.date
    drivers: RiskDrivers | None


def _between(value: float, least: float, most: float) -> float:
    return max(least, min(most, value))


def _poisson(rng: random.Random, expected: float) -> int:
    """Knuth's method; the expectations here are small (a few tickets a term)."""
    limit, count, product = math.exp(-expected), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


class _SignalHistory:
    """Collects the history rows of a batch's accounts, then writes them set-based."""

    def __init__(self, company: DemoCompany, rng: random.Random) -> None:
        self.company, self.rng = company, rng
        self.today = company.today
        self.now = company.now
        self.questions = list(CheckInQuestion.objects.filter(active=True).values_list("pk", "key"))
        self.usage: list[Iterator[tuple]] = []
        self.tickets: list[tuple] = []
        self.surveys: list[tuple] = []
        self.calls: list[tuple] = []

    def add(self, account: Account, batch: DemoBatch, churned_on: dt.date | None) -> signals.UsageProfile:
        """Plan the account's history; return its usage profile, which the 90-day story carries on."""
        rng, plan = self.rng, batch.plans[account.pk]
        profile = signals.usage_profile(rng, account.tier)
        assert account.contract_start is not None  # the planner always sets it
        start = max(plan.customer_since, self.today - dt.timedelta(days=SIGNAL_HISTORY_DAYS))
        story_from = self.today - dt.timedelta(days=STORY_DAYS)
        # Usage runs up to where the story's starts (it starts no earlier than the current term);
        # the other signals up to the story's 90 days. A churned account's all end when it left.
        usage_end = churned_on or max(story_from, account.contract_start)
        other_end = churned_on or story_from
        stretches, day = [], start
        for term in plan.term_ends or []:
            if term.occurred_on > day:
                stretches.append(_Stretch(day, term.occurred_on, term.drivers))
                day = term.occurred_on
        stretches.append(_Stretch(day, max(day, usage_end, other_end), None))
        self.usage.append(self._usage(account.pk, profile, stretches, usage_end))
        for stretch in stretches:
            end = min(stretch.end, other_end)
            if end > stretch.start:
                self._tickets(account.pk, account.tier, stretch, end)
                self._surveys(account.pk, stretch, end)
                if account.tier != Tier.TECH_TOUCH and stretch.drivers is not None:
                    self._calls(account.pk, account.tier, stretch, end)
        return profile

    def _usage(
        self, account_id: int, profile: signals.UsageProfile, stretches: list[_Stretch], until: dt.date
    ) -> Iterator[tuple]:
        rng = self.rng
        owned, base, events_per_user = profile
        random_ = rng.random
        for stretch in stretches:
            level, drop, drop_start, drop_days = base, 0.0, stretch.end, 1
            if stretch.drivers is not None:
                weak = stretch.drivers.usage
                level = _between(base - USAGE_LEVEL_PER_SD * weak, 0.12, 0.95)
                intercept, per_sd, least, most = USAGE_DROP
                drop = _between(intercept + per_sd * weak + rng.gauss(0, 0.05), least, most)
                drop_start = stretch.end - dt.timedelta(days=rng.randint(*USAGE_DROP_STARTS))
                drop_days = rng.randint(*USAGE_DROP_DAYS)
            day = stretch.start
            while day < min(stretch.end, until):
                fallen = _between((day - drop_start).days / drop_days, 0.0, 1.0)
                today_level = level * (1 - drop * fallen)
                noise = 0.85 + 0.3 * random_()
                active = int(owned * today_level * signals.WEEKDAY_FACTOR[day.weekday()] * noise + 0.5)
                used = min(owned, int(owned * min(1.0, today_level * 1.15) + 0.5))
                yield (account_id, day.isoformat(), active, int(active * events_per_user * noise), used, owned)
                day += dt.timedelta(days=1)

    def _at(self, day: dt.date, hours: tuple[int, int] = (8, 18)) -> dt.datetime:
        when = dt.datetime.combine(day, dt.time(self.rng.randint(*hours), self.rng.randint(0, 59)), tzinfo=dt.UTC)
        return min(when, self.now - dt.timedelta(minutes=5))

    def _tickets(self, account_id: int, tier: str, stretch: _Stretch, end: dt.date) -> None:
        rng = self.rng
        load = stretch.drivers.support if stretch.drivers else 0.0
        per_day = signals.TICKETS_PER_90_DAYS.get(tier, 2) / 90 * math.exp(TICKET_RATE_PER_SD * load)
        late_from = max(stretch.start, stretch.end - dt.timedelta(days=TICKET_LATE_DAYS))
        opened: list[dt.date] = []
        for low, high, rate in (
            (stretch.start, late_from, per_day),
            (late_from, stretch.end, per_day * (1 + 0.5 * max(load, 0.0))),
        ):
            high = min(high, end)
            if high > low:
                span = (high - low).days
                opened += [low + dt.timedelta(days=rng.randrange(span)) for _ in range(_poisson(rng, rate * span))]
        for day in sorted(opened):
            opened_at = self._at(day, (7, 18))
            roll = rng.random() + 0.08 * load
            severity = "low" if roll < 0.35 else "medium" if roll < 0.75 else "high" if roll < 0.95 else "urgent"
            hours = rng.uniform(1, 240) * math.exp(TICKET_OPEN_PER_SD * load)
            if rng.random() < _between(0.05 + 0.05 * load, 0.01, 0.4):
                hours = rng.uniform(20, 80) * 24  # stuck: waiting on engineering
            closed_at = opened_at + dt.timedelta(hours=hours)
            number = len(self.tickets) + 1
            ticket = (
                account_id,
                f"DEMO-T{account_id}-H{number}",
                rng.choice(signals.TICKET_SUBJECTS),
                severity,
                opened_at,
                closed_at if closed_at < self.now else None,
            )
            self.tickets.append(ticket)
            if ticket[5] is not None and rng.random() < 0.4:
                severe = severity in ("high", "urgent")
                score = rng.choice([1, 2, 3, 3, 4] if severe else [3, 4, 4, 5, 5, 5])
                comment = "" if score >= 4 else "Took too long to resolve."
                self.surveys.append((account_id, f"DEMO-C{account_id}-H{number}", "csat", score, comment, ticket[5]))

    def _surveys(self, account_id: int, stretch: _Stretch, end: dt.date) -> None:
        rng = self.rng
        poor = stretch.drivers.surveys if stretch.drivers else 0.0
        quarter = stretch.start
        while quarter < end:
            span = min((end - quarter).days, NPS_EVERY_DAYS)
            if rng.random() < NPS_ANSWER_SHARE * span / NPS_EVERY_DAYS:
                score = int(_between(round(NPS_MEAN - NPS_PER_SD * poor + rng.gauss(0, NPS_SD)), 0, 10))
                comments = (
                    signals.PROMOTER_COMMENTS
                    if score >= 9
                    else signals.PASSIVE_COMMENTS
                    if score >= 7
                    else signals.DETRACTOR_COMMENTS
                )
                responded = self._at(quarter + dt.timedelta(days=rng.randrange(span)), (8, 20))
                number = len(self.surveys) + 1
                self.surveys.append(
                    (account_id, f"DEMO-N{account_id}-H{number}", "nps", score, rng.choice(comments), responded)
                )
            quarter += dt.timedelta(days=NPS_EVERY_DAYS)

    def _calls(self, account_id: int, tier: str, stretch: _Stretch, end: dt.date) -> None:
        """Check-in calls in the months before the outcome: some skipped, concerns on some of those held."""
        rng = self.rng
        assert stretch.drivers is not None
        missed = stretch.drivers.checkins
        held_share = demo_outcomes.calls_kept_share(stretch.drivers)
        concern_share = _between(CHECKIN_CONCERN[0] + CHECKIN_CONCERN[1] * missed, *CHECKIN_CONCERN[2:])
        every = signals.CHECKIN_EVERY.get(tier, 14)
        day = max(stretch.start, stretch.end - dt.timedelta(days=demo_outcomes.CALLS_KEPT_DAYS)) + dt.timedelta(
            days=rng.randint(0, every - 1)
        )
        while day < end:
            if rng.random() < held_share:
                answers = []
                for question_id, key in self.questions:
                    concern = rng.random() < concern_share
                    comment = rng.choice(signals.CONCERN_COMMENTS.get(key, ["Raised on the call."])) if concern else ""
                    answers.append((question_id, concern, comment))
                self.calls.append((account_id, self._at(day, (9, 16)), answers, signals.checkin_body(answers)))
            day += dt.timedelta(days=every + rng.randint(-2, 3))

    def write(self) -> dict[str, int]:
        usage = (row for rows in self.usage for row in rows)
        columns = ("account_id", "day", "active_users", "key_events", "licences_used", "licences_owned")
        ticket_columns = ("account_id", "external_id", "subject", "severity", "opened_at", "closed_at")
        survey_columns = ("account_id", "external_id", "kind", "score", "comment", "responded_at")
        counts = {
            UsageDaily._meta.label: signals.write_rows(UsageDaily, columns, usage, line=signals.usage_line),
            SupportTicket._meta.label: signals.write_rows(SupportTicket, ticket_columns, self.tickets),
            SurveyResponse._meta.label: signals.write_rows(SurveyResponse, survey_columns, self.surveys),
        }
        signals.write_checkins(self.calls)
        counts["lifecycle.CheckIn"] = len(self.calls)
        return counts
