"""Settings for the web server and worker processes the integration fault tests start (tests/faults/processes.py).

The test settings (PostgreSQL and Redis come from DATABASE_URL and CELERY_BROKER_URL), except that an event
handler that fails is logged as in production instead of failing the request: what a page does when the broker
is down is what production does.
"""

from csm.settings.test import *  # noqa: F403

BATON_EVENT_HANDLERS_RAISE = False
