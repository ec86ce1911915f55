"""Contract history: each account's terms as dated rows, and the renewals, downgrades and churn behind them.

Long-standing customers renewed before (their story starts whole years before the current
term, see AccountPlanner._dates): each past term ends in a renewal, mostly flat or expanding.
Some accounts at risk or churned were downgraded during their current term; churned accounts
churned at their renewal date. The ARR walks back from today's: the last terms row is the
account as it stands, so `account_terms_as_of` and the outcomes tell one story a backtest can use.
"""

from __future__ import annotations

import datetime as dt
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
from .core import AccountPlan, DemoBatch, DemoCompany, demo_seeder

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


@demo_seeder("renewals and churn", order=35)
def seed_outcomes(company: DemoCompany, batch: DemoBatch) -> None:
    rng = batch.rng("renewals and churn")
    outcomes: list[Outcome] = []
    terms: list[AccountTerms] = []
    for account in batch.accounts:
        story = _ContractStory(rng, company, account, batch.plans[account.pk])
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
    def __init__(self, rng: random.Random, company: DemoCompany, account: Account, plan: AccountPlan) -> None:
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
        # Past yearly terms, newest first, each closed by a renewal into the next one.
        past = []
        end, arr_after = start, arr_at_start
        while add_months(end, -12) >= plan.customer_since:
            begin = add_months(end, -12)
            _, low, high = rng.choices(RENEWAL_MOVES, weights=[move[0] for move in RENEWAL_MOVES])[0]
            arr_before = arr_after if low == high == 1.0 else _round(float(arr_after) / rng.uniform(low, high))
            past.append((begin, end, arr_before, arr_after))
            end, arr_after = begin, arr_before
        for begin, end, before, after in reversed(past):
            self._terms(begin, begin, end, before)
            self._outcome(OutcomeKind.RENEWED, end - dt.timedelta(days=rng.randint(0, 21)), begin, end, before, after)
        self._terms(start, start, renewal, arr_at_start)
        if downgraded_on is not None:
            reason = rng.choice(DOWNGRADE_REASONS)
            self._outcome(OutcomeKind.DOWNGRADED, downgraded_on, start, renewal, arr_at_start, account.arr, reason)
            self._terms(downgraded_on, start, renewal, account.arr)
        if account.stage == Stage.CHURNED:
            churned_on = min(plan.path[-1][1].date(), company.today)
            reason = rng.choices(list(CHURN_REASONS), weights=list(CHURN_REASONS.values()))[0]
            self._outcome(OutcomeKind.CHURNED, churned_on, start, renewal, account.arr, Decimal(0), reason)

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
