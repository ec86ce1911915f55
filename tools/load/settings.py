"""Settings for the web server `make load` starts: production's, with three differences a loopback run needs.

Everything else is production's: DEBUG off, persistent database connections, the Redis cache that counts rate
limits and sign-in failures, Celery tasks sent to Redis, the sign-in lock-out, the anonymous and failed-token
rates, the content security policy.

1. Plain HTTP on loopback, with no TLS proxy in front: no redirect to https, and the session and CSRF cookies
   are not marked Secure (a client does not send a Secure cookie back over http).
2. The per-user API rate is raised for the load users (production: 1,200 a minute). A handful of simulated users
   send what a whole company would; the throttle still runs and counts every request in Redis, so its cost is in
   the figures, but it does not answer 429. `LOAD_API_RATE_USER` sets it.
3. Static files are not collected first (no manifest, no STATIC_ROOT): the load requests no static file, and a
   page only names them.
"""

from csm.settings.production import *  # noqa: F403
from csm.settings.production import REST_FRAMEWORK, env

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {
        **REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
        "user": env("LOAD_API_RATE_USER", default="100000/min"),
    },
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
