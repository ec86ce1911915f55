"""The default scorecard's backtest on the demo company's outcomes, in a database of its own.

    python -m bench.demo_backtest

Builds the demo company as `make run` does (seed 42, its default size) in a fresh
PostgreSQL database next to the benchmark's (its name is the benchmark's with
"_demo" appended), whose seeding ends with a backtest of the live default beside the
version it replaced, and prints that backtest's 30-day figures as JSON. The demo's
outcomes are ours, so `make bench` prints them without a goal: they show the score
ranks the demo's churn above its renewals, not that it will rank anyone else's.
"""

from __future__ import annotations

import io
import json
import os
import sys

DEMO_SEED = 42


def main() -> int:
    from bench.__main__ import DEFAULT_DATABASE_URL, recreate_database

    base = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    url = f"{base}_demo"
    recreate_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csm.settings.test")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    import django

    django.setup()
    from django.core.management import call_command

    from lifecycle.models import Backtest

    call_command("migrate", verbosity=0, interactive=False)
    call_command("seed_demo", seed=DEMO_SEED, stdout=io.StringIO())
    backtest = Backtest.objects.order_by("-pk").first()
    if backtest is None or not backtest.report:
        print(json.dumps({"error": "the demo's seeding left no backtest report"}))
        return 1
    horizon = next(h for h in backtest.report["horizons"] if h["days"] == 30)
    live, *baseline = horizon["cards"]
    print(
        json.dumps(
            {
                "outcomes": live["outcomes"],
                "churned": live["churned"],
                "auc": live["auc"],
                "auc_ci": live["auc_ci"],
                "baseline_auc": baseline[0]["auc"] if baseline else None,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
