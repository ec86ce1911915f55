"""Settings for the processes of the embedded-default fault test (tests/faults/test_sqlite_two_processes.py).

The test settings, with what `make run` has instead: a real worker on a folder-on-disk broker (a folder of the
test's own, not the checkout's `var/celery/`) and an SQLite file (DATABASE_URL) shared by every process.
`BATON_FAULTS_PLAIN_SQLITE=1` takes away the SQLite options of csm/settings/base.py, as before they existed;
`BATON_FAULTS_SCHEMA_FROM_MODELS=1` lets `migrate --run-syncdb` build the schema from the models in seconds rather
than run every migration (the seeding then writes the shipped configuration the data migrations would have).
"""

import os
from pathlib import Path

from csm.settings.test import *  # noqa: F403
from csm.settings.test import DATABASES

CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_URL = "filesystem://"
_broker = Path(os.environ["BATON_FAULTS_BROKER_DIR"])
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "data_folder_in": str(_broker / "queue"),
    "data_folder_out": str(_broker / "queue"),
    "processed_folder": str(_broker / "processed"),
    "control_folder": str(_broker / "control"),
    "store_processed": False,
}
CELERY_BEAT_SCHEDULE: dict = {}
if os.environ.get("BATON_FAULTS_PLAIN_SQLITE") == "1":
    DATABASES["default"]["OPTIONS"] = {}


class _NoMigrations(dict):
    """Every app "has no migrations": `migrate --run-syncdb` creates its tables from the models."""

    def __contains__(self, app_label: object) -> bool:
        return True

    def __getitem__(self, app_label: str) -> None:
        return None


if os.environ.get("BATON_FAULTS_SCHEMA_FROM_MODELS") == "1":
    MIGRATION_MODULES = _NoMigrations()
