"""Importing a large accounts CSV: rows per second of the dry run and the import, and the worker's peak memory.

Each size runs in a fresh process (as a worker would), inside a transaction rolled back at the
end so the book the other suites read is left as it was. The file is generated: new accounts
keyed by external id, with owner, industry, region, ARR, currency, dates, stage and two tags.
Since nothing commits, the foreign-key checks a commit would run are run and timed on their own
(a figure of their own, beside the import's). Where PostgreSQL runs on this machine, the CPU
time of the connection's server process is given beside the worker's.

On PostgreSQL the suite also measures the floor under any import into this schema: the same number of
accounts written by INSERT ... SELECT computed in the database, a statement per chunk (no file, no Python, no history, audit
or tags), with the table's indexes and its commit's key checks, then the same rows into a copy of the
table without indexes. No import can write accounts faster than the first figure on this machine.

    python -m bench.suite_41_import <csv path>     (the child: prints its figures as JSON)
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROWS = (10_000, 100_000)
ROWS_PER_SECOND = 20_000
MEMORY_GROWTH = 1.5  # the 100,000-row peak at most this multiple of the 10,000-row peak
INDUSTRIES = ("software", "Healthcare", "retail", "unknown", "Financial services")
REGIONS = ("emea", "North America", "apac", "", "latam")
STAGES = ("onboarding", "adoption", "Success", "at_risk")


def write_file(path: Path, rows: int, owners: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["Account ID", "Company", "Website", "CSM", "Industry", "Region", "ARR", "Currency", "Contract start",
             "Renewal date", "Stage", "Stage entered", "Tags"]
        )  # fmt: skip
        for n in range(rows):
            year = 2020 + n % 5
            writer.writerow(
                [
                    f"BENCH-IMPORT-{n}",
                    f"Imported Company {n}",
                    f"https://www.imported-{n}.example/",
                    owners[n % len(owners)],
                    INDUSTRIES[n % len(INDUSTRIES)],
                    REGIONS[n % len(REGIONS)],
                    f"{10_000 + (n * 37) % 490_000:,}.00",
                    "USD" if n % 4 else "EUR",
                    f"{year}-{1 + n % 12:02d}-01",
                    f"{year + 1}-{1 + n % 12:02d}-01",
                    STAGES[n % len(STAGES)],
                    f"{year}-{1 + n % 12:02d}-15",
                    f"Imported; Cohort {n % 10}",
                ]
            )


def run() -> list:
    from bench.core import Result
    from users.models import User

    owners = list(User.objects.filter(role=User.Role.CSM, is_active=True).values_list("username", flat=True)[:20])
    results = []
    peaks = {}
    with tempfile.TemporaryDirectory() as folder:
        for rows in ROWS:
            path = Path(folder) / f"accounts-{rows}.csv"
            write_file(path, rows, owners)
            completed = subprocess.run(
                [sys.executable, "-m", "bench.suite_41_import", str(path)],
                capture_output=True,
                text=True,
                env=os.environ.copy(),
                cwd=Path(__file__).resolve().parent.parent,
                check=False,
            )
            if completed.returncode != 0:
                raise RuntimeError(completed.stderr.strip().splitlines()[-1] if completed.stderr else "child failed")
            figures = json.loads(completed.stdout.strip().splitlines()[-1])
            if figures["status"] != "done":
                problems = figures.get("errors") or figures["message"]
                raise RuntimeError(f"the import ended {figures['status']}: {problems}")
            peaks[rows] = figures["peak_rss_mb"]
            for label, key in (("dry run", "dry_run"), ("import", "import")):
                seconds, cpu, load = figures[f"{key}_seconds"], figures[f"{key}_cpu_seconds"], figures[f"{key}_load"]
                database_cpu = figures.get(f"{key}_database_cpu_seconds")
                database = "" if database_cpu is None else f"; database CPU {database_cpu:.1f} s"
                rate = rows / seconds
                results.append(
                    Result(
                        # The worker's and the database's own CPU time and the machine's load beside the wall time:
                        # on a shared machine the wall time also counts the waits for a core.
                        name=f"accounts import {label}: {rows:,}-row CSV ({seconds:.1f} s; worker CPU {cpu:.1f} s"
                        f"{database}; load {load:.1f})",
                        value=round(rate),
                        unit="rows/s",
                        goal=f"≥ {ROWS_PER_SECOND:,} rows/s",
                        met=rate >= ROWS_PER_SECOND,
                    )
                )
            if "commit_checks_seconds" in figures:
                checks = figures["commit_checks_seconds"]
                rate = rows / (figures["import_seconds"] + checks)
                results.append(
                    Result(
                        name=f"accounts import with its commit's key checks: {rows:,}-row CSV ({checks:.1f} s of checks)",
                        value=round(rate),
                        unit="rows/s",
                        goal=f"≥ {ROWS_PER_SECOND:,} rows/s",
                        met=rate >= ROWS_PER_SECOND,
                    )
                )
            results.append(
                Result(f"accounts import worker peak RSS, {rows:,} rows", round(peaks[rows], 1), "MB", "", True)
            )
            if "floor_insert_seconds" in figures:
                results.extend(_floor_results(rows, figures))
    growth = peaks[ROWS[-1]] / peaks[ROWS[0]]
    results.append(
        Result(
            f"accounts import peak RSS {ROWS[-1]:,} rows / {ROWS[0]:,} rows",
            round(growth, 2),
            "×",
            f"≤ {MEMORY_GROWTH} ×",
            growth <= MEMORY_GROWTH,
        )
    )
    return results


def _floor_results(rows: int, figures: dict) -> list:
    from bench.core import Result

    insert, checks, bare = (
        figures["floor_insert_seconds"],
        figures["floor_checks_seconds"],
        figures["floor_bare_seconds"],
    )
    return [
        Result(
            name=f"floor, no import: {rows:,} accounts by INSERT ... SELECT in the database, with the table's "
            f"{figures['floor_indexes']} indexes and its key checks ({insert:.1f} s + {checks:.1f} s of checks; "
            f"load {figures['floor_load']:.1f})",
            value=round(rows / (insert + checks)),
            unit="rows/s",
            goal="",
            met=True,
        ),
        Result(
            name=f"floor, no import: the same {rows:,} rows into a copy of the table without indexes ({bare:.2f} s)",
            value=round(rows / bare),
            unit="rows/s",
            goal="",
            met=True,
        ),
    ]


class _RolledBack(Exception):
    pass


def _floor_rows_sql(table: str) -> str:
    # (%% is psycopg's escape for a literal %.) Values shaped like the generated file's (see write_file), computed by the database from a row number.
    return f"""
        INSERT INTO {table} (name, domain, external_id, industry, region, employee_band, arr, currency,
            contract_start, renewal_date, fiscal_year_start_month, tier, coverage, stage, stage_entered_at,
            why_they_bought, tech_stack_notes, created_at, updated_at, owner_id, pool_id, arr_reporting,
            tier_reason, tier_source)
        SELECT 'Floor Company ' || n, 'floor-' || n || '.example', 'BENCH-FLOOR-' || n,
            (ARRAY['software', 'healthcare', 'retail', 'unknown', 'financial_services'])[1 + n %% 5],
            (ARRAY['emea', 'na', 'apac', 'unknown', 'latam'])[1 + n %% 5], '',
            10000 + (n * 37) %% 490000, CASE WHEN n %% 4 = 0 THEN 'EUR' ELSE 'USD' END,
            make_date(2020 + n %% 5, 1 + n %% 12, 1), make_date(2021 + n %% 5, 1 + n %% 12, 1), 1,
            (ARRAY['high', 'low', 'tech'])[1 + n %% 3], 'assigned',
            (ARRAY['onboarding', 'adoption', 'success', 'at_risk'])[1 + n %% 4], now(), '', '', now(), now(),
            (%s::bigint[])[1 + n %% cardinality(%s::bigint[])], NULL, 10000 + (n * 37) %% 490000, '', 'rules'
        FROM generate_series(%s, %s) AS n
    """


def floor(rows: int) -> dict:
    """The floor's figures (see the module's docstring), each run in a transaction rolled back."""
    from django.db import connection, transaction

    from accounts.imports.engine import CHUNK_ROWS
    from accounts.models import Account
    from users.models import User

    table = Account._meta.db_table
    owners = list(User.objects.filter(role=User.Role.CSM, is_active=True).values_list("pk", flat=True)[:20])
    figures: dict = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s", [table])
        (figures["floor_indexes"],) = cursor.fetchone()
    for bare in (False, True):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                target = table
                if bare:
                    target = "bench_floor_bare"
                    cursor.execute(
                        f"CREATE TEMPORARY TABLE {target} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY)"
                    )
                started = time.perf_counter()
                # In statements of the import's chunk size, as the import writes them.
                for first in range(1, rows + 1, CHUNK_ROWS):
                    last = min(first + CHUNK_ROWS - 1, rows)
                    cursor.execute(_floor_rows_sql(target), [owners, owners, first, last])
                elapsed = time.perf_counter() - started
                if bare:
                    figures["floor_bare_seconds"] = elapsed
                else:
                    figures["floor_insert_seconds"] = elapsed
                    started = time.perf_counter()
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                    figures["floor_checks_seconds"] = time.perf_counter() - started
                    figures["floor_load"] = os.getloadavg()[0]
                raise _RolledBack
        except _RolledBack:
            pass
    return figures


def _database_cpu_seconds() -> float | None:
    """The CPU time used so far by the database's process serving this connection (PostgreSQL gives each
    connection a process of its own), when it runs on this machine; None otherwise."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # its user and system time


def child(path: str) -> dict:
    """Upload, dry run and import the file in this process, rolled back; the figures as a dict."""
    import django

    django.setup()
    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import UploadedFile
    from django.db import connection, transaction

    from accounts.imports.models import ImportJob
    from accounts.imports.services import import_dry_run, import_execute, import_upload
    from bench.one_job import _peak_rss_mb
    from users.models import User

    # The test settings keep uploads in memory; a worker reads them from disk.
    storage_folder = tempfile.mkdtemp()
    ImportJob._meta.get_field("file").storage = FileSystemStorage(location=storage_folder)
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    figures: dict = {}
    try:
        with transaction.atomic():
            with open(path, "rb") as file:
                upload = UploadedFile(file, name=Path(path).name, content_type="text/csv", size=os.path.getsize(path))
                job = import_upload(actor=admin, kind="accounts", upload=upload)
            database_before = _database_cpu_seconds()
            started, cpu = time.perf_counter(), time.process_time()
            job = import_dry_run(job_id=job.pk)
            figures["dry_run_seconds"] = time.perf_counter() - started
            figures["dry_run_cpu_seconds"] = time.process_time() - cpu
            database_after = _database_cpu_seconds()
            if database_before is not None and database_after is not None:
                figures["dry_run_database_cpu_seconds"] = database_after - database_before
            figures["dry_run_load"] = os.getloadavg()[0]
            if job.errors:
                figures["errors"] = job.errors[:5]
            database_before = _database_cpu_seconds()
            started, cpu = time.perf_counter(), time.process_time()
            job = import_execute(job_id=job.pk)
            figures["import_seconds"] = time.perf_counter() - started
            figures["import_cpu_seconds"] = time.process_time() - cpu
            database_after = _database_cpu_seconds()
            if database_before is not None and database_after is not None:
                figures["import_database_cpu_seconds"] = database_after - database_before
            # The foreign keys are checked when the import commits (Django declares them deferred), one lookup
            # per key of every row written: the run is rolled back, so they are run here, as a commit would.
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            figures["commit_checks_seconds"] = time.perf_counter() - started
            figures["import_load"] = os.getloadavg()[0]
            figures.update(status=job.status, message=job.message, created=job.to_create)
            raise _RolledBack
    except _RolledBack:
        pass
    figures["peak_rss_mb"] = _peak_rss_mb()
    if connection.vendor == "postgresql":
        figures.update(floor(figures["created"]))
    return figures


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csm.settings.test")
    print(json.dumps(child(sys.argv[1])))
