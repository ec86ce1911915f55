"""Lifecycle's parts of the demo company (imported by accounts.demo's seeder registry).

The stage history is registered by `lifecycle.stages.demo`, imported here so the
registry's autodiscovery (which imports each app's `demo` module) finds it.
"""

from __future__ import annotations

import datetime as dt

from accounts.demo import DemoBatch, DemoCompany, demo_seeder
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import health_recompute_scope
from lifecycle.health.scoring import load_scorecards
from lifecycle.signals.demo import seed_demo_signals
from lifecycle.stages import demo as stages_demo  # noqa: F401  (registers the stage history)

# Days back for which the demo scores every account: daily for the last week
# (7-day trend), then weekly to 13 weeks (the 90-day chart).
HISTORY_DAYS_BACK = sorted({*range(0, 8), 30, *range(14, 92, 7)}, reverse=True)
# Benchmark-sized companies skip the history: the benchmark times the recompute itself.
HISTORY_MAX_ACCOUNTS = 5000


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
    """90 days of usage, tickets, surveys, invoices, check-ins and pulse for the batch's accounts."""
    counts = seed_demo_signals(
        rng=batch.rng("signals"),
        accounts=[(account.pk, account.tier, account.stage, account.contract_start) for account in batch.accounts],
        today=company.today,
    )
    company.rows.update(counts)


demo_seeder("health history", order=60)(_score_history)
