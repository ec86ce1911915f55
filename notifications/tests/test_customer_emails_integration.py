"""Customer emails on PostgreSQL: a real worker sends them, and no row is locked while the mail server takes its time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.mail.backends.locmem import EmailBackend
from django.db import connections
from django.utils import timezone

from accounts.models import TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory
from notifications import services
from notifications.models import Channel, Delivery, DeliveryStatus
from tests.support import wait_until
from transitions import services as transitions_services
from transitions.models import OutboundEmail, OutboundEmailStatus, TransitionReason
from transitions.tests.conftest import ensure_default_playbooks
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_an_email_written_on_a_step_is_sent_by_a_real_worker_and_shows_sent_on_the_task(celery_worker_process):
    ensure_default_playbooks()
    team = TeamFactory()
    manager = ManagerFactory(team=team)
    outgoing, incoming = CSMFactory(team=team), CSMFactory(team=team)
    account = AccountFactory(owner=outgoing)
    dana = ContactFactory(account=account, first_name="Dana")
    today = timezone.localdate()
    transition = transitions_services.transition_start(
        actor=manager,
        account=account,
        to_csm=incoming,
        reason=TransitionReason.REBALANCING,
        start_date=today,
        target_date=today + dt.timedelta(days=14),
    )

    (email,) = transitions_services.task_email_send(
        actor=incoming,
        task=transition.tasks.get(position=1),
        contacts=[dana],
        subject="Hello from {incoming_csm}",
        body="Hi {contact_first_name}",
    )

    def sent() -> bool:
        email.refresh_from_db()
        return email.status == OutboundEmailStatus.SENT

    wait_until(sent, timeout=30, message=f"the worker never sent the email\n{celery_worker_process.log_tail()}")
    delivery = Delivery.objects.get(outbound_email=email)
    assert (delivery.channel, delivery.status, delivery.attempts) == (Channel.CUSTOMER, DeliveryStatus.SENT, 1)
    assert email.attempts == 1 and email.sent_at == delivery.sent_at
    assert TimelineEntry.objects.filter(account=account, kind=TimelineKind.TOUCHPOINT, author=incoming).exists()


class LockProbe(EmailBackend):
    """A mail server that, while "sending", asks another connection for the rows' locks without waiting.

    `NOWAIT` fails at once if the sending side holds a lock on the outbox row or its delivery.
    """

    email_id = 0
    customer_address = ""
    probes: list[str] = []

    def send_messages(self, messages):
        # Logging the sent email as a touchpoint rescores the account, which may notify staff by
        # email through this same backend: only the customer's email is probed.
        if not any(LockProbe.customer_address in message.to for message in messages):
            return super().send_messages(messages)
        rows = [
            (OutboundEmail._meta.db_table, LockProbe.email_id),
            (Delivery._meta.db_table, Delivery.objects.get(outbound_email_id=LockProbe.email_id).pk),
        ]
        other = connections.create_connection("default")
        try:
            other.set_autocommit(False)
            with other.cursor() as cursor:
                for table, pk in rows:
                    cursor.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE NOWAIT", [pk])
                    LockProbe.probes.append(f"{table} free")
            other.rollback()
        finally:
            other.close()
        return super().send_messages(messages)


def test_the_outbox_row_and_its_delivery_are_not_locked_during_the_send(settings):
    sender = CSMFactory()
    account = AccountFactory(owner=sender)
    contact = ContactFactory(account=account)
    email = OutboundEmail.objects.create(
        account=account, contact=contact, to_email=contact.email, subject="Hi", body="Hello", created_by=sender
    )
    settings.EMAIL_BACKEND = "notifications.tests.test_customer_emails_integration.LockProbe"
    LockProbe.email_id, LockProbe.customer_address, LockProbe.probes = email.pk, contact.email, []

    services.customer_emails_queue(email_ids=[email.pk])  # commits, then claims and sends (eager Celery)

    assert LockProbe.probes == [f"{OutboundEmail._meta.db_table} free", f"{Delivery._meta.db_table} free"]
    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.SENT
