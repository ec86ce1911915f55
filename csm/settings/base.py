"""Settings shared by every environment.

Everything that differs between a laptop and production comes from the
environment, read here in one place; `local`, `test` and `production` only
choose defaults.
"""

import datetime as dt
import re
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="insecure-local-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # Locks a username at one address after repeated wrong passwords (core/auth.py).
    "axes",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "core",
    "users",
    "accounts",
    "lifecycle",
    "notifications",
    "plans",
    "transitions",
    "desk",
]

MIDDLEWARE = [
    # A request id on every request, its log lines and its response (core/request_id.py).
    "core.request_id.RequestIdMiddleware",
    # /health/live and /health/ready, answered before sign-in, host checks and HTTPS redirects (core/health.py).
    "core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response, with a nonce per request for inline scripts (core/csp.py).
    "core.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # A number the database cannot hold, in any page's input, is a 400 (core/middleware.py).
    "core.middleware.OutOfRangeInputMiddleware",
    # A write whose task cannot be queued (the broker is down) answers 503 saying so, not 500 (core/broker.py).
    "core.broker.BrokerUnavailableMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in with the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "csm.urls"
WSGI_APPLICATION = "csm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "users.context_processors.navigation",
                "notifications.context_processors.unread_notifications",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
if "postgresql" in DATABASES["default"]["ENGINE"]:
    # Memory a sort or hash may take before spilling to disk, per operation. PostgreSQL's 4 MB makes the
    # portfolio's GROUP BY over a whole book (about 10,000 groups at 100,000 accounts) sort on disk.
    work_mem = env.str("BATON_DATABASE_WORK_MEM", default="32MB")
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = f"-c work_mem={work_mem}"
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has web and worker writing one file at once (README, "Faults"): readers never block
    # the writer (WAL), a writer waits its turn for up to `timeout` seconds, and a transaction takes the write
    # lock when it begins (IMMEDIATE), so one that read first is never refused when it comes to write.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
            "timeout": env.float("BATON_SQLITE_TIMEOUT", default=20.0),
            "transaction_mode": "IMMEDIATE",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Covering indexes (INCLUDE columns) are a PostgreSQL optimisation; SQLite, the
# embedded development database, builds them as plain indexes, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = ["core.auth.LoginLockoutBackend", "django.contrib.auth.backends.ModelBackend"]
# Sign-in lock-out: this many wrong passwords for one username from one address lock that pair for this long
# (an admin unlocks sooner under "Access attempts"); the page says so (templates/registration/locked_out.html).
AXES_FAILURE_LIMIT = env.int("BATON_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = dt.timedelta(minutes=env.int("BATON_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# Reverse proxies in front of Baton that append to X-Forwarded-For (0: none, the connection's address is the
# client's and the header is ignored). The sign-in lock-out and the API's rate limits key on the client's address
# found this way (core/client_address.py; DRF's NUM_PROXIES below).
BATON_TRUSTED_PROXY_COUNT = env.int("BATON_TRUSTED_PROXY_COUNT", default=0)
if BATON_TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"BATON_TRUSTED_PROXY_COUNT must be 0 or more, not {BATON_TRUSTED_PROXY_COUNT}.")
AXES_CLIENT_IP_CALLABLE = "core.client_address.client_ip"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "cockpit"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Baton <baton@localhost>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # An address that failed to authenticate too often is answered 429 before any credentials are tried.
        "core.throttles.FailedAuthenticationGate",
        # First to answer, so a request without credentials is answered 401 with `WWW-Authenticate: Bearer`.
        "users.tokens.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
        # Legacy keys (`Token <40 hex>`) still work, with their user's full rights, until they are replaced
        # by scoped tokens; no new ones can be made in the admin (README, "API tokens").
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies are size-limited (413) and refused with a 400 for NUL characters, out-of-range numbers and
    # deep nesting (core/parsers.py); batch endpoints use core.parsers.BatchJSONParser's larger limit.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Per user (session or token) and per address for anonymous callers; 429 with Retry-After (core/throttles.py).
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.AnonRateThrottle", "core.throttles.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("BATON_API_RATE_ANON", default="60/min"),
        "user": env("BATON_API_RATE_USER", default="1200/min"),
        # Failed token or password authentications per address before it is refused for the rest of the minute.
        "failed_auth": env("BATON_API_RATE_FAILED_AUTH", default="30/min"),
    },
    "EXCEPTION_HANDLER": "core.throttles.exception_handler",
    # Throttles count anonymous callers by the client's address behind this many trusted proxies (see above).
    "NUM_PROXIES": BATON_TRUSTED_PROXY_COUNT,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        # DRF's ordering filter, except on the lists that page by keyset (csm/pagination.py).
        "csm.pagination.KeysetOrderingFilter",
    ],
    # Keyset (cursor) pages where the view declares index-backed `ordering_keys`, page numbers elsewhere.
    "DEFAULT_PAGINATION_CLASS": "csm.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Baton API",
    "DESCRIPTION": "Customer success platform: accounts, contacts, timeline, lifecycle and handovers.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Every operation documents the errors the whole API can answer (401, 403, 429, 400, 404...): core/api.py.
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api.error_responses_hook"],
    # Several models have a `kind` or `severity`; name each choice set after its meaning.
    "ENUM_NAME_OVERRIDES": {
        "SurveyKindEnum": "lifecycle.signals.models.SurveyKind",
        "FlagSeverityEnum": "lifecycle.flags.models.Severity",
        "TicketSeverityEnum": "lifecycle.signals.models.TicketSeverity",
        "RuleKindEnum": "lifecycle.flags.models.RuleKind",
        "StageEnum": "accounts.models.Stage",
        "TimelineKindEnum": "accounts.models.TimelineKind",
        "PlaybookKindEnum": "transitions.models.PlaybookKind",
        "NotificationKindEnum": "notifications.models.NotificationKind",
        "ChurnReasonEnum": "accounts.outcomes.models.ChurnReason",
        "TransitionReasonEnum": "transitions.models.TransitionReason",
        "TokenKindEnum": "users.tokens.models.TokenKind",
    },
}

# Celery: the broker comes from the environment. Locally it is a folder on
# disk, so `make run` needs no Redis; production points it at Redis.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(BASE_DIR / "var" / "celery" / "queue"),
        "data_folder_out": str(BASE_DIR / "var" / "celery" / "queue"),
        "processed_folder": str(BASE_DIR / "var" / "celery" / "processed"),
        # Broadcasts (worker pings, `celery inspect`): under var/ too, not a `control/` folder in the current one.
        "control_folder": str(BASE_DIR / "var" / "celery" / "control"),
        "store_processed": False,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    # How long Redis waits before handing an unacknowledged task (its worker
    # died) to another worker; longer than the slowest task.
    else {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
)
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
# Database connections a scorecard preview scores its chunks on at once (PostgreSQL only).
HEALTH_PREVIEW_WORKERS = env.int("BATON_HEALTH_PREVIEW_WORKERS", default=2)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict = {
    # Every account's health and red flags, once a night after the day's signals are in.
    "health-recompute-daily": {
        "task": "lifecycle.tasks.recompute_daily",
        "schedule": crontab(hour=env.int("BATON_RECOMPUTE_HOUR", default=2), minute=0),
    },
    # Signals that arrived while a worker was down are picked up here at the latest.
    "health-recompute-pending": {"task": "lifecycle.tasks.recompute_pending_accounts", "schedule": 300.0},
    # Chunks of a run that stalled (a worker died and a message was lost) are sent again; done ones are skipped.
    "health-recompute-resume-stalled": {"task": "lifecycle.tasks.recompute_resume_stalled", "schedule": 900.0},
}
# ARR in the reporting currency, reconverted just after midnight so a rate dated ahead takes over on its day
# (before the nightly health recompute reads it).
CELERY_BEAT_SCHEDULE["accounts-converted-arr-daily"] = {
    "task": "accounts.tasks.converted_arr_refresh_daily",
    "schedule": crontab(hour=0, minute=5),
}
# Notifications: pending emails and webhooks are retried every minute; digests go out each morning.
CELERY_BEAT_SCHEDULE["notifications-retry-deliveries"] = {
    "task": "notifications.tasks.deliveries_retry_due",
    "schedule": 60.0,
}
# Outbound webhooks: deliveries whose retry is due (or that a lost task left behind) are sent every minute.
CELERY_BEAT_SCHEDULE["notifications-webhooks-send-due"] = {
    "task": "notifications.webhooks.tasks.webhook_deliveries_send_due",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["notifications-daily-digest"] = {
    "task": "notifications.tasks.digests_send",
    "schedule": crontab(hour=env.int("BATON_DIGEST_HOUR", default=7), minute=0),
}
# Work a vanished worker left behind (README, "Faults"): customer emails queued or sending for too long, bulk
# handovers and imports shown in progress with no sign of life for BATON_ABANDONED_JOB_MINUTES (longer than any task
# may run: the hard time limit), and bulk handovers whose task never arrived.
BATON_ABANDONED_JOB_MINUTES = env.int("BATON_ABANDONED_JOB_MINUTES", default=CELERY_TASK_TIME_LIMIT // 60 + 5)
CELERY_BEAT_SCHEDULE["transitions-outbound-emails-sweep"] = {
    "task": "transitions.tasks.outbound_emails_sweep",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["transitions-bulk-handovers-sweep"] = {
    "task": "transitions.tasks.bulk_handovers_sweep",
    "schedule": 300.0,
}
CELERY_BEAT_SCHEDULE["accounts-import-jobs-sweep"] = {
    "task": "accounts.imports.tasks.import_jobs_sweep",
    "schedule": 300.0,
}

# Logs: one line of text per record (`plain`, what `make run` prints), or one JSON object per line (`json`, for a
# log collector) carrying the request id or Celery task id (core/logging.py; workers too, see csm/celery.py).
LOG_FORMAT = env("DJANGO_LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"DJANGO_LOG_FORMAT must be plain or json, not {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "core.logging.ContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "core.logging.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["context"]}},
    "root": {"handlers": ["console"], "level": env("DJANGO_LOG_LEVEL", default="INFO")},
}

# Error reporting to Sentry (pages, API and Celery tasks), only when a DSN is given; nothing is imported otherwise.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    from core.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )

# Baton domain settings
BATON_PAGE_SIZE = 50
# Links in emails and chat messages point here.
BATON_BASE_URL = env("BATON_BASE_URL", default="http://127.0.0.1:8000")
BATON_WEBHOOK_TIMEOUT = env.int("BATON_WEBHOOK_TIMEOUT", default=10)
# Largest API request bodies, in bytes: ordinary JSON, and batches of up to 10,000 rows (10,000 usage rows are
# about 1.7 MB, tickets with 300-character subjects about 5 MB, surveys with 1,000-character comments about 12 MB).
BATON_API_MAX_BODY_BYTES = env.int("BATON_API_MAX_BODY_BYTES", default=2 * 1024 * 1024)
BATON_API_MAX_BATCH_BYTES = env.int("BATON_API_MAX_BATCH_BYTES", default=20 * 1024 * 1024)
# Outbound webhooks (README, "Webhooks"): seconds to connect and for each read of the receiver's answer, and
# whether admins may register receivers on loopback, private or link-local addresses, or over plain http
# (an install whose receivers live on its own network; off by default, as such URLs reach inside it).
BATON_WEBHOOKS_TIMEOUT = env.float("BATON_WEBHOOKS_TIMEOUT", default=5.0)
BATON_WEBHOOKS_ALLOW_PRIVATE = env.bool("BATON_WEBHOOKS_ALLOW_PRIVATE", default=False)
# Every sum and sort of ARR is in this currency, converted at the exchange rates admins keep.
BATON_REPORTING_CURRENCY = env("BATON_REPORTING_CURRENCY", default="USD")
if not re.fullmatch(r"[A-Z]{3}", BATON_REPORTING_CURRENCY):
    raise ImproperlyConfigured(
        f"BATON_REPORTING_CURRENCY must be three capital letters, not {BATON_REPORTING_CURRENCY!r}."
    )
