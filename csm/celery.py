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


@signals.before_task_publish.connect
def _task_carries_the_request_id(headers=None, **kwargs) -> None:
    """A task queued while serving a request names that request in its log lines (core/request_id.py)."""
    from core.request_id import request_id_into_task_headers

    request_id_into_task_headers(headers)


@signals.task_prerun.connect
def _task_logs_the_request_id_it_carries(task_id=None, task=None, **kwargs) -> None:
    from core.request_id import request_id_from_task_headers

    request_id_from_task_headers(task_id, task)


@signals.task_postrun.connect
def _task_forgets_the_request_id(task_id=None, **kwargs) -> None:
    from core.request_id import request_id_forgotten_after_task

    request_id_forgotten_after_task(task_id)
