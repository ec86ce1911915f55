"""Contract history: each account's terms as dated rows, and the renewals, downgrades and churn behind them.

Long-standing customers renewed before (their story starts whole years before the current
term, see AccountPlanner._dates): each past term ends in a renewal, mostly flat or expanding.
Some accounts at risk or churned were downgraded during their current term; churned accounts
churned at their renewal date. The ARR walks back from today's: the last terms row is the
account as it stands, so `account_terms_as_of` and the outcomes tell one story a backtest can use.

The churn model (docs/demo-churn-model.md). Every past term whose outcome falls in the last
`MODELLED_DAYS` carries five latent risk drivers, drawn here and read by the parts that write
the term's signals (lifecycle/demo.py) and its champion's departure (people.py):

- `usage`: weak usage (lower licence use, falling active users before the renewal),
- `surveys`: poor survey answers (NPS),
- `support`: support load (more tickets, more severe, open for longer),
- `checkins`: missed check-in calls, and concerns raised on those held,
- `champion_lost`: the champion left during the term.

The continuous drivers are standard normal and share a common factor (each pair correlates
at `SHARED_FACTOR` squared, about 0.16): accounts in trouble tend to be in trouble on several
fronts, but not all at once. The champion is lost when a sixth such draw exceeds
`CHAMPION_LOST_ABOVE` (about 15% of terms). With a noise term e ~ N(0, `NOISE_SD`),

    P(churn) = logistic(B0 + sum(COEFFICIENTS[d] * driver_d) + CHAMPION_COEFFICIENT * champion_lost + e)

Each driver alone separates churn from renewal with an AUC of about 0.6-0.7 (the measures that
observe it, with their own noise, less); all of them together about 0.8. No single one tells the
story. B0 puts the model's churn rate near the demo's (about one outcome in five).

The planner decides which accounts are churned today (stages, timeline and transitions follow
from it), so the model does not pick the outcome; it picks the drivers given the outcome:
drivers are drawn from their prior and kept with probability P(churn | drivers) for a churn,
1 - P(churn | drivers) for a renewal (rejection sampling). The drivers of each outcome are
thus a draw from the model's distribution conditioned on that outcome, and the joint
distribution of drivers and outcomes is the model's. Benchmark-sized companies write 90 days of
signals and draw no drivers.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal

from accounts.models import (
    Account,
    AccountTerms,
    ChurnReason,
    Outcome,
    OutcomeKind,
    OutcomeSource,
    Stage,
    TermsSource,
    TimelineEntry,
    TimelineKind,
)
from accounts.outcomes.services import timeline_summary

from .book import add_months, at_work_hours
from .core import AccountPlan, DemoBatch, DemoCompany, RiskDrivers, TermEnd, demo_seeder

# How a past renewal moved the ARR: (share, lowest and highest factor after / before).
RENEWAL_MOVES = [(55, 1.05, 1.30), (35, 1.0, 1.0), (10, 0.80, 0.95)]
DOWNGRADE_SHARE: dict[str, float] = {Stage.AT_RISK: 0.25, Stage.CHURNED: 0.2}
CHURN_REASONS = {
    ChurnReason.BUDGET: 18,
    ChurnReason.POOR_ADOPTION: 18,
    ChurnReason.COMPETITOR: 14,
    ChurnReason.CHAMPION_LEFT: 12,
    ChurnReason.PRICE: 10,
    ChurnReason.PRODUCT_FIT: 10,
    ChurnReason.ACQUIRED: 6,
    ChurnReason.SUPPORT: 5,
    ChurnReason.BUSINESS_CLOSED: 4,
    ChurnReason.OTHER: 3,
}
DOWNGRADE_REASONS = [ChurnReason.BUDGET, ChurnReason.POOR_ADOPTION, ChurnReason.PRICE]

# --- The churn model (see the module docstring and docs/demo-churn-model.md) ---
# Outcomes in the last two years get drivers: the backtest window.
MODELLED_DAYS = 730
B0 = -2.0
COEFFICIENTS = {"usage": 0.6, "surveys": 0.55, "support": 0.45, "checkins": 0.45}
CHAMPION_COEFFICIENT = 1.0
NOISE_SD = 0.7
SHARED_FACTOR = 0.45
CHAMPION_LOST_ABOVE = 1.05
# How often the calls before an outcome are kept: intercept, per unit of `checkins`, least, most.
# The check-in calls (lifecycle/demo.py) and the other touchpoints (history.py) both follow it.
CALLS_KEPT = (0.88, 0.22, 0.1, 0.98)
CALLS_KEPT_DAYS = 150  # the months before the outcome in which calls are skipped
# A churn's recorded reason leans towards its worst driver.
REASON_BY_DRIVER = {
    "usage": ChurnReason.POOR_ADOPTION,
    "surveys": ChurnReason.PRODUCT_FIT,
    "support": ChurnReason.SUPPORT,
    "checkins": ChurnReason.POOR_ADOPTION,
}
# Rejection sampling accepts a churn about one draw in five; this bound is never reached in practice.
MAX_DRAWS = 500


def churn_logit(drivers: RiskDrivers) -> float:
    """The model's log-odds of churn for these drivers, before the noise term."""
    return (
        B0
        + sum(weight * getattr(drivers, name) for name, weight in COEFFICIENTS.items())
        + CHAMPION_COEFFICIENT * drivers.champion_lost
    )


def _prior_drivers(rng: random.Random) -> RiskDrivers:
    shared, own = rng.gauss(0, 1), math.sqrt(1 - SHARED_FACTOR**2)
    draw = {name: SHARED_FACTOR * shared + own * rng.gauss(0, 1) for name in COEFFICIENTS}
    champion = SHARED_FACTOR * shared + own * rng.gauss(0, 1) > CHAMPION_LOST_ABOVE
    return RiskDrivers(champion_lost=champion, **draw)


def draw_drivers(rng: random.Random, *, churned: bool) -> RiskDrivers:
    """Drivers from the model's distribution given the outcome (rejection sampling)."""
    for _ in range(MAX_DRAWS):
        drivers = _prior_drivers(rng)
        churn = 1 / (1 + math.exp(-(churn_logit(drivers) + rng.gauss(0, NOISE_SD))))
        if rng.random() < (churn if churned else 1 - churn):
            return drivers
    return drivers


def calls_kept_share(drivers: RiskDrivers | None) -> float:
    """The share of a term's calls that happen in the months before its outcome."""
    intercept, per_sd, least, most = CALLS_KEPT
    missed = drivers.checkins if drivers else 0.0
    return max(least, min(most, intercept - per_sd * missed))


def churn_reason(rng: random.Random, drivers: RiskDrivers | None) -> str:
    """Why the customer says they left: the worst driver's reason about half the time, else the usual mix."""
    if drivers is not None and rng.random() < 0.5:
        if drivers.champion_lost:
            return ChurnReason.CHAMPION_LEFT
        return REASON_BY_DRIVER[max(COEFFICIENTS, key=lambda name: getattr(drivers, name))]
    return rng.choices(list(CHURN_REASONS), weights=list(CHURN_REASONS.values()))[0]


def term_ends(company: DemoCompany, batch: DemoBatch) -> dict[int, list[TermEnd]]:
    """Every account's past terms and how each ended, drawn once per batch and kept on the plans.

    The first part that needs them (contacts, for the champions who leave) draws them; later
    parts read the same ones, so the outcomes, the departures and the signals agree.
    """
    if any(batch.plans[account.pk].term_ends is None for account in batch.accounts):
        rng = batch.rng("churn model")
        modelled_from = company.today - dt.timedelta(days=MODELLED_DAYS)
        for account in batch.accounts:
            plan = batch.plans[account.pk]
            plan.term_ends = [
                TermEnd(
                    term_start=start,
                    term_end=end,
                    occurred_on=day,
                    churned=churned,
                    drivers=draw_drivers(rng, churned=churned)
                    if company.signal_history and day >= modelled_from
                    else None,
                )
                for start, end, day, churned in _past_terms(rng, company, account, plan)
            ]
    return {account.pk: batch.plans[account.pk].term_ends or [] for account in batch.accounts}


def _past_terms(
    rng: random.Random, company: DemoCompany, account: Account, plan: AccountPlan
) -> list[tuple[dt.date, dt.date, dt.date, bool]]:
    """(start, end, day of the outcome, churned) for each term that has ended, oldest first.

    Yearly terms renewed up to three weeks early, back to when the account became a customer;
    a churned account's last term ended in churn at its renewal date.
    """
    start, renewal = account.contract_start, account.renewal_date
    assert start is not None and renewal is not None  # the planner always sets both
    terms = []
    end = start
    while add_months(end, -12) >= plan.customer_since:
        begin = add_months(end, -12)
        terms.append((begin, end, end - dt.timedelta(days=rng.randint(0, 21)), False))
        end = begin
    terms.reverse()
    if account.stage == Stage.CHURNED:
        terms.append((start, renewal, min(plan.path[-1][1].date(), company.today), True))
    return terms


@demo_seeder("renewals and churn", order=35)
def seed_outcomes(company: DemoCompany, batch: DemoBatch) -> None:
    rng = batch.rng("renewals and churn")
    outcomes: list[Outcome] = []
    terms: list[AccountTerms] = []
    ended = term_ends(company, batch)
    for account in batch.accounts:
        story = _ContractStory(rng, company, account, ended[account.pk])
        outcomes.extend(story.outcomes)
        terms.extend(story.terms)
    company.bulk_create(Outcome, outcomes)
    company.bulk_create(AccountTerms, terms)
    company.bulk_create(
        TimelineEntry,
        [
            TimelineEntry(
                account_id=outcome.account_id,
                kind=TimelineKind.SYSTEM,
                event="outcome_recorded",
                summary=timeline_summary(outcome),
                body=outcome.note,
                author_id=outcome.recorded_by_id,
                occurred_at=outcome.recorded_at,
            )
            for outcome in outcomes
        ],
    )


def _round(amount: float) -> Decimal:
    return Decimal(max(round(amount, -2), 100)).quantize(Decimal("1.00"))


class _ContractStory:
    def __init__(self, rng: random.Random, company: DemoCompany, account: Account, ended: list[TermEnd]) -> None:
        self.rng, self.company, self.account = rng, company, account
        self.outcomes: list[Outcome] = []
        self.terms: list[AccountTerms] = []
        start, renewal = account.contract_start, account.renewal_date
        assert start is not None and renewal is not None  # the planner always sets both
        arr_at_start = account.arr
        downgraded_on = None
        if rng.random() < DOWNGRADE_SHARE.get(account.stage, 0) and (company.today - start).days > 60:
            latest = min(company.today, renewal) - dt.timedelta(days=10)
            downgraded_on = start + dt.timedelta(days=rng.randint(30, max(30, (latest - start).days)))
            arr_at_start = _round(float(account.arr) * rng.uniform(1.15, 1.5))
        # The ARR walks back from the current term's, one renewal at a time.
        renewals = [term for term in ended if not term.churned]
        arr_after, moves = arr_at_start, []
        for _ in reversed(renewals):
            _, low, high = rng.choices(RENEWAL_MOVES, weights=[move[0] for move in RENEWAL_MOVES])[0]
            arr_before = arr_after if low == high == 1.0 else _round(float(arr_after) / rng.uniform(low, high))
            moves.append((arr_before, arr_after))
            arr_after = arr_before
        for term, (before, after) in zip(renewals, reversed(moves), strict=True):
            self._terms(term.term_start, term.term_start, term.term_end, before)
            self._outcome(OutcomeKind.RENEWED, term.occurred_on, term.term_start, term.term_end, before, after)
        self._terms(start, start, renewal, arr_at_start)
        if downgraded_on is not None:
            reason = rng.choice(DOWNGRADE_REASONS)
            self._outcome(OutcomeKind.DOWNGRADED, downgraded_on, start, renewal, arr_at_start, account.arr, reason)
            self._terms(downgraded_on, start, renewal, account.arr)
        for term in ended:
            if term.churned:
                why = churn_reason(rng, term.drivers)
                self._outcome(OutcomeKind.CHURNED, term.occurred_on, start, renewal, account.arr, Decimal(0), why)

    def _when(self, day: dt.date) -> dt.datetime:
        return min(at_work_hours(self.rng, day), self.company.now)

    def _terms(self, day: dt.date, start: dt.date, renewal: dt.date, arr: Decimal) -> None:
        self.terms.append(
            AccountTerms(
                account_id=self.account.pk,
                effective_at=self._when(day),
                contract_start=start,
                renewal_date=renewal,
                arr=arr,
                currency=self.account.currency,
                tier=self.account.tier,
                source=TermsSource.DEMO,
            )
        )

    def _outcome(
        self,
        kind: str,
        day: dt.date,
        start: dt.date,
        end: dt.date,
        before: Decimal,
        after: Decimal,
        reason: str = "",
    ) -> None:
        self.outcomes.append(
            Outcome(
                account_id=self.account.pk,
                kind=kind,
                occurred_on=day,
                term_start=start,
                term_end=end,
                arr_before=before,
                arr_after=after,
                currency=self.account.currency,
                reason=reason,
                source=OutcomeSource.STAGE_CHANGE if kind == OutcomeKind.CHURNED else OutcomeSource.CSV,
                recorded_by_id=self.account.owner_id,
                recorded_at=self._when(day),
            )
        )
