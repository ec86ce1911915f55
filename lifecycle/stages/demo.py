"""The demo company's stage history: how each account walked to the stage it is in.

It lives with StageChange rather than in accounts' demo so that accounts never
imports lifecycle; `lifecycle.demo` imports this module, which registers the
part under the order it always had (after contacts, before the timeline).
"""

from __future__ import annotations

import datetime as dt

from accounts.demo import DemoBatch, DemoCompany, demo_seeder
from accounts.demo import words as demo_words
from accounts.models import Stage, TimelineEntry, TimelineKind
from core.text import counted
from lifecycle.models import StageChange


@demo_seeder("stage history", order=20)
def seed_stage_history(company: DemoCompany, batch: DemoBatch) -> None:
    """StageChange rows matching each account's path, and the system events the service would have written."""
    rng = batch.rng("stage history")
    changes: list[StageChange] = []
    events: list[TimelineEntry] = []
    for account in batch.accounts:
        path = batch.plans[account.pk].path
        actor_id = account.owner_id
        previous: tuple[str, dt.datetime] | None = None
        for stage, entered in path:
            if previous is None:
                reason, summary = (
                    "Contract signed",
                    "Contract signed; onboarding started",
                )
                event = "account_created"
            else:
                reason = rng.choice(demo_words.STAGE_REASONS[stage])
                days = (entered - previous[1]).days
                summary = f"Stage changed from {Stage(previous[0]).label} to {Stage(stage).label} after {counted(days, 'day')}"
                event = "stage_changed"
            changes.append(
                StageChange(
                    account_id=account.pk,
                    from_stage=previous[0] if previous else "",
                    to_stage=stage,
                    changed_at=entered,
                    changed_by_id=actor_id,
                    reason=reason,
                )
            )
            events.append(
                TimelineEntry(
                    account_id=account.pk,
                    kind=TimelineKind.SYSTEM,
                    event=event,
                    occurred_at=entered,
                    author_id=actor_id,
                    summary=summary,
                    body=reason if previous else "",
                )
            )
            previous = (stage, entered)
    company.bulk_create(StageChange, changes)
    company.bulk_create(TimelineEntry, events)
