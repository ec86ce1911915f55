"""A mail server or a webhook receiver that is down: each attempt is retried with backoff, then the failure is
shown where people look, and nothing is lost once the receiver is back.

Nothing of the network is mocked: the email goes to Django's SMTP backend pointed at a loopback port nobody
listens on, then at a small SMTP server the test starts there; the webhook to a loopback port with nothing behind
it, then to an HTTP server started on it. The webhook case runs on a real worker (integration run); the email case
runs on every `make test`, and again on PostgreSQL in the integration run.
"""

from __future__ import annotations

import datetime as dt
import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory, ContactFactory
from notifications import services as notifications
from notifications.models import Delivery, DeliveryStatus, Notification, NotificationKind
from notifications.webhooks import services as webhooks
from notifications.webhooks.models import EndpointState, WebhookDelivery, WebhookDeliveryStatus
from notifications.webhooks.tasks import webhook_deliveries_send_due
from tests.faults.processes import free_port
from tests.support import wait_until
from transitions import services
from transitions.models import OutboundEmailStatus, TransitionReason
from transitions.tests.conftest import ensure_default_playbooks
from users.tests.factories import AdminFactory

NOON = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)
CUSTOMER = "dana@acme.example"


class SmtpServer(socketserver.ThreadingTCPServer):
    """Just enough SMTP for Django's backend to hand a message over; what it received is in `messages`."""

    allow_reuse_address = True
    daemon_threads = True

    def __init__(self, port: int) -> None:
        self.messages: list[str] = []
        server = self

        class Session(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(f"{line}\r\n".encode())

            def handle(self) -> None:
                self.reply("220 localhost ESMTP")
                while line := self.rfile.readline().decode(errors="replace").strip():
                    verb = line.split(" ", 1)[0].upper()
                    if verb in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif verb == "DATA":
                        self.reply("354 go ahead")
                        body = []
                        while (data := self.rfile.readline().decode(errors="replace")).rstrip("\r\n") != ".":
                            body.append(data)
                        server.messages.append("".join(body))
                        self.reply("250 queued")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("250 ok")

        super().__init__(("127.0.0.1", port), Session)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.mark.django_db
def test_a_mail_server_that_is_down_is_retried_then_the_email_shows_failed_and_sends_once_it_is_back(
    client, settings, manager, outgoing, incoming, dates, django_capture_on_commit_callbacks
):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 5
    ensure_default_playbooks()
    account = AccountFactory(name="Acme Robotics", owner=outgoing)
    dana = ContactFactory(account=account, first_name="Dana", email=CUSTOMER)
    transition = services.transition_start(
        actor=manager, account=account, to_csm=incoming, reason=TransitionReason.REBALANCING, **dates
    )
    with time_machine.travel(NOON, tick=False):
        with django_capture_on_commit_callbacks():
            (email,) = services.task_email_send(
                actor=incoming,
                task=transition.tasks.get(position=1),
                contacts=[dana],
                subject="Your new CSM",
                body="Hi {contact_first_name}",
            )
            notifications.customer_emails_queue(email_ids=[email.pk])
        delivery = Delivery.objects.get(outbound_email=email)
        assert notifications.delivery_attempt(delivery_id=delivery.pk) == DeliveryStatus.PENDING

    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.QUEUED and "ConnectionRefusedError" in email.last_error
    client.force_login(incoming)
    page = client.get(reverse("transition-detail", args=[transition.pk])).content.decode()
    assert "Retrying automatically; last attempt: ConnectionRefusedError" in page

    # Every retry as its backoff falls due (the beat sweep each minute), until they run out.
    moment = NOON
    for wait in notifications.BACKOFF_SECONDS:
        moment += dt.timedelta(seconds=wait + 1)
        with time_machine.travel(moment, tick=False):
            notifications.deliveries_retry_due()
    delivery.refresh_from_db()
    email.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, Delivery.MAX_ATTEMPTS)
    assert (email.status, email.attempts) == (OutboundEmailStatus.FAILED, Delivery.MAX_ATTEMPTS)
    page = client.get(reverse("transition-detail", args=[transition.pk])).content.decode()
    assert 'data-status="failed"' in page and "ConnectionRefusedError" in page and ">Retry</button>" in page

    # The mail server is back; the sender presses Retry: it goes out once.
    smtp = SmtpServer(port)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert client.post(reverse("outbound-email-retry", args=[email.pk])).status_code == 302
        email.refresh_from_db()
        assert email.status == OutboundEmailStatus.SENT
        assert len(smtp.messages) == 1 and f"To: {CUSTOMER}" in smtp.messages[0]
    finally:
        smtp.close()


class Receiver:
    """An HTTP receiver on a given loopback port, answering 200 and keeping the bodies it got."""

    def __init__(self, port: int) -> None:
        self.bodies: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                receiver.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_webhook_receiver_that_is_down_is_retried_then_paused_with_the_reason_and_gets_everything_once_back(
    request, monkeypatch, settings, client
):
    # The worker (started below, with this environment) and this process may post to loopback over http.
    monkeypatch.setenv("BATON_WEBHOOKS_ALLOW_PRIVATE", "true")
    settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True
    worker = request.getfixturevalue("celery_worker_process")
    admin = AdminFactory()
    port = free_port()
    endpoint = webhooks.webhook_endpoint_create(
        actor=admin, fields={"url": f"http://127.0.0.1:{port}/hooks/baton", "events": ["stage.changed"]}
    )

    def stage_changed(number: int) -> list[int]:
        return webhooks.webhook_events_queue(event_type="stage.changed", datas=[{"number": number}])

    (first,) = stage_changed(1)  # sent by the worker once this commits

    def attempts() -> int:
        return WebhookDelivery.objects.get(pk=first).attempts.count()

    wait_until(lambda: attempts() == 1, timeout=30, message=f"no first attempt\n{worker.log_tail()}")
    delivery = WebhookDelivery.objects.get(pk=first)
    assert delivery.status == WebhookDeliveryStatus.FAILED and delivery.next_attempt_at > timezone.now()
    assert "Connection refused" in delivery.last_error or "connect" in delivery.last_error.lower()

    # Each retry as it falls due (here: made due at once) is sent by the worker's every-minute sweep.
    for number in range(2, webhooks.MAX_ATTEMPTS + 1):
        WebhookDelivery.objects.filter(pk=first).update(next_attempt_at=timezone.now())
        webhook_deliveries_send_due.delay()
        wait_until(lambda n=number: attempts() == n, timeout=30, message=f"attempt {number}\n{worker.log_tail()}")

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert delivery.status == WebhookDeliveryStatus.GAVE_UP
    assert endpoint.state == EndpointState.PAUSED and endpoint.paused_reason
    assert Notification.objects.filter(recipient=admin, kind=NotificationKind.WEBHOOK_PAUSED).exists()
    client.force_login(admin)
    page = client.get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
    assert "Paused since" in page and endpoint.paused_reason in page

    # An event while paused waits; the receiver comes back; the admin resumes and retries the one that gave up.
    (waiting,) = stage_changed(2)
    assert WebhookDelivery.objects.get(pk=waiting).status == WebhookDeliveryStatus.PENDING
    receiver = Receiver(port)
    try:
        webhooks.webhook_endpoint_resume(actor=admin, endpoint=endpoint)
        webhooks.webhook_delivery_retry(actor=admin, delivery=delivery)
        wait_until(
            lambda: WebhookDelivery.objects.filter(
                pk__in=[first, waiting], status=WebhookDeliveryStatus.SUCCEEDED
            ).count()
            == 2,
            timeout=30,
            message=f"not delivered after the receiver came back\n{worker.log_tail()}",
        )
        assert sorted(body["data"]["number"] for body in receiver.bodies) == [1, 2]
    finally:
        receiver.close()
