"""A believable demo company, for `make run` and for the benchmarks.

Entry point: `build_demo_company(seed=42, accounts=300, stdout=...)` builds
people, teams, tags and the accounts in batches; every registered *seeder*
then adds its rows to each batch. The `seed_demo` command wraps it.

Adding a part (health signals, transitions, ...) from another app: create
`<app>/demo.py`; it is imported automatically (like `admin.py`) before the
build starts. In it, register a function that adds rows for one batch:

    from accounts.demo import DemoBatch, DemoCompany, demo_seeder

    def create_default_scorecard(company: DemoCompany) -> None:
        ...  # runs once, before the first batch

    @demo_seeder("usage signals", order=40, setup=create_default_scorecard)
    def seed_usage(company: DemoCompany, batch: DemoBatch) -> None:
        rng = batch.rng("usage signals")           # deterministic, private to this part
        rows = [UsageDaily(account_id=account.pk, ...) for account in batch.accounts]
        company.bulk_create(UsageDaily, rows)      # batched insert, counted in the summary

Rules for a part:
- Insert with `company.bulk_create` (never `save()` per row): the benchmark
  builds 100,000 accounts.
- Draw randomness only from `batch.rng(name)` / `company.rng(name)` so the
  same seed gives the same company and parts do not disturb each other.
- Scale per-account volume by `company.detail` (1.0 at demo size, smaller
  for benchmark sizes).
- `batch.plans[account.pk]` says how the account got where it is (stage
  path with dates); `batch.contacts[account.pk]` holds its contacts.
- Orders in use: 5 exchange rates (accounts/demo/money.py; converts each batch's ARR), 6 tier rules (set up once),
  10 contacts, 20 stage history (lifecycle/stages/demo.py), 30 timeline, 35 renewals and churn (outcomes and dated account terms), 37 products (the
  catalogue and each account's entitlements, accounts/demo/products.py). Pick 40+.
  Pass `finish=` for a set-based step after the last batch (e.g. a recompute).
"""

from . import history, money, outcomes, people, products, tiers  # noqa: F401  (registers the built-in parts)
from .core import (
    AccountPlan,
    DemoBatch,
    DemoCompany,
    Seeder,
    build_demo_company,
    delete_demo_data,
    demo_data_exists,
    demo_seeder,
    register_seeder,
    registered_seeders,
)
from .staff import DEMO_PASSWORD, HANDOVER_CSM, ROSTER, USERNAMES

__all__ = [
    "DEMO_PASSWORD",
    "HANDOVER_CSM",
    "ROSTER",
    "USERNAMES",
    "AccountPlan",
    "DemoBatch",
    "DemoCompany",
    "Seeder",
    "build_demo_company",
    "delete_demo_data",
    "demo_data_exists",
    "demo_seeder",
    "register_seeder",
    "registered_seeders",
]
