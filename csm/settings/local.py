"""Laptop defaults: SQLite, console email, Celery over a folder on disk."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)

# Serve static files straight from the app folders; no collectstatic needed on a laptop.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
