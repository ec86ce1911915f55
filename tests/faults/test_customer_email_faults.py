"""A customer email never stays "queued" for good, and is never sent twice because its sending went unrecorded.

The issue's case: on the embedded default an email was sent, then "database is locked" refused the write that
records it, and it showed "Queued" for ever. Now the write is retried; when it cannot be made, the email shows
"Not confirmed" with the reason (the customer may have it), is not sent again by itself, and its sender may send
it again once they have checked (transitions.services.customer_emails).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError
from django.urls import reverse

from accounts.tests.factories import AccountFactory, ContactFactory
from notifications import services as notifications
from notifications.models import Delivery, DeliveryStatus
from transitions import services
from transitions.models import OutboundEmail, OutboundEmailStatus, Transition, TransitionReason
from transitions.services import customer_emails
from transitions.tests.conftest import ensure_default_playbooks

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)
CUSTOMER = "dana@acme.example"


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def handover_email(manager, outgoing, incoming, dates, capture) -> OutboundEmail:
    """An introduction email written on a handover's step, queued for sending; the attempt is left to the test."""
    ensure_default_playbooks()  # a transactional test before this one may have emptied the table
    account = AccountFactory(name="Acme Robotics", owner=outgoing)
    dana = ContactFactory(account=account, first_name="Dana", email=CUSTOMER)
    transition = services.transition_start(
        actor=manager, account=account, to_csm=incoming, reason=TransitionReason.REBALANCING, **dates
    )
    with capture():  # written and queued, not yet attempted
        (email,) = services.task_email_send(
            actor=incoming,
            task=transition.tasks.get(position=1),
            contacts=[dana],
            subject="Your new CSM",
            body="Hi {contact_first_name}",
        )
        notifications.customer_emails_queue(email_ids=[email.pk])
    return email


def customer_mail() -> list:
    return [message for message in mail.outbox if message.to == [CUSTOMER]]


def status_write_refused(monkeypatch, *, times: int | None = None) -> list[int]:
    """The write recording a sent email is refused for a lock: every time, or the first `times` times."""
    real = notifications.outbound_email_mark_sent
    refusals: list[int] = []

    def mark_sent(**kwargs):
        if times is None or len(refusals) < times:
            refusals.append(1)
            raise OperationalError("database is locked")
        return real(**kwargs)

    monkeypatch.setattr(notifications, "outbound_email_mark_sent", mark_sent)
    return refusals


def test_sent_but_not_recorded_shows_not_confirmed_and_is_never_sent_again_by_itself(
    client, monkeypatch, manager, outgoing, incoming, dates, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        email = handover_email(manager, outgoing, incoming, dates, django_capture_on_commit_callbacks)
        delivery = Delivery.objects.get(outbound_email=email)
        status_write_refused(monkeypatch)
        with pytest.raises(OperationalError):
            notifications.delivery_attempt(delivery_id=delivery.pk)
    monkeypatch.undo()
    email.refresh_from_db()
    assert len(customer_mail()) == 1  # it went out...
    assert email.status == OutboundEmailStatus.SENDING  # ...and that could not be recorded

    # The claim lapses and the every-minute sweep comes round: the email is not sent a second time.
    with time_machine.travel(NOON + dt.timedelta(seconds=notifications.CLAIM_SECONDS + 1), tick=False):
        assert notifications.deliveries_retry_due() == {DeliveryStatus.FAILED: 1}
    email.refresh_from_db()
    delivery.refresh_from_db()
    assert len(customer_mail()) == 1
    assert email.status == OutboundEmailStatus.UNCONFIRMED and email.last_error == customer_emails.UNCONFIRMED_REASON
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == customer_emails.UNCONFIRMED_REASON

    # The handover's page says so, with the way out; the board flags the handover.
    client.force_login(incoming)
    page = client.get(reverse("transition-detail", args=[email.task.transition_id])).content.decode()
    assert "Not confirmed" in page and "The customer may already have it" in page and "Send again" in page
    assert Transition.objects.with_progress().get(pk=email.task.transition_id).has_failed_email

    # The sender checked: the customer never got it. "Send again" sends it once more, and only once.
    response = client.post(reverse("outbound-email-retry", args=[email.pk]))
    assert response.status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        notifications.customer_emails_queue(email_ids=[email.pk])
    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.SENT and len(customer_mail()) == 2


@pytest.mark.django_db(transaction=True)
def test_a_status_write_refused_for_a_lock_is_retried_and_the_email_shows_sent(
    monkeypatch, manager, outgoing, incoming, dates, django_capture_on_commit_callbacks
):
    """Committed for real: the email is sent after its step's transaction commits (eager Celery), as on a worker."""
    monkeypatch.setattr("core.db_retry.time.sleep", lambda seconds: None)
    refusals = status_write_refused(monkeypatch, times=2)

    email = handover_email(manager, outgoing, incoming, dates, django_capture_on_commit_callbacks)

    email.refresh_from_db()
    assert len(refusals) == 2
    assert (email.status, email.attempts, len(customer_mail())) == (OutboundEmailStatus.SENT, 1, 1)
    assert Delivery.objects.get(outbound_email=email).status == DeliveryStatus.SENT


def test_the_sweep_turns_an_attempt_that_never_reported_back_into_not_confirmed(
    manager, outgoing, incoming, dates, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        abandoned = handover_email(manager, outgoing, incoming, dates, django_capture_on_commit_callbacks)
        assert services.outbound_email_mark_sending(email_id=abandoned.pk, at=NOON) == OutboundEmailStatus.SENDING
    later = NOON + customer_emails.SENDING_UNCONFIRMED_AFTER
    with time_machine.travel(later - dt.timedelta(seconds=1), tick=False):
        recent = OutboundEmail.objects.create(
            account=abandoned.account, to_email=CUSTOMER, subject="s", body="b", status=OutboundEmailStatus.SENDING
        )

    with time_machine.travel(later, tick=False):
        assert services.outbound_emails_sweep() == {"unconfirmed": 1, "failed": 0}

    abandoned.refresh_from_db()
    recent.refresh_from_db()
    assert (abandoned.status, abandoned.status_since) == (OutboundEmailStatus.UNCONFIRMED, later)
    assert recent.status == OutboundEmailStatus.SENDING


def test_an_email_queued_for_a_day_that_nothing_attempted_is_failed_with_the_reason_and_not_sent_later(
    client, manager, outgoing, incoming, dates, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        stuck = handover_email(manager, outgoing, incoming, dates, django_capture_on_commit_callbacks)
    day_later = NOON + customer_emails.QUEUED_FAILED_AFTER
    with time_machine.travel(day_later - dt.timedelta(seconds=1), tick=False):
        assert services.outbound_emails_sweep() == {"unconfirmed": 0, "failed": 0}
    with time_machine.travel(day_later, tick=False):
        assert services.outbound_emails_sweep() == {"unconfirmed": 0, "failed": 1}

    stuck.refresh_from_db()
    assert stuck.status == OutboundEmailStatus.FAILED
    assert stuck.last_error.startswith("Not sent: it waited 24 hours and nothing was able to send it")
    client.force_login(incoming)
    page = client.get(reverse("transition-detail", args=[stuck.task.transition_id])).content.decode()
    assert "Not sent: it waited 24 hours" in page and ">Retry</button>" in page

    # Its delivery, pending all along, finally runs: the email was reported failed, so it is not sent now.
    with time_machine.travel(day_later + dt.timedelta(minutes=1), tick=False):
        assert notifications.delivery_attempt(delivery_id=Delivery.objects.get(outbound_email=stuck).pk) == "failed"
    assert customer_mail() == []
    assert Delivery.objects.get(outbound_email=stuck).last_error == "Not sent: the email is failed."


def test_a_sent_email_is_left_alone_by_the_sweep(
    manager, outgoing, incoming, dates, django_capture_on_commit_callbacks
):
    with time_machine.travel(NOON, tick=False):
        email = handover_email(manager, outgoing, incoming, dates, django_capture_on_commit_callbacks)
        assert notifications.delivery_attempt(delivery_id=Delivery.objects.get(outbound_email=email).pk) == "sent"
    with time_machine.travel(NOON + dt.timedelta(days=3), tick=False):
        assert services.outbound_emails_sweep() == {"unconfirmed": 0, "failed": 0}
    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.SENT
