"""Liveness stays trivial; readiness answers 200 only when the database and the broker do, within seconds, and names
what failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from django.core.cache import cache
from django.db import connection

from core.health import bounded_postgresql_cursor

ROOT = Path(__file__).resolve().parent.parent.parent


def unused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def folder_broker(settings, tmp_path):
    queue = tmp_path / "queue"
    queue.mkdir()
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "processed_folder": str(tmp_path / "processed"),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
    }
    return queue


def test_liveness_answers_without_the_database_or_a_sign_in(client):
    # No django_db mark: pytest-django refuses any database access, so a query would fail the test.
    response = client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"
    assert client.get("/health/live/").status_code == 200


@pytest.mark.django_db
def test_readiness_is_200_when_the_database_and_the_folder_broker_answer(client, folder_broker):
    response = client.get("/health/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["database"]["ok"] is True and body["checks"]["broker"]["ok"] is True
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readiness_is_503_naming_the_broker_when_its_folder_is_missing(client, folder_broker):
    folder_broker.rmdir()
    response = client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["broker"]
    assert body["checks"]["broker"] == {"ok": False, "error": "FileNotFoundError", "ms": body["checks"]["broker"]["ms"]}
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db
def test_readiness_is_503_within_seconds_when_redis_does_not_answer(client, settings):
    port = unused_port()
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{port}/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    started = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - started < 5
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker"]
    # The error's class only: the broker's address stays in the server's log.
    assert body["checks"]["broker"]["error"] == "OperationalError"
    assert str(port) not in response.content.decode()


@pytest.mark.integration
@pytest.mark.django_db
def test_readiness_is_200_against_the_integration_runs_redis(client, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    response = client.get("/health/ready")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_the_probes_skip_sign_in_host_checks_https_redirects_and_rate_limits(client, settings, folder_broker):
    settings.ALLOWED_HOSTS = ["baton.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "1/min", "user": "1/min"}}
    cache.clear()
    # A probe calls by container name or address, over plain HTTP, as often as it likes.
    for _ in range(3):
        assert client.get("/health/ready", HTTP_HOST="10.0.0.7:8000").status_code == 200
        assert client.get("/health/live", HTTP_HOST="web:8000").status_code == 200
    # Every other address still gets the host check and the redirect.
    assert client.get("/login/", HTTP_HOST="10.0.0.7:8000").status_code == 400
    assert client.get("/login/", HTTP_HOST="baton.example.com").status_code == 301
    cache.clear()


def test_the_probes_answer_only_get_and_head(client):
    assert client.head("/health/live").status_code == 200
    response = client.post("/health/live")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert client.post("/health/ready").status_code == 405


def test_the_readiness_command_exits_1_naming_the_database_and_the_broker_when_both_are_down():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csm.settings.test",
        "DATABASE_URL": f"postgres://baton@127.0.0.1:{unused_port()}/baton",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{unused_port()}/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "readiness"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert body["status"] == "unavailable"
    assert body["failed"] == ["broker", "database"]


# --- A database that does not answer ----------------------------------------------------------------------------


@pytest.fixture
def silent_database():
    """A loopback port that takes connections and never says a word, as a hung database (or a proxy before one) does."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes the handshake; nothing ever reads or answers
        yield listener.getsockname()[1]


def test_the_bounded_postgresql_connection_gives_up_on_a_database_that_never_answers(silent_database):
    params = {"host": "127.0.0.1", "port": silent_database, "dbname": "baton", "user": "baton"}
    started = time.monotonic()
    with pytest.raises(psycopg2.OperationalError, match="timeout"), bounded_postgresql_cursor(params, timeout=0.5):
        pass
    # libpq's connect timeout is whole seconds, 2 at least.
    assert time.monotonic() - started < 4


def test_the_readiness_command_answers_unavailable_within_seconds_when_the_database_never_answers(silent_database):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csm.settings.test",
        "DATABASE_URL": f"postgres://baton@127.0.0.1:{silent_database}/baton",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{unused_port()}/0",
    }
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "readiness"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result.stdout + result.stderr
    body = json.loads(result.stdout)
    assert "database" in body["failed"] and body["checks"]["database"]["error"] == "OperationalError"
    assert body["checks"]["database"]["ms"] < 4000
    assert elapsed < 20  # Django's start-up included; without a bound the command never finishes


postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement bound is PostgreSQL's")


@postgresql_only
@pytest.mark.django_db
def test_the_probes_statement_is_bounded_on_postgresql():
    with bounded_postgresql_cursor(connection.get_connection_params(), timeout=0.5) as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("500ms",)
        started = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled):
            cursor.execute("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 2
    # The bound was the probe transaction's own (SET LOCAL): Django's connection keeps its setting.
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("0",)


@postgresql_only
@pytest.mark.django_db
def test_readiness_is_503_within_seconds_when_the_database_never_answers(
    client, folder_broker, silent_database, monkeypatch
):
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", silent_database)
    started = time.monotonic()
    response = client.get("/health/ready")
    assert time.monotonic() - started < 4
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["database"] and body["checks"]["database"]["error"] == "OperationalError"
    assert str(silent_database) not in response.content.decode()
