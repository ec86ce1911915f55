"""Events: a lower app announces, the apps above react once the change has committed."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.db import transaction

from core import events
from core.events import Event


@dataclass(frozen=True)
class Pinged(Event):
    account_id: int


@pytest.fixture
def heard(monkeypatch):
    """A private handler table for the test, with one handler recording what it heard."""
    monkeypatch.setattr(events, "_handlers", events.defaultdict(list))
    received: list[Event] = []
    events.subscribe(Pinged, received.append)
    return received


@pytest.mark.django_db(transaction=True)
def test_handlers_run_after_the_announcing_transaction_commits(heard):
    with transaction.atomic():
        events.announce(Pinged(account_id=7))
        assert heard == []
    assert heard == [Pinged(account_id=7)]


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_announces_nothing(heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        events.announce(Pinged(account_id=7))
        raise RuntimeError("the change failed")
    assert heard == []


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_handlers_run_at_once(heard):
    events.announce(Pinged(account_id=3))
    assert heard == [Pinged(account_id=3)]


@pytest.mark.django_db(transaction=True)
def test_in_production_a_failing_handler_is_logged_and_the_others_still_run(heard, settings, caplog):
    settings.BATON_EVENT_HANDLERS_RAISE = False

    def broken(event: Pinged) -> None:
        raise ValueError("handler bug")

    events.subscribe(Pinged, broken)
    later: list[Event] = []
    events.subscribe(Pinged, later.append)
    with transaction.atomic():
        events.announce(Pinged(account_id=1))
    assert heard == later == [Pinged(account_id=1)]
    assert "handler bug" in caplog.text and "core.tests.test_events" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_in_tests_a_failing_handler_fails_the_test_that_triggered_it(heard):
    def broken(event: Pinged) -> None:
        raise ValueError("handler bug")

    events.subscribe(Pinged, broken)
    with pytest.raises(ValueError, match="handler bug"), transaction.atomic():
        events.announce(Pinged(account_id=1))


def record(event: Pinged) -> None:
    """A handler with a name, for the listing."""


def test_subscriptions_list_each_handler_once_under_its_event(heard):
    events.subscribe(Pinged, record)
    events.subscribe(Pinged, record)
    assert [handler for _, handler in events.subscriptions()][1:] == ["core.tests.test_events.record"]
    assert {event for event, _ in events.subscriptions()} == {"core.tests.test_events.Pinged"}


def test_only_event_classes_can_be_subscribed_to(heard):
    with pytest.raises(TypeError):
        events.subscribe(dict, print)


def test_events_carry_values_and_cannot_be_changed_after_announcing():
    event = Pinged(account_id=1)
    with pytest.raises(AttributeError):
        event.account_id = 2  # type: ignore[misc]
