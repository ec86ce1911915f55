"""The embedded default (`make run`: SQLite, web and a Celery worker on a folder-on-disk broker) under two
processes writing at once: no "database is locked" escapes, and no email stays queued.

Real processes, as `make run` has them: an SQLite file gets a book of handovers; a Celery worker on a broker
folder of the test's own recomputes health and sends the customer emails; meanwhile two processes standing for
the web server log touchpoints and send introduction emails through the real services
(tests/faults/sqlite_workload.py). Every write of theirs is a transaction that reads before it writes, which is
what used to end in "database is locked" when another process wrote at the same moment: the control case runs
the same load without the SQLite options of csm/settings/base.py and must meet it, so the test can tell.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tests.support import REPO_ROOT, live_pids_in_group, wait_until

# The tests write nothing to the test database, but the module's fixture copies it: marked, so it is set up.
pytestmark = pytest.mark.django_db

SECONDS = 4
HANDOVERS = 16
CELERY = str(Path(sys.executable).parent / "celery")


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory, django_db_setup, django_db_blocker) -> Path:
    """A migrated SQLite file, as `make run` has, made once for the module: a copy of the test database when that
    is SQLite (in memory; the seed puts the shipped configuration back if earlier tests emptied it), or built from
    the models when the suite runs on PostgreSQL (the integration run; tests/faults/sqlite_settings.py). The tests
    write nothing to the test database: the processes work on copies of this file."""
    path = tmp_path_factory.mktemp("embedded") / "migrated.sqlite3"
    with django_db_blocker.unblock():
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            target = sqlite3.connect(path)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
            return path
    env = environment(path.parent, path, plain=False)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--run-syncdb", "--noinput", "-v", "0"],
        cwd=REPO_ROOT,
        env={**env, "BATON_FAULTS_SCHEMA_FROM_MODELS": "1"},
        check=True,
        capture_output=True,
        timeout=300,
    )
    return path


def database_copy(migrated: Path, tmp_path: Path, *, plain: bool) -> tuple[Path, dict[str, str]]:
    """A copy of the migrated SQLite file, and the environment of the processes that work on it."""
    database = tmp_path / "db.sqlite3"
    shutil.copyfile(migrated, database)
    return database, environment(tmp_path, database, plain=plain)


def seed(env: dict[str, str]) -> None:
    """A book in the file: handovers whose customer email is still to write, and quiet accounts."""
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.faults.sqlite_workload", "--seed", str(HANDOVERS)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr[-4000:]


def environment(tmp_path: Path, database: Path, *, plain: bool) -> dict[str, str]:
    (tmp_path / "broker" / "queue").mkdir(parents=True, exist_ok=True)
    (tmp_path / "broker" / "processed").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.faults.sqlite_settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "BATON_FAULTS_BROKER_DIR": str(tmp_path / "broker"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("BATON_FAULTS_PLAIN_SQLITE", None)
    if plain:
        env["BATON_FAULTS_PLAIN_SQLITE"] = "1"
    return env


def web_processes(env: dict[str, str], count: int, seconds: float) -> list[subprocess.Popen]:
    return [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.faults.sqlite_workload",
                "--seconds",
                str(seconds),
                "--share",
                f"{i}/{count}",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(count)
    ]


def outcomes(processes: list[subprocess.Popen]) -> list[dict[str, int]]:
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"a web process failed:\n{err[-4000:]}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def read(database: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=20) as reader:
        return reader.execute(sql).fetchall()


def test_web_and_worker_writing_at_once_meet_no_locked_database_and_every_email_is_sent(migrated_sqlite, tmp_path):
    database, env = database_copy(migrated_sqlite, tmp_path, plain=False)
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [CELERY, "-A", "csm", "worker", "--pool=prefork", "--concurrency=2", "--loglevel=INFO",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"faults-{os.getpid()}@localhost"],
            cwd=REPO_ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        seed(env)  # while the worker starts (it takes up the recomputes the seeding queues)
        wait_until(lambda: b" ready." in log.read_bytes() or worker.poll() is not None, timeout=60)
        assert worker.poll() is None, log.read_text()

        results = outcomes(web_processes(env, 2, SECONDS))

        def drained() -> bool:
            waiting = read(database, "SELECT count(*) FROM transitions_outboundemail WHERE status != 'sent'")[0][0]
            pending = read(database, "SELECT count(*) FROM lifecycle_pendingrecompute")[0][0]
            return waiting == 0 and pending == 0

        wait_until(drained, timeout=60, message=f"the worker did not catch up\n{log.read_text()[-4000:]}")
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        finally:
            for pid in live_pids_in_group(worker.pid):
                os.kill(pid, 9)

    worker_log = log.read_text()
    print(f"web processes wrote {results}; the worker sent and recorded every email")
    assert [result["locked"] for result in results] == [0, 0]
    assert "database is locked" not in worker_log
    assert "Traceback" not in worker_log and " raised unexpected" not in worker_log
    touchpoints = sum(result["touchpoints"] for result in results)
    emails = sum(result["emails"] for result in results)
    assert touchpoints >= 20 and emails >= 4, results  # the load was real, not a trickle
    assert read(database, "SELECT count(*) FROM transitions_outboundemail WHERE status = 'sent'")[0][0] == emails
    logged = "SELECT count(*) FROM accounts_timelineentry WHERE kind = 'touchpoint' AND summary = 'Weekly call'"
    assert read(database, logged)[0][0] == touchpoints
    assert read(database, "PRAGMA journal_mode")[0][0] == "wal"


def test_without_the_sqlite_options_the_same_load_meets_a_locked_database(migrated_sqlite, tmp_path):
    """The control: as the embedded default was configured before, two writers at once do collide."""
    _database, env = database_copy(migrated_sqlite, tmp_path, plain=True)
    seed(env)
    started = time.monotonic()

    results = outcomes(web_processes(env, 2, SECONDS - 1))

    print(f"without the options: {results}")
    assert sum(result["locked"] for result in results) > 0, results
    assert time.monotonic() - started < 60
