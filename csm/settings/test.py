"""Test defaults: fast hashing, in-memory email, eager Celery.

The integration run overrides DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL
(Redis) from the environment and turns eager mode off for the tests that start
a real worker.
"""

from .base import *  # noqa: F403
from .base import REST_FRAMEWORK, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

WHITENOISE_USE_FINDERS = True
# A test's data is visible only on its own connection until it commits.
HEALTH_PREVIEW_WORKERS = 1
BATON_EVENT_HANDLERS_RAISE = True  # a broken event handler fails the test that triggered it (core.events)
# Rate limits out of the way of a suite that makes thousands of calls a minute from one address; the tests of the
# limits themselves set production's rates (tests/test_throttling.py).
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/min", "user": "100000/min", "failed_auth": "100000/min"},
}
