"""Events: how a lower app tells the apps above it that something happened.

The apps are layered (README, "Layout"): a lower app never imports a higher
one. When a change low down matters higher up (a stage changed, so a playbook
may start; a flag was raised, so people are notified), the service that made
the change announces an event, and the higher apps' handlers react:

    # lifecycle/stages/events.py: the event, a frozen dataclass of ids and values
    @dataclass(frozen=True)
    class StageChanged(Event):
        account_id: int
        ...

    # lifecycle/stages/services.py, inside the transaction that changes the stage
    events.announce(StageChanged(account_id=account.pk, ...))

    # transitions/apps.py, at start-up
    events.subscribe(StageChanged, handlers.start_stage_playbooks)

Handlers run after the announcing transaction commits (at once when there is
none), in the order they subscribed, each in its own call: a handler sees the
committed change, and one that raises is logged without undoing the change or
stopping the others. Tests that want the handlers to run inside a test
transaction use `django_capture_on_commit_callbacks(execute=True)`.

Events carry ids and plain values, never model instances: a handler reads what
it needs, and a handler that queues a task passes the ids on.

`subscriptions()` lists every (event, handler) pair, the one place to read who
listens to what; `python manage.py events` prints it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of every event; subclasses are frozen dataclasses of ids and plain values."""


E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]

_handlers: dict[type[Event], list[Handler]] = defaultdict(list)


def subscribe(event_type: type[E], handler: Callable[[E], None]) -> None:
    """Call `handler(event)` after each `event_type` is announced; subscribing twice is a no-op."""
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(f"{event_type!r} is not an Event class")
    if handler not in _handlers[event_type]:
        _handlers[event_type].append(handler)


def announce(event: Event) -> None:
    """Run every handler of `event`'s class once the current transaction commits."""
    # Tests raise so a broken handler fails the test that triggered it; in
    # production the committed change stands and the error is logged.
    robust = not getattr(settings, "BATON_EVENT_HANDLERS_RAISE", False)
    for handler in list(_handlers.get(type(event), ())):
        transaction.on_commit(_bound(handler, event), robust=robust)


def _bound(handler: Handler, event: Event) -> Callable[[], None]:
    def run() -> None:
        logger.debug("event %s -> %s", type(event).__name__, _name(handler))
        handler(event)

    # Django names the callback when it logs a robust callback's error: name the handler, not "run".
    run.__qualname__ = f"{_name(handler)}({type(event).__name__})"
    return run


def _name(thing: Any) -> str:
    return f"{thing.__module__}.{thing.__qualname__}"


def subscriptions() -> list[tuple[str, str]]:
    """Every (event, handler) pair as dotted names, events in name order, handlers in subscription order."""
    return [
        (_name(event_type), _name(handler))
        for event_type in sorted(_handlers, key=_name)
        for handler in _handlers[event_type]
    ]
