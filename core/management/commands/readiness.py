"""`python manage.py readiness`: the readiness probe's checks for processes that serve no HTTP (worker, beat).

Prints the same JSON as `GET /health/ready` and exits 0 when every check
passes, 1 otherwise; `compose.yaml` uses it as the worker's and beat's
healthcheck.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand

from core.health import readiness


class Command(BaseCommand):
    help = "Check that the database and the Celery broker answer; exit 1 if either does not."

    def handle(self, *args: Any, **options: Any) -> None:
        ready, checks = readiness()
        failed = sorted(name for name, result in checks.items() if not result["ok"])
        self.stdout.write(json.dumps({"status": "ok" if ready else "unavailable", "failed": failed, "checks": checks}))
        if not ready:
            sys.exit(1)
