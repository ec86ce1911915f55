"""Backup and restore (tools/backup.py, `make backup` / `make restore`): a seeded database is dumped, dropped,
restored, and every table comes back with the same rows (count and MD5) and every sequence where it was."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from urllib.parse import quote

import psycopg2
import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests.support import REPO_ROOT, database_url
from transitions.tests.conftest import ensure_default_playbooks

pytestmark = pytest.mark.integration


def _backup(*args: str, url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "tools/backup.py", "--database-url", url, *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _checksums(url: str) -> dict:
    result = _backup("checksums", url=url)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def scratch():
    """A database of its own, copied from the seeded test database; dropped at the end."""
    settings_dict = connection.settings_dict
    name = f"{settings_dict['NAME']}_backup"
    server = {
        key: value
        for key, value in {
            "host": settings_dict.get("HOST"),
            "port": settings_dict.get("PORT"),
            "user": settings_dict.get("USER"),
            "password": settings_dict.get("PASSWORD"),
        }.items()
        if value
    }
    admin = psycopg2.connect(dbname="postgres", **server)
    admin.autocommit = True

    def execute(statement: str) -> None:
        with admin.cursor() as cursor:
            cursor.execute(statement)

    def recreate(*, template: str | None = None) -> None:
        execute(f'DROP DATABASE IF EXISTS "{name}"')
        execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))

    # A template may have no other connection: this test's own is closed and reopened on next use.
    connections.close_all()
    recreate(template=settings_dict["NAME"])
    url = database_url(settings_dict).rsplit("/", 1)[0] + "/" + quote(name, safe="")
    try:
        yield url, recreate
    finally:
        execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture
def seeded():
    # The demo company at a small size: people, teams, accounts, contacts, timeline, signals, health, flags,
    # handovers, notifications; most tables get rows. Transactional tests that ran before emptied the tables the
    # migrations filled, so the shipped playbooks the demo's handovers use are put back first.
    ensure_default_playbooks()
    call_command("seed_demo", seed=42, accounts=25, stdout=StringIO())


@pytest.mark.django_db(transaction=True)
def test_a_dump_dropped_and_restored_gives_back_every_table_identical(seeded, scratch, tmp_path):
    url, recreate = scratch
    before = _checksums(url)
    filled = {table for table, figures in before["tables"].items() if figures["rows"]}
    assert before["tables"]["public.accounts_account"]["rows"] == 25
    assert len(filled) >= 20, sorted(filled)
    assert before["sequences"]

    dump_file = tmp_path / "baton.dump"
    dumped = _backup("dump", "--output", str(dump_file), url=url)
    assert dumped.returncode == 0, dumped.stderr
    assert dump_file.stat().st_size > 0 and not list(tmp_path.glob("*.partial"))

    # Lost: the database is dropped, and an empty one takes its place.
    recreate()
    assert _checksums(url) == {"tables": {}, "sequences": {}}
    restored = _backup("restore", str(dump_file), url=url)
    assert restored.returncode == 0, restored.stderr
    assert _checksums(url) == before

    # Changed after the backup: restoring over it needs --replace, then puts the backup's data back.
    changed = psycopg2.connect(url)
    with changed, changed.cursor() as cursor:
        cursor.execute("DELETE FROM accounts_timelineentry WHERE id IN (SELECT id FROM accounts_timelineentry LIMIT 3)")
        cursor.execute("UPDATE accounts_account SET name = name || ' (renamed)'")
    changed.close()
    assert _checksums(url) != before
    refused = _backup("restore", str(dump_file), url=url)
    assert refused.returncode == 2 and "--replace" in refused.stderr
    replaced = _backup("restore", str(dump_file), "--replace", url=url)
    assert replaced.returncode == 0, replaced.stderr
    assert _checksums(url) == before


def test_the_backup_refuses_sqlite_and_a_missing_database_url_with_a_clear_message():
    sqlite = _backup("dump", url="sqlite:///db.sqlite3")
    assert sqlite.returncode == 2 and "Backups cover PostgreSQL" in sqlite.stderr
    missing = subprocess.run(
        [sys.executable, "tools/backup.py", "dump"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert missing.returncode == 2 and "DATABASE_URL is not set" in missing.stderr
