"""compose.yaml and the Dockerfile, checked by reading them: CI has no Docker daemon, so the stack is not started.

What is checked: the five services and the one-shot migrate; one beat that cannot be given replicas; web,
worker and beat from one image with one environment, after the migration; workers free to scale; healthchecks
on the readiness probe; every variable compose sets is one the settings read; and the settings load from the
environment compose gives them, with its defaults.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.health import READY_PATHS
from tests.settings_env import environment_variables_read_by_settings

ROOT = Path(__file__).resolve().parent.parent
APP_SERVICES = ("migrate", "web", "worker", "beat")
# Read by Django, manage.py, wsgi.py and Celery themselves rather than by the settings.
READ_BEFORE_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's `${NAME}`, `${NAME:-default}` and `${NAME:?error}`, nested ones included (innermost first)."""
    pattern = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^${}]*))?\}")

    def one(match: re.Match) -> str:
        name, operator, operand = match.groups()
        if environ.get(name):
            return environ[name]
        if operator == ":?":
            raise LookupError(f"{name}: {operand}")
        return operand or ""

    while True:
        replaced = pattern.sub(one, value)
        if replaced == value:
            assert "${" not in replaced, f"unresolved interpolation in {value!r}"
            return replaced
        value = replaced


def test_the_stack_is_postgresql_redis_a_one_shot_migrate_web_worker_and_beat(services):
    assert set(services) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert services["migrate"]["restart"] == "no"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}


def test_web_worker_and_beat_start_after_the_migration_with_the_database_and_broker_healthy(services):
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"},
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }, name


def test_web_worker_beat_and_migrate_share_one_image_and_one_environment(services):
    first = services[APP_SERVICES[0]]
    assert first["build"] == "." and first["image"]
    for name in APP_SERVICES[1:]:
        assert services[name]["build"] == first["build"], name
        assert services[name]["image"] == first["image"], name
        assert services[name]["environment"] == first["environment"], name
    commands = {name: " ".join(services[name]["command"]) for name in APP_SERVICES}
    assert commands["web"].startswith("gunicorn csm.wsgi ")
    assert commands["worker"].startswith("celery -A csm worker ")
    assert commands["beat"].startswith("celery -A csm beat ")


def test_exactly_one_beat_and_workers_free_to_scale(services):
    beat = services["beat"]
    assert "scale" not in beat and "replicas" not in beat.get("deploy", {})
    for name, service in services.items():
        assert "scale" not in service, name
        assert "replicas" not in service.get("deploy", {}), name
    worker = services["worker"]
    # `--scale worker=N` fails on a fixed container name or a published host port.
    assert "container_name" not in worker and "ports" not in worker
    assert [name for name, service in services.items() if "ports" in service] == ["web"]


def test_healthchecks_use_the_readiness_probe(services):
    web_check = " ".join(services["web"]["healthcheck"]["test"])
    (path,) = re.findall(r"http://127\.0\.0\.1:8000(/health/\w+)", web_check)
    assert path in READY_PATHS
    for name in ("worker", "beat"):
        assert services[name]["healthcheck"]["test"] == ["CMD", "python", "manage.py", "readiness"], name
    assert (ROOT / "core" / "management" / "commands" / "readiness.py").is_file()
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_every_variable_compose_sets_is_one_the_settings_read(services):
    read = set(environment_variables_read_by_settings()) | READ_BEFORE_SETTINGS
    set_by_compose = set(services["web"]["environment"])
    assert set_by_compose - read == set()
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"} <= set_by_compose


def test_no_secret_key_is_shipped_and_the_defaults_point_at_the_compose_services(services):
    environment = services["web"]["environment"]
    with pytest.raises(LookupError, match="DJANGO_SECRET_KEY"):
        interpolate(environment["DJANGO_SECRET_KEY"], {})
    resolved = {name: interpolate(str(value), {"DJANGO_SECRET_KEY": "s"}) for name, value in environment.items()}
    assert resolved["DATABASE_URL"] == "postgres://baton:baton@postgres:5432/baton"
    assert resolved["CELERY_BROKER_URL"].startswith("redis://redis:6379/")
    assert resolved["CACHE_URL"].startswith("redis://redis:6379/")
    assert resolved["CACHE_URL"] != resolved["CELERY_BROKER_URL"]
    # Workers on other machines point the same file at shared servers through the environment.
    moved = {"DJANGO_SECRET_KEY": "s", "DATABASE_URL": "postgres://baton:pw@db.internal:5432/baton"}
    assert interpolate(environment["DATABASE_URL"], moved) == moved["DATABASE_URL"]
    assert interpolate(environment["DATABASE_URL"], {"POSTGRES_PASSWORD": "pw"}).startswith("postgres://baton:pw@")


def test_the_settings_load_from_the_environment_compose_gives_them():
    compose_text = (ROOT / "compose.yaml").read_text()
    environment = yaml.safe_load(compose_text)["services"]["web"]["environment"]
    secret = "a-long-random-production-secret-" + "x" * 40
    resolved = {name: interpolate(str(value), {"DJANGO_SECRET_KEY": secret}) for name, value in environment.items()}
    env = {key: value for key, value in os.environ.items() if key not in environment}
    env.update(resolved)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert resolved["DJANGO_SETTINGS_MODULE"] == "csm.settings.production"


def test_the_image_is_python_slim_with_the_requirements_static_files_and_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()
    instructions = [line for line in dockerfile.splitlines() if line and not line.startswith(("#", " "))]
    assert re.fullmatch(r"FROM python:3\.\d+-slim(-\w+)?", instructions[0])
    assert "COPY requirements.txt ./" in instructions
    assert "RUN pip install -r requirements.txt" in instructions
    assert "python manage.py collectstatic --noinput" in dockerfile
    assert "USER baton" in instructions
    assert instructions[-1].startswith('CMD ["gunicorn", "csm.wsgi"')
    assert re.search(r"^gunicorn==", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".env", ".git", ".venv", "var", "db.sqlite3*"} <= set(ignored)
