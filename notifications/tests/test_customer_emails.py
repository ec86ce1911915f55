"""Customer emails written on a handover step go out as deliveries, like every other email.

Transitions keeps the outbox row the CSM sees on the task; notifications sends
it with the same claim, backoff and sweep as the other channels and reports
each outcome back to that row.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import Channel as TimelineChannel
from accounts.models import TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory
from notifications import services
from notifications.models import Channel, Delivery, DeliveryStatus
from transitions.models import OutboundEmail, OutboundEmailStatus
from transitions.services import outbound_email_retry
from users.tests.factories import AdminFactory, CSMFactory

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)
CUSTOMER = "dana@acme.example"


class MailServer(EmailBackend):
    """The mail server as a test scripts it: refuses the next `down` sends to the customer, then delivers to mail.outbox.

    It notes, for every send to the customer, whether the sending connection had a transaction open.
    """

    down = 0
    in_transaction: list[bool] = []

    def send_messages(self, messages):
        if any(CUSTOMER in message.to for message in messages):
            MailServer.in_transaction.append(connection.in_atomic_block)
            if MailServer.down:
                MailServer.down -= 1
                raise ConnectionRefusedError("SMTP server refused the connection")
        return super().send_messages(messages)


class WorkerDied(BaseException):
    """The worker process vanished mid-send (an OOM kill): nothing after the send runs."""


class DyingServer(EmailBackend):
    def send_messages(self, messages):
        raise WorkerDied


@pytest.fixture(autouse=True)
def mail_server(settings) -> type[MailServer]:
    settings.EMAIL_BACKEND = "notifications.tests.test_customer_emails.MailServer"
    MailServer.down = 0
    MailServer.in_transaction = []
    return MailServer


def outbox_row(**fields) -> OutboundEmail:
    """What transitions.services.task_email_send leaves in the outbox: one rendered email to one contact."""
    sender = fields.pop("sender", None) or CSMFactory(first_name="Sam", last_name="Sato")
    account = fields.pop("account", None) or AccountFactory(name="Acme Robotics", owner=sender)
    contact = ContactFactory(account=account, first_name="Dana", email=CUSTOMER)
    return OutboundEmail.objects.create(
        account=account,
        contact=contact,
        to_email=contact.email,
        subject="Your new CSM",
        body="Hi Dana, Sam takes over from Alex.",
        created_by=sender,
        **fields,
    )


def customer_mail() -> list:
    """Mail to the customer; logging the sent email as a touchpoint may also email staff about a flag."""
    return [message for message in mail.outbox if message.to == [CUSTOMER]]


def customer_delivery() -> Delivery:
    return Delivery.objects.get(channel=Channel.CUSTOMER)


def queue(email: OutboundEmail, capture) -> list[int]:
    with capture(execute=True):
        return services.customer_emails_queue(email_ids=[email.pk])


def test_a_queued_customer_email_is_sent_as_a_delivery_and_its_outbox_row_shows_it_sent(
    django_capture_on_commit_callbacks,
):
    email = outbox_row()

    queue(email, django_capture_on_commit_callbacks)

    delivery = customer_delivery()
    assert (delivery.channel, delivery.outbound_email, delivery.target) == (
        Channel.CUSTOMER,
        email,
        CUSTOMER,
    )
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    (sent,) = customer_mail()
    assert (sent.subject, sent.body) == ("Your new CSM", email.body)
    email.refresh_from_db()
    assert (email.status, email.attempts, email.sent_at) == (OutboundEmailStatus.SENT, 1, delivery.sent_at)
    entry = TimelineEntry.objects.get(account=email.account, kind=TimelineKind.TOUCHPOINT)
    assert (entry.channel, entry.summary, entry.author) == (
        TimelineChannel.EMAIL,
        "Email sent: Your new CSM",
        email.created_by,
    )


def test_queueing_twice_or_attempting_a_sent_delivery_again_sends_once(django_capture_on_commit_callbacks):
    email = outbox_row()
    queue(email, django_capture_on_commit_callbacks)

    assert queue(email, django_capture_on_commit_callbacks) == []
    assert services.delivery_attempt(delivery_id=customer_delivery().pk) is None
    assert len(customer_mail()) == 1 and Delivery.objects.filter(channel=Channel.CUSTOMER).count() == 1
    assert TimelineEntry.objects.filter(account=email.account, kind=TimelineKind.TOUCHPOINT).count() == 1


def test_a_failed_send_backs_off_and_the_sweep_sends_it_once_due(mail_server, django_capture_on_commit_callbacks):
    mail_server.down = 1
    with time_machine.travel(NOON, tick=False):
        email = outbox_row()
        queue(email, django_capture_on_commit_callbacks)

    delivery = customer_delivery()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert delivery.next_attempt_at == NOON + dt.timedelta(seconds=services.BACKOFF_SECONDS[0])
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmailStatus.QUEUED, 1)
    assert email.last_error == "ConnectionRefusedError: SMTP server refused the connection"

    with time_machine.travel(NOON + dt.timedelta(seconds=59), tick=False):
        assert services.deliveries_retry_due() == {}
    with time_machine.travel(NOON + dt.timedelta(seconds=61), tick=False):
        assert services.deliveries_retry_due() == {"sent": 1}

    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (OutboundEmailStatus.SENT, 2, "")
    assert len(customer_mail()) == 1


def test_once_its_retries_run_out_the_email_is_failed_and_the_senders_retry_sends_it_with_fresh_attempts(
    mail_server, django_capture_on_commit_callbacks
):
    mail_server.down = Delivery.MAX_ATTEMPTS
    email = outbox_row()
    queue(email, django_capture_on_commit_callbacks)
    delivery = customer_delivery()
    while delivery.status == DeliveryStatus.PENDING:
        with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            services.deliveries_retry_due()
        delivery.refresh_from_db()
    email.refresh_from_db()
    assert (delivery.status, email.status) == (DeliveryStatus.FAILED, OutboundEmailStatus.FAILED)
    assert email.attempts == Delivery.MAX_ATTEMPTS and "refused" in email.last_error

    with django_capture_on_commit_callbacks(execute=True):
        outbound_email_retry(actor=email.created_by, email=email)

    delivery.refresh_from_db()
    email.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    assert (email.status, email.attempts) == (OutboundEmailStatus.SENT, Delivery.MAX_ATTEMPTS + 1)


def test_an_admin_retry_of_a_failed_customer_email_queues_its_outbox_row_again(django_capture_on_commit_callbacks):
    email = outbox_row(status=OutboundEmailStatus.FAILED, attempts=6, last_error="SMTP down")
    delivery = Delivery.objects.create(
        outbound_email=email,
        channel=Channel.CUSTOMER,
        target=email.to_email,
        subject=email.subject,
        body=email.body,
        key=f"customer_email:{email.pk}",
        status=DeliveryStatus.FAILED,
        attempts=6,
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.delivery_retry(actor=AdminFactory(), delivery=delivery)

    delivery.refresh_from_db()
    email.refresh_from_db()
    assert (delivery.status, email.status) == (DeliveryStatus.SENT, OutboundEmailStatus.SENT)
    assert len(customer_mail()) == 1


def test_a_worker_that_died_mid_send_leaves_the_email_not_confirmed_and_it_is_not_sent_again_by_itself(
    settings, django_capture_on_commit_callbacks
):
    """The customer may have it (the send may have gone through): at most once, then a person decides."""
    with time_machine.travel(NOON, tick=False):
        email = outbox_row()
        with django_capture_on_commit_callbacks():  # queued, but the send is left to the worker below
            services.customer_emails_queue(email_ids=[email.pk])
        delivery = customer_delivery()
        settings.EMAIL_BACKEND = "notifications.tests.test_customer_emails.DyingServer"
        with pytest.raises(WorkerDied):
            services.delivery_attempt(delivery_id=delivery.pk)
    settings.EMAIL_BACKEND = "notifications.tests.test_customer_emails.MailServer"
    delivery.refresh_from_db()
    email.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert (email.status, email.status_since) == (OutboundEmailStatus.SENDING, NOON)

    with time_machine.travel(NOON + dt.timedelta(seconds=services.CLAIM_SECONDS - 1), tick=False):
        assert services.deliveries_retry_due() == {}
    with time_machine.travel(NOON + dt.timedelta(seconds=services.CLAIM_SECONDS + 1), tick=False):
        assert services.deliveries_retry_due() == {"failed": 1}
    email.refresh_from_db()
    delivery.refresh_from_db()
    assert email.status == OutboundEmailStatus.UNCONFIRMED and "may already have it" in email.last_error
    assert delivery.status == DeliveryStatus.FAILED and delivery.last_error == email.last_error
    assert customer_mail() == []

    # Its sender checked with the customer, who never got it: sent once.
    with django_capture_on_commit_callbacks(execute=True):
        outbound_email_retry(actor=email.created_by, email=email)
    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.SENT and len(customer_mail()) == 1


def test_the_sweep_takes_up_a_queued_email_that_was_never_handed_over():
    with time_machine.travel(NOON, tick=False):
        stranded = outbox_row()
    with time_machine.travel(NOON + services.CUSTOMER_EMAIL_ADOPT_AFTER - dt.timedelta(seconds=1), tick=False):
        fresh = outbox_row()  # its handler has only just been called: left to it
        assert services.deliveries_retry_due() == {}
    with time_machine.travel(NOON + services.CUSTOMER_EMAIL_ADOPT_AFTER, tick=False):
        assert services.deliveries_retry_due() == {"sent": 1}
    stranded.refresh_from_db()
    fresh.refresh_from_db()
    assert (stranded.status, fresh.status) == (OutboundEmailStatus.SENT, OutboundEmailStatus.QUEUED)


@pytest.mark.django_db(transaction=True)
def test_the_email_is_sent_with_no_transaction_open_so_no_row_lock_is_held_across_the_send(mail_server):
    mail_server.down = 1
    email = outbox_row()

    services.customer_emails_queue(email_ids=[email.pk])  # commits, then sends (eager Celery): it fails
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=services.BACKOFF_SECONDS[0] + 1), tick=False):
        services.deliveries_retry_due()

    # Row locks live only as long as a transaction: with none open during the send, none can be held.
    assert mail_server.in_transaction == [False, False]
    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmailStatus.SENT, 2)


def test_a_customer_delivery_always_has_its_outbox_row_and_no_other_channel_has_one():
    email = outbox_row()
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(channel=Channel.CUSTOMER, target=CUSTOMER, body="x", key="a")
    with pytest.raises(IntegrityError), transaction.atomic():
        Delivery.objects.create(outbound_email=email, channel=Channel.EMAIL, target="x@y.example", body="x", key="b")


def test_the_failed_deliveries_page_names_the_account_of_a_failed_customer_email(client):
    email = outbox_row(status=OutboundEmailStatus.FAILED)
    Delivery.objects.create(
        outbound_email=email,
        channel=Channel.CUSTOMER,
        target=email.to_email,
        subject=email.subject,
        body=email.body,
        key="customer_email:1",
        status=DeliveryStatus.FAILED,
        attempts=6,
        last_error="ConnectionRefusedError: SMTP server refused the connection",
    )
    client.force_login(AdminFactory())
    page = client.get(reverse("deliveries-failed")).content.decode()
    assert "Customer email" in page and "Acme Robotics · Your new CSM" in page and CUSTOMER in page
