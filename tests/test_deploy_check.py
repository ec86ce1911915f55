"""Production settings pass Django's deployment checklist without a single warning."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_check_deploy_with_production_settings_is_clean():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csm.settings.production",
        "DJANGO_SECRET_KEY": "a-long-random-production-secret-" + "x" * 40,
        "DJANGO_ALLOWED_HOSTS": "baton.example.com",
        "DATABASE_URL": "postgres://baton@db.example.com:5432/baton",
        "CELERY_BROKER_URL": "redis://redis.example.com:6379/0",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SECRET_KEY"}
    env.update(
        DJANGO_SETTINGS_MODULE="csm.settings.production",
        DJANGO_ALLOWED_HOSTS="x",
        DATABASE_URL="postgres://a@b/c",
        CELERY_BROKER_URL="redis://r",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
