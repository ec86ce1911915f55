"""`make load`: gunicorn on the bench database, driven by locust from a second process; figures per request kind.

It starts gunicorn (2 workers) with tools/load/settings.py (production's settings over plain HTTP on loopback,
the per-user API rate raised) on PostgreSQL, then runs locust headless against it on loopback: first the mixed
workload of CSMs and an integration (tools/load/locustfile.py), then each request kind alone for a shorter run.
Each run reports requests per second, p50/p95/p99 and errors per kind, measured after a warm-up (sign-ins,
first connections), prints a table and writes bench/load_results.json. Goals, on the machine's cores: no error
in any run; mixed p95 ≤ 500 ms; mixed throughput ≥ 80% of the cheapest kind's alone.

Environment (all optional):
  LOAD_DATABASE_URL      the seeded database to serve (default the one `make bench` leaves:
                         postgres://postgres@127.0.0.1:5432/baton_bench). Its migrations are applied first.
                         The load writes to it: notes, handover steps done, usage rows, one integration token
                         (revoked at the end).
  LOAD_REDIS_URL         Redis for the cache (rate limits, sign-in failures) and the tasks the writes queue;
                         emptied before and after (default redis://127.0.0.1:6379/13). No Celery worker runs.
  LOAD_WORKER_CLASS      gunicorn's worker class, sync or gthread (default sync, see below)
  LOAD_THREADS           threads per gthread worker (default 4)
  LOAD_USERS             simulated users, each with one request in flight at a time (default 4: both workers
                         always busy, with one request waiting for each; more users add only waiting)
  LOAD_MIXED_SECONDS     the mixed run (default 60); LOAD_KIND_SECONDS each kind alone (default 15);
  LOAD_WARMUP_SECONDS    left out at the start of each run (default 5)
  LOAD_KINDS             the kinds to run alone, comma-separated (default all of tools/load/kinds.py)
  LOAD_INGEST_ROWS       usage rows per batch (default 20)
  LOAD_RESULTS           where to write the figures (default bench/load_results.json)

Why sync workers: a request here is mostly Python (template rendering) on a core, and PostgreSQL runs on the same
two cores. gthread lets a worker's threads overlap one request's database wait with another's Python, but the GIL
lets only one of them run Python at a time and the cores are already full. Measured on 100,000 accounts (30 s mixed
runs, 4 and 8 users, twice each, on a machine other work kept at a load average of 5-15): throughput was no better
with gthread (6.1-12.8 req/s against 6.5-12.2), its workers spent more CPU per request (web 45-74 ms, mean 59,
against 48-55, mean 50), and sharing a worker between requests stretched the slow pages: mixed p95 0.9-2.6 s
against 0.7-1.8 s, and at 4 users 0.9-1.4 s against 0.7-0.8 s.

Exit code 0 when the runs completed, even if goals were missed (the table says so); 2 when the load could not
run (no database, not seeded, no Redis, the server did not start).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tools.load.figures import IncompleteRun, RunResult, goals, results_table, summarise
from tools.load.kinds import KINDS

ROOT = Path(__file__).resolve().parents[2]
RESULTS_FILE = ROOT / "bench" / "load_results.json"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/baton_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
WORKERS = 2
SERVER_START_SECONDS = 60
# Signing in hashes the password as production does (PBKDF2, on purpose slow): on a busy machine the users'
# sign-ins take a while before the warm-up starts.
SIGN_IN_ALLOWANCE_SECONDS = 60


class HarnessError(Exception):
    """The load could not run at all (as opposed to a goal being missed)."""


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw else default
    except ValueError as error:
        raise HarnessError(f"{name} must be a whole number, not {raw!r}.") from error


def check_database(url: str) -> int:
    """The database exists and holds accounts; returns how many. Says what to do when it does not."""
    import environ
    import psycopg2

    config = environ.Env.db_url_config(url)
    if "postgresql" not in config["ENGINE"]:
        raise HarnessError(f"make load runs on PostgreSQL; LOAD_DATABASE_URL points at {config['ENGINE']}.")
    name = config["NAME"]
    try:
        connection = psycopg2.connect(
            dbname=name,
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
        )
    except psycopg2.OperationalError as error:
        if "does not exist" in str(error):
            raise HarnessError(
                f"database {name!r} does not exist. `make bench` leaves a seeded 100,000-account `baton_bench`; "
                f"or point LOAD_DATABASE_URL at a seeded copy."
            ) from error
        raise HarnessError(f"cannot connect to {name!r}: {' '.join(str(error).split())}") from error
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('accounts_account') IS NOT NULL")
            (migrated,) = cursor.fetchone()
            if not migrated:
                raise HarnessError(f"database {name!r} is not seeded (no accounts table): run `make bench` first.")
            cursor.execute("SELECT count(*) FROM accounts_account")
            (accounts,) = cursor.fetchone()
    finally:
        connection.close()
    if not accounts:
        raise HarnessError(f"database {name!r} holds no accounts: run `make bench` first (it seeds the demo company).")
    return int(accounts)


def settings_environment(database_url: str, redis_url: str) -> dict[str, str]:
    """What the web server and this process need to load tools/load/settings.py."""
    return {
        "DJANGO_SETTINGS_MODULE": "tools.load.settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "CACHE_URL": redis_url,
    }


def empty_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url).flushdb()
    except redis.RedisError as error:
        raise HarnessError(f"Redis at {url} is needed (cache and task queue): {error}") from error


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """gunicorn with the load settings, on a free loopback port; its log goes to a file shown when it fails."""

    def __init__(self, *, worker_class: str, threads: int, environment: dict[str, str], log: Path):
        import environ

        self.database_name = environ.Env.db_url_config(environment["DATABASE_URL"])["NAME"]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [sys.executable, "-m", "gunicorn", "csm.wsgi", "--bind", f"127.0.0.1:{self.port}"]
        command += ["--workers", str(WORKERS), "--worker-class", worker_class, "--timeout", "60"]
        if worker_class == "gthread":
            command += ["--threads", str(threads)]
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **environment}, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    def wait_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz/", timeout=5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        raise HarnessError(f"gunicorn did not answer /healthz/ within {SERVER_START_SECONDS} s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


def run_locust(
    *,
    server: Server,
    plan: dict,
    kinds: list[str],
    users: int,
    seconds: int,
    warmup: int,
    workdir: Path,
    name: str,
) -> dict[str, Any]:
    """One locust run: it stops itself `warmup + seconds` after its last user signed in; --run-time bounds it."""
    slug = name.replace(" ", "_")
    plan_file, samples_file, log_file = (
        workdir / f"{slug}.{suffix}" for suffix in ("plan.json", "samples.json", "log")
    )
    plan_file.write_text(json.dumps(plan))
    command = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", server.url]
    command += ["--users", str(users), "--spawn-rate", str(users)]
    bound = seconds + warmup + SIGN_IN_ALLOWANCE_SECONDS
    command += ["--run-time", f"{bound}s", "--only-summary", "--loglevel", "WARNING", "--exit-code-on-error", "0"]
    environment = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LOAD_PLAN": str(plan_file),
        "LOAD_KINDS": ",".join(kinds),
        "LOAD_SAMPLES": str(samples_file),
        "LOAD_USERS": str(users),
        "LOAD_WARMUP_SECONDS": str(warmup),
        "LOAD_WINDOW_SECONDS": str(seconds),
        "LOAD_SERVER_PID": str(server.process.pid),
        "LOAD_DATABASE_NAME": server.database_name,
    }
    with log_file.open("w") as log:
        finished = subprocess.run(
            [*command, "BatonUser"], cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, timeout=bound + 60
        )
    if finished.returncode != 0 or not samples_file.exists():
        tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:])
        raise HarnessError(f"locust's {name} run failed (exit {finished.returncode}):\n{tail}")
    return json.loads(samples_file.read_text())


def main() -> int:
    database_url = os.environ.get("LOAD_DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = os.environ.get("LOAD_REDIS_URL") or DEFAULT_REDIS_URL
    results_file = Path(os.environ.get("LOAD_RESULTS") or RESULTS_FILE)
    worker_class = os.environ.get("LOAD_WORKER_CLASS") or "sync"
    wanted_kinds = [k.strip() for k in os.environ.get("LOAD_KINDS", "").split(",") if k.strip()] or list(KINDS)
    try:
        if worker_class not in ("sync", "gthread"):
            raise HarnessError(f"LOAD_WORKER_CLASS must be sync or gthread, not {worker_class!r}.")
        unknown = sorted(set(wanted_kinds) - set(KINDS))
        if unknown:
            raise HarnessError(f"LOAD_KINDS names unknown kinds {unknown}; the kinds are: {', '.join(KINDS)}.")
        threads = _env_int("LOAD_THREADS", 4)
        total_users = _env_int("LOAD_USERS", 4)
        mixed_seconds = _env_int("LOAD_MIXED_SECONDS", 60)
        kind_seconds = _env_int("LOAD_KIND_SECONDS", 15)
        warmup = _env_int("LOAD_WARMUP_SECONDS", 5)
        ingest_rows = _env_int("LOAD_INGEST_ROWS", 20)
        if total_users < 1:
            raise HarnessError("LOAD_USERS must be at least 1.")
        if min(mixed_seconds, kind_seconds) <= warmup:
            raise HarnessError("Each run must last longer than LOAD_WARMUP_SECONDS.")
        accounts = check_database(database_url)
        environment = settings_environment(database_url, redis_url)
        os.environ.update(environment)
        # Warnings and errors only, here and in the server's log file (production's INFO adds a line per sign-in).
        os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
        os.environ["LOAD_INGEST_ROWS"] = str(ingest_rows)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        from tools.load import plan as plans

        call_command("migrate", verbosity=0, interactive=False)
        try:
            changes = plans.sign_in_prepare(plans.demo_csms())
            if changes:
                print(f"load: before signing in: {'; '.join(changes)}.", flush=True)
        except plans.NotSeeded as error:
            raise HarnessError(f"database {database_url.rsplit('/', 1)[-1]!r} is not seeded: {error}.") from error
        empty_redis(redis_url)
    except HarnessError as error:
        print(f"load: {error}", file=sys.stderr)
        return 2

    load_before = round(os.getloadavg()[0], 2)
    print(
        f"Load on {accounts:,} accounts: gunicorn {WORKERS} {worker_class} workers, {total_users} users, "
        f"{mixed_seconds} s mixed then {kind_seconds} s per kind; "
        f"load average before {load_before}.",
        flush=True,
    )
    integration = plans.integration_create()
    runs: list[RunResult] = []
    with tempfile.TemporaryDirectory(prefix="baton-load-") as tmp:
        workdir = Path(tmp)
        server = Server(
            worker_class=worker_class, threads=threads, environment=environment, log=workdir / "gunicorn.log"
        )
        try:
            server.wait_ready()
            schedule = [("mixed", list(KINDS)), *((kind, [kind]) for kind in wanted_kinds)]
            for index, (name, kinds) in enumerate(schedule):
                seconds = mixed_seconds if name == "mixed" else kind_seconds
                print(f"  {name}: {seconds} s ...", flush=True)
                plan = plans.build(integration=integration, seed=index)
                recorded = run_locust(
                    server=server,
                    plan=plan,
                    kinds=kinds,
                    users=total_users,
                    seconds=seconds,
                    warmup=warmup,
                    workdir=workdir,
                    name=name,
                )
                runs.append(summarise(name=name, kinds=kinds, users=total_users, seconds=seconds, recorded=recorded))
        except (HarnessError, IncompleteRun, plans.NotSeeded) as error:
            print(f"load: {error}", file=sys.stderr)
            return 2
        finally:
            server.stop()
            plans.integration_revoke(integration)
            empty_redis(redis_url)
        if any(run.errors for run in runs):
            print("\nThe server's log, last lines:\n" + server.log_tail(40))

    mixed = runs[0]
    alone = {run.name: run for run in runs[1:]}
    context = {
        "workers": WORKERS,
        "load_before": load_before,
        "accounts": accounts,
        "worker_class": worker_class,
        "threads": threads,
    }
    rows = goals(runs=runs, mixed=mixed, alone=alone, context=context)
    from bench.__main__ import render_table

    print()
    print(results_table(runs))
    print()
    print(render_table(rows))
    for run in runs:
        for reason, count in run.error_reasons.items():
            print(f"  {run.name}: {count} × {reason}")
    payload = {
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "config": {
            "accounts": accounts,
            "workers": WORKERS,
            "worker_class": worker_class,
            "threads": threads if worker_class == "gthread" else 1,
            "users": total_users,
            "mixed_seconds": mixed_seconds,
            "kind_seconds": kind_seconds,
            "warmup_seconds": warmup,
            "ingest_rows": ingest_rows,
            "cores": os.cpu_count(),
            "load_average_before": load_before,
        },
        "runs": [asdict(run) for run in runs],
        "results": [row.as_json() for row in rows],
    }
    results_file.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWrote {results_file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
