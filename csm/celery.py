import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csm.settings.local")

app = Celery("csm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.after_setup_logger.connect
@signals.after_setup_task_logger.connect
def _logs_in_the_configured_format(logger, **kwargs) -> None:
    """A worker's and beat's log handlers (Celery sets up its own) write DJANGO_LOG_FORMAT with task ids too."""
    from django.conf import settings

    from core.logging import celery_handlers_use_format

    celery_handlers_use_format(logger, settings.LOG_FORMAT)
