"""`make bench`: rebuild a benchmark database, seed it, run every suite, print and save the figures.

Environment (all optional):
  DATABASE_URL     PostgreSQL database to (re)create; its name must contain
                   "bench" so a development database is never dropped.
                   Default postgres://postgres@127.0.0.1:5432/baton_bench
  BENCH_ACCOUNTS   accounts in the demo company (default 100000)
  BENCH_SEED       demo seed (default 42)
  BENCH_SUITES     only these suites, by name prefix, e.g. "suite_10,suite_30"
                   (default: every bench/suite_*.py)
  BENCH_RESULTS    where to write the figures (default bench/results.json); a
                   run of a few suites on a small book, e.g.
                   BENCH_ACCOUNTS=3000 BENCH_SUITES=suite_27 BENCH_RESULTS=latency.json,
                   then leaves the full run's figures alone
  BENCH_REUSE      1: keep the database DATABASE_URL names and its data (seeded by an
                   earlier run, or copied from one with `createdb -T`) instead of
                   recreating and seeding it. For working on one suite; suites that
                   write leave their writes behind, so a run whose figures are kept
                   (bench/results.json) never reuses.

Exit code 0 when the run completed, even if goals were missed (the table
says so); non-zero only when the harness itself could not run.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_FILE = BENCH_DIR / "results.json"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/baton_bench"
SEED_GOAL_SECONDS = 300


class HarnessError(Exception):
    """The benchmark could not run at all (as opposed to a goal being missed)."""


def configure_environment() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csm.settings.test")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    sys.path.insert(0, str(BENCH_DIR.parent))


def recreate_database(url: str) -> None:
    """Drop and create the benchmark database through the `postgres` maintenance database."""
    import environ
    import psycopg2
    from psycopg2 import sql

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise HarnessError(f"The benchmark needs PostgreSQL; DATABASE_URL points at {config['ENGINE']}.")
    name = config["NAME"]
    if "bench" not in name:
        raise HarnessError(f"Refusing to drop database {name!r}: a benchmark database's name must contain 'bench'.")
    connection = psycopg2.connect(
        dbname="postgres",
        user=config.get("USER") or None,
        password=config.get("PASSWORD") or None,
        host=config.get("HOST") or None,
        port=config.get("PORT") or None,
    )
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    finally:
        connection.close()


def seed(accounts: int, seed_value: int):
    from django.core.management import call_command
    from django.db import connection

    from bench.core import Result

    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    call_command("seed_demo", seed=seed_value, accounts=accounts, stdout=sys.stdout)
    seconds = time.perf_counter() - started
    # Fresh bulk loads have no planner statistics yet; autovacuum would
    # gather them within minutes on a real server, so do it now.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(flush=True)
    return Result(
        name=f"seed_demo ({accounts:,} accounts)",
        value=round(seconds, 1),
        unit="s",
        goal=f"≤ {SEED_GOAL_SECONDS} s",
        met=seconds <= SEED_GOAL_SECONDS,
    )


def reused_book():
    """The book an earlier run seeded, counted, so the table says what the figures were measured on."""
    from django.core.management import call_command
    from django.db import connection

    from bench.core import Result

    call_command("migrate", verbosity=0, interactive=False)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_account")
        (accounts,) = cursor.fetchone()
    if not accounts:
        raise HarnessError("BENCH_REUSE=1, but the database has no accounts: run once without it to seed.")
    return Result(
        name=f"reused book ({accounts:,} accounts, not reseeded)", value=accounts, unit="accounts", goal="", met=True
    )


def machine() -> list:
    """What the figures were measured on: they are read against this, not against another machine's."""
    from django.db import connection

    from bench.core import Result

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('server_version_num')::integer / 10000, pg_size_bytes(current_setting('shared_buffers'))"
        )
        major, shared_buffers = cursor.fetchone()
    return [
        Result("machine: CPU cores", os.cpu_count() or 0, "cores", "", True),
        Result(f"machine: PostgreSQL {major} shared_buffers", round(shared_buffers / 2**20), "MB", "", True),
    ]


def suite_modules() -> list[str]:
    """Every `suite_*.py` in name order, or only those BENCH_SUITES names (comma-separated prefixes)."""
    names = sorted(path.stem for path in BENCH_DIR.glob("suite_*.py"))
    wanted = [part.strip() for part in os.environ.get("BENCH_SUITES", "").split(",") if part.strip()]
    if wanted:
        names = [name for name in names if any(name.startswith(prefix) for prefix in wanted)]
    return names


def run_suites() -> list:
    from bench.core import Result

    results = []
    for module_name in suite_modules():
        print(f"Running {module_name} ...", flush=True)
        try:
            module = importlib.import_module(f"bench.{module_name}")
            results.extend(module.run())
        except Exception as error:  # one broken suite must not hide the others' figures
            traceback.print_exc()
            results.append(
                Result(
                    name=module_name,
                    value=0.0,
                    unit="error",
                    goal=_one_line(f"{type(error).__name__}: {error}"),
                    met=False,
                )
            )
    return results


def _one_line(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_table(results: list) -> str:
    header = ("Benchmark", "Value", "Unit", "Goal", "Met")
    # A row without a goal is a figure to read, not a goal met.
    rows = [(r.name, f"{r.value:,.1f}", r.unit, r.goal, ("✓" if r.met else "✗") if r.goal else "") for r in results]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    aligned = ["<", ">", "<", "<", "^"]

    def line(cells) -> str:
        return "  ".join(f"{cell:{align}{width}}" for cell, align, width in zip(cells, aligned, widths, strict=True))

    goals = [result for result in results if result.goal]
    met = sum(result.met for result in goals)
    return "\n".join(
        [
            line(header),
            "  ".join("-" * width for width in widths),
            *map(line, rows),
            "",
            f"{met} of {len(goals)} goals met.",
        ]
    )


def main() -> int:
    configure_environment()
    accounts = int(os.environ.get("BENCH_ACCOUNTS", "100000"))
    seed_value = int(os.environ.get("BENCH_SEED", "42"))
    reuse = os.environ.get("BENCH_REUSE") == "1"
    try:
        if not reuse:
            recreate_database(os.environ["DATABASE_URL"])
        import django

        django.setup()
        results = [*machine(), reused_book() if reuse else seed(accounts, seed_value)]
    except HarnessError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    except Exception:
        traceback.print_exc()
        print("bench: could not prepare the benchmark database.", file=sys.stderr)
        return 1
    results.extend(run_suites())
    print(render_table(results))
    if reuse and "BENCH_RESULTS" not in os.environ:
        print("\nBENCH_REUSE=1: figures not saved (set BENCH_RESULTS to keep them elsewhere).")
        return 0
    results_file = Path(os.environ.get("BENCH_RESULTS", RESULTS_FILE))
    results_file.write_text(json.dumps([result.as_json() for result in results], indent=2, ensure_ascii=False) + "\n")
    print(f"\nWrote {results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
