"""Log lines that say which request or task wrote them, as text for people or as JSON for a log collector.

`DJANGO_LOG_FORMAT=json` (settings) switches the console handler to
`JsonFormatter`: one JSON object per line with the time, level, logger and
message, the request id (`core.request_id`), the Celery task id and name (a
task queued during a request carries that request's id too), the
exception's traceback, and whatever the call passed in `extra=` (a
recompute chunk's counts, for example). The default, `plain`, stays the
one-line text `make run` prints.

`ContextFilter` puts `request_id`, `task_id` and `task_name` on every record,
so either format can use them. A Celery worker sets up its own handlers;
`celery_handlers_use_format` (connected in `csm/celery.py`) gives them the
same format and filter.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import logging
from typing import Any

from celery import current_task

# The id of the request being served in this thread (or asyncio task); empty outside a request.
request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("baton_request_id", default="")

# Attributes every LogRecord has; anything else on a record came from `extra=` and is written out as a field.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__.keys() | {"message", "asctime", "taskName"}
)
_CONTEXT_ATTRIBUTES = ("request_id", "task_id", "task_name")


def _current_task() -> tuple[str, str]:
    """(task id, task name) of the Celery task running in this thread, or empty strings."""
    if not current_task:
        return "", ""
    return str(current_task.request.id or ""), str(current_task.name or "")


class ContextFilter(logging.Filter):
    """Adds `request_id`, `task_id` and `task_name` to every record (empty strings when there is none)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = request_id_var.get()
        if not getattr(record, "task_id", ""):
            record.task_id, record.task_name = _current_task()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; empty context fields are left out."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for name in _CONTEXT_ATTRIBUTES:
            value = getattr(record, name, "")
            if value:
                entry[name] = value
        for name, value in record.__dict__.items():
            if name not in _RECORD_ATTRIBUTES and name not in _CONTEXT_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def celery_handlers_use_format(logger: logging.Logger, log_format: str) -> None:
    """Give a Celery worker's (or beat's) handlers the configured format and the context filter.

    Celery replaces the root logger's handlers with its own when a worker
    starts; its text format already names the task, so only JSON needs
    changing. The filter goes on either way, for handlers that read the ids.
    """
    for handler in logger.handlers:
        if not any(isinstance(existing, ContextFilter) for existing in handler.filters):
            handler.addFilter(ContextFilter())
        if log_format == "json":
            handler.setFormatter(JsonFormatter())
