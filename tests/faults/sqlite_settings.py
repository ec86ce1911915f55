"""Settings for the processes of the embedded-default fault test (tests/faults/test_sqlite_two_processes.py).

The test settings, with what `make run` has instead: a real worker on a folder-on-disk broker (a folder of the
test's own, not the checkout's `var/celery/`) and an SQLite file (DATABASE_URL) shared by every process.
`BATON_FAULTS_PLAIN_SQLITE=1` takes away the SQLite options of csm/settings/base.py, as before they existed.
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
    "store_processed": False,
}
CELERY_BEAT_SCHEDULE: dict = {}
if os.environ.get("BATON_FAULTS_PLAIN_SQLITE") == "1":
    DATABASES["default"]["OPTIONS"] = {}
