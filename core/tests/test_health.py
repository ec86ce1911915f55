"""Liveness stays trivial; readiness answers 200 only when the database and the broker do, and names what failed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache

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
