"""Error reporting is off (sentry-sdk not even imported) without SENTRY_DSN, and on with Django and Celery with it.

Each case starts Django in a process of its own: sentry-sdk hooks into
Django and Celery for good once it is initialised, which must not leak into
the rest of the suite. The DSN points at a closed loopback port; nothing is
sent, as nothing is reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

PROBE = """
import json, sys
import django
django.setup()
state = {"imported": "sentry_sdk" in sys.modules}
if state["imported"]:
    import sentry_sdk
    client = sentry_sdk.get_client()
    state.update(
        active=client.is_active(),
        integrations=sorted(client.integrations),
        dsn=client.options["dsn"],
        environment=client.options["environment"],
        send_default_pii=client.options["send_default_pii"],
        max_request_body_size=client.options["max_request_body_size"],
        include_local_variables=client.options["include_local_variables"],
    )
print(json.dumps(state))
"""


def _django_with(**env: str) -> dict:
    environment = {key: value for key, value in os.environ.items() if not key.startswith("SENTRY_")}
    environment.update(DJANGO_SETTINGS_MODULE="csm.settings.test", **env)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_without_a_dsn_sentry_is_off_and_not_imported():
    assert _django_with() == {"imported": False}


def test_with_a_dsn_sentry_reports_from_django_and_celery_and_sends_no_personal_data():
    dsn = "http://public@127.0.0.1:9/1"
    state = _django_with(SENTRY_DSN=dsn, SENTRY_ENVIRONMENT="staging")
    assert state["imported"] and state["active"]
    assert {"django", "celery"} <= set(state["integrations"])
    assert state["dsn"] == dsn and state["environment"] == "staging"
    assert state["send_default_pii"] is False
    assert state["max_request_body_size"] == "never"
    assert state["include_local_variables"] is False
