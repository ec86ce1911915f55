"""Lifecycle's parts of the demo company (imported by accounts.demo's seeder registry)."""

from __future__ import annotations

from accounts.demo import DemoBatch, DemoCompany, demo_seeder

from .demo_signals import seed_demo_signals


@demo_seeder("signals", order=40)
def seed_signals(company: DemoCompany, batch: DemoBatch) -> None:
    """90 days of usage, tickets, surveys, invoices, check-ins and pulse for the batch's accounts."""
    counts = seed_demo_signals(
        rng=batch.rng("signals"),
        accounts=[(account.pk, account.tier, account.stage, account.contract_start) for account in batch.accounts],
        today=company.today,
    )
    company.rows.update(counts)
