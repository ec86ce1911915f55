"""Outbound webhooks on the wire: signed posts to a real receiver, retries with backoff, pausing, refusals.

The receiver is a real HTTP server on 127.0.0.1 (notifications/tests/webhook_receiver.py); tests that post
to it allow private addresses, as an install with receivers on its own network would.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts.tests.conftest import admin, csm, own_account, team  # noqa: F401
from lifecycle.stages.services import account_stage_change
from notifications.models import Notification, NotificationKind
from notifications.tests.webhook_receiver import Receiver, verify
from notifications.webhooks import services
from notifications.webhooks.models import (
    EndpointState,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def allow_private(settings):
    settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True
    settings.BATON_WEBHOOKS_TIMEOUT = 0.5


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def _endpoint(admin, url: str, events=(WebhookEvent.STAGE_CHANGED,)) -> WebhookEndpoint:
    return services.webhook_endpoint_create(actor=admin, fields={"url": url, "events": list(events)})


def _move(account, actor, captured, to_stage: str = "adoption") -> None:
    with captured(execute=True):
        account_stage_change(actor=actor, account=account, to_stage=to_stage, reason="Kick-off done")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.usefixtures("allow_private")
class TestSignedDelivery:
    def test_the_receiver_verifies_the_signature_with_the_documented_recipe(
        self, admin, csm, own_account, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = _endpoint(admin, receiver.url)
        _move(own_account, csm, django_capture_on_commit_callbacks)

        (request,) = receiver.received
        headers = request["headers"]
        assert verify(endpoint.secret, request["raw"], headers["Baton-Signature"])
        assert not verify("whsec_someone-else", request["raw"], headers["Baton-Signature"])
        assert not verify(endpoint.secret, request["raw"] + b" ", headers["Baton-Signature"])
        assert request["path"] == "/hooks/baton?token=abc"
        assert headers["Content-Type"] == "application/json"
        assert headers["Baton-Event"] == "stage.changed"
        payload = request["json"]
        assert headers["Baton-Delivery"] == payload["id"]
        assert payload["type"] == "stage.changed"
        assert payload["data"]["account"]["id"] == own_account.pk
        assert payload["data"]["account"]["name"] == "Acme Robotics"
        assert payload["data"]["from_stage"] == "onboarding"
        assert payload["data"]["to_stage"] == "adoption"
        assert payload["data"]["changed_by"] == {"id": csm.pk, "name": str(csm)}
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempt_count, delivery.last_status_code) == ("succeeded", 1, 200)
        assert str(delivery.event_id) == payload["id"]
        assert delivery.next_attempt_at is None and delivery.delivered_at is not None
        (attempt,) = delivery.attempts.all()
        assert (attempt.number, attempt.succeeded, attempt.status_code, attempt.error) == (1, True, 200, "")

    def test_a_stale_timestamp_fails_the_recipe(
        self, admin, csm, own_account, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = _endpoint(admin, receiver.url)
        with time_machine.travel(NOON, tick=False):
            _move(own_account, csm, django_capture_on_commit_callbacks)
        (request,) = receiver.received
        # Received at noon, checked by the receiver now: far more than five minutes later.
        assert not verify(endpoint.secret, request["raw"], request["headers"]["Baton-Signature"])

    def test_a_retry_sends_the_same_event_id_and_body(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        with Receiver([503]) as receiver, time_machine.travel(NOON, tick=False) as clock:
            _endpoint(admin, receiver.url)
            _move(own_account, csm, django_capture_on_commit_callbacks)
            clock.shift(dt.timedelta(minutes=2))
            assert services.webhook_deliveries_sweep() == {"succeeded": 1}
        first, second = receiver.received
        assert first["json"] == second["json"]
        assert first["headers"]["Baton-Delivery"] == second["headers"]["Baton-Delivery"]

    def test_an_endpoint_not_subscribed_to_the_event_gets_nothing(
        self, admin, csm, own_account, receiver, django_capture_on_commit_callbacks
    ):
        _endpoint(admin, receiver.url, events=[WebhookEvent.OUTCOME_RECORDED])
        _move(own_account, csm, django_capture_on_commit_callbacks)
        assert receiver.received == []
        assert not WebhookDelivery.objects.exists()

    def test_a_rotated_secret_signs_from_then_on(
        self, admin, csm, own_account, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = _endpoint(admin, receiver.url)
        old = endpoint.secret
        services.webhook_secret_rotate(actor=admin, endpoint=endpoint)
        assert endpoint.secret != old
        _move(own_account, csm, django_capture_on_commit_callbacks)
        (request,) = receiver.received
        assert verify(endpoint.secret, request["raw"], request["headers"]["Baton-Signature"])
        assert not verify(old, request["raw"], request["headers"]["Baton-Signature"])


@pytest.mark.usefixtures("allow_private")
class TestFailingReceiver:
    def test_failures_are_retried_with_growing_backoff_and_every_attempt_is_logged(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        with Receiver(default=500) as receiver, time_machine.travel(NOON, tick=False) as clock:
            endpoint = _endpoint(admin, receiver.url)
            _move(own_account, csm, django_capture_on_commit_callbacks)
            delivery = WebhookDelivery.objects.get()
            waits = []
            for number in range(1, services.MAX_ATTEMPTS):
                delivery.refresh_from_db()
                assert (delivery.status, delivery.attempt_count) == ("failed", number)
                wait = delivery.next_attempt_at - timezone.now()
                waits.append(wait)
                clock.shift(wait - dt.timedelta(seconds=1))
                assert services.webhook_deliveries_sweep() == {}, "not due a second early"
                clock.shift(dt.timedelta(seconds=1))
                expected = "gave_up" if number + 1 == services.MAX_ATTEMPTS else "failed"
                assert services.webhook_deliveries_sweep() == {expected: 1}
            delivery.refresh_from_db()

        for wait, base in zip(waits, services.BACKOFF_SECONDS, strict=True):
            assert dt.timedelta(seconds=base) <= wait <= dt.timedelta(seconds=base * 1.1)
        assert (delivery.status, delivery.attempt_count) == ("gave_up", services.MAX_ATTEMPTS)
        assert delivery.next_attempt_at is None
        assert delivery.last_status_code == 500
        # The receiver's answer is cut short: 5,000 bytes came back, at most 500 are kept.
        assert delivery.last_error.startswith("HTTP 500 Internal Server Error: xxx")
        assert len(delivery.last_error) <= 500
        attempts = list(delivery.attempts.values_list("number", "status_code", "succeeded"))
        assert attempts == [(n, 500, False) for n in range(1, services.MAX_ATTEMPTS + 1)]
        assert len(receiver.received) == services.MAX_ATTEMPTS
        # A delivery that gave up pauses its endpoint, and the admins hear of it.
        endpoint.refresh_from_db()
        assert endpoint.state == EndpointState.PAUSED
        assert "gave up after 8 attempts" in endpoint.paused_reason
        note = Notification.objects.get(recipient=admin)
        assert note.kind == NotificationKind.WEBHOOK_PAUSED
        assert note.url == f"/settings/webhooks/{endpoint.pk}/"

    def test_an_endpoint_failing_again_and_again_is_paused_and_keeps_its_deliveries(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        with Receiver(default=500) as receiver:
            endpoint = _endpoint(admin, receiver.url)
            stages = ["adoption", "success", "at_risk", "adoption", "success"] * 2
            for stage in stages:
                _move(own_account, csm, django_capture_on_commit_callbacks, to_stage=stage)
            endpoint.refresh_from_db()
            assert endpoint.consecutive_failures == services.PAUSE_AFTER_FAILURES
            assert endpoint.state == EndpointState.PAUSED
            assert endpoint.paused_reason.startswith("10 failed attempts in a row (last: HTTP 500")

            # Paused: new events are still written down, not posted, not dropped.
            _move(own_account, csm, django_capture_on_commit_callbacks, to_stage="at_risk")
            assert len(receiver.received) == 10
            waiting = WebhookDelivery.objects.filter(status="pending").get()
            assert waiting.attempt_count == 0
            assert services.webhook_deliveries_sweep() == {}

            # The receiver is mended; resuming sends everything that waited, at once.
            receiver.default = 200
            with django_capture_on_commit_callbacks(execute=True):
                queued = services.webhook_endpoint_resume(actor=admin, endpoint=endpoint)
        assert queued == 11
        assert len(receiver.received) == 21
        assert WebhookDelivery.objects.filter(status="succeeded").count() == 11
        endpoint.refresh_from_db()
        assert (endpoint.state, endpoint.consecutive_failures, endpoint.paused_at) == ("active", 0, None)

    def test_a_success_resets_the_count_of_failures_in_a_row(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        with Receiver([500, 500, 200]) as receiver:
            endpoint = _endpoint(admin, receiver.url)
            for stage in ["adoption", "success", "at_risk"]:
                _move(own_account, csm, django_capture_on_commit_callbacks, to_stage=stage)
        endpoint.refresh_from_db()
        assert endpoint.consecutive_failures == 0
        assert endpoint.state == EndpointState.ACTIVE

    def test_a_receiver_that_is_down_is_recorded_as_a_connection_error(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        _endpoint(admin, f"http://127.0.0.1:{_closed_port()}/hook")
        _move(own_account, csm, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "failed"
        assert delivery.last_status_code is None
        assert delivery.last_error.startswith("Could not connect:")
        attempt = WebhookAttempt.objects.get()
        assert attempt.status_code is None and attempt.error == delivery.last_error

    def test_a_receiver_slower_than_the_timeout_fails_the_attempt(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        with Receiver(delay=1.5) as receiver:
            _endpoint(admin, receiver.url)
            _move(own_account, csm, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "failed"
        assert delivery.last_error == "Timed out after 0.5 s."
        assert delivery.attempts.get().duration_ms < 1500

    def test_a_redirect_is_not_followed(self, admin, csm, own_account, django_capture_on_commit_callbacks):
        with Receiver([302]) as receiver:
            _endpoint(admin, receiver.url)
            _move(own_account, csm, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.last_status_code) == ("failed", 302)
        assert "redirects are not followed" in delivery.last_error
        assert len(receiver.received) == 1

    def test_retry_now_sends_a_delivery_that_gave_up(self, admin, csm, own_account, django_capture_on_commit_callbacks):
        with Receiver() as receiver:
            endpoint = _endpoint(admin, receiver.url)
            _move(own_account, csm, django_capture_on_commit_callbacks)
            WebhookDelivery.objects.update(status="gave_up", next_attempt_at=None, delivered_at=None)
            delivery = WebhookDelivery.objects.get()
            with django_capture_on_commit_callbacks(execute=True):
                services.webhook_delivery_retry(actor=admin, delivery=delivery)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 2)
        assert len(receiver.received) == 2
        assert endpoint.deliveries.count() == 1

    def test_a_failed_retry_now_gives_up_again_without_pausing_the_endpoint(
        self, admin, csm, own_account, django_capture_on_commit_callbacks
    ):
        with Receiver(default=500) as receiver:
            endpoint = _endpoint(admin, receiver.url)
            _move(own_account, csm, django_capture_on_commit_callbacks)
            WebhookDelivery.objects.update(status="gave_up", attempt_count=services.MAX_ATTEMPTS, next_attempt_at=None)
            WebhookEndpoint.objects.update(consecutive_failures=0)
            delivery = WebhookDelivery.objects.get()
            with django_capture_on_commit_callbacks(execute=True):
                services.webhook_delivery_retry(actor=admin, delivery=delivery)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempt_count) == ("gave_up", services.MAX_ATTEMPTS + 1)
        endpoint.refresh_from_db()
        assert endpoint.state == EndpointState.ACTIVE

    def test_retry_now_is_refused_while_the_endpoint_is_paused(self, admin):
        endpoint = _endpoint(admin, "https://93.184.215.14/hook")
        services.webhook_endpoint_pause(actor=admin, endpoint=endpoint)
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event_type="stage.changed", payload={}, status="gave_up", next_attempt_at=None
        )
        with pytest.raises(ValidationError, match="resume it"):
            services.webhook_delivery_retry(actor=admin, delivery=delivery)

    def test_only_admins_act_on_webhooks(self, admin, csm):
        endpoint = _endpoint(admin, "https://93.184.215.14/hook")
        for action in (
            services.webhook_endpoint_pause,
            services.webhook_secret_rotate,
            services.webhook_test_send,
            services.webhook_endpoint_delete,
        ):
            with pytest.raises(PermissionDenied):
                action(actor=csm, endpoint=endpoint)
        with pytest.raises(PermissionDenied):
            _endpoint(csm, "https://93.184.215.14/other")


class TestPrivateAddresses:
    @pytest.mark.parametrize(
        "url",
        [
            "https://127.0.0.1/hook",
            "https://localhost/hook",  # a name that resolves to loopback
            "https://10.1.2.3/hook",
            "https://192.168.0.10/hook",
            "https://172.16.5.4/hook",
            "https://169.254.169.254/latest/meta-data/",  # link-local: cloud metadata
            "https://[::1]/hook",
            "https://[fe80::1]/hook",
            "https://[::ffff:127.0.0.1]/hook",
            "https://0.0.0.0/hook",
            "https://224.0.0.1/hook",
            "https://100.64.0.1/hook",
            "https://2130706433/hook",  # 127.0.0.1 written as a number
        ],
    )
    def test_non_public_addresses_are_refused_on_save(self, admin, url):
        with pytest.raises(ValidationError) as refused:
            _endpoint(admin, url)
        assert "public addresses only" in refused.value.message_dict["url"][0]
        assert not WebhookEndpoint.objects.exists()

    @pytest.mark.parametrize("url", ["http://93.184.215.14/hook", "ftp://example.com/", "https:///nohost"])
    def test_plain_http_and_other_schemes_are_refused(self, admin, url):
        with pytest.raises(ValidationError):
            _endpoint(admin, url)

    def test_a_public_address_is_accepted(self, admin):
        endpoint = _endpoint(admin, "https://93.184.215.14/hook")
        assert endpoint.secret.startswith("whsec_")

    def test_the_setting_allows_private_addresses_and_plain_http(self, admin, settings):
        settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True
        assert _endpoint(admin, "http://10.1.2.3/hook").pk

    def test_an_address_is_checked_again_at_send_time(
        self, admin, csm, own_account, settings, receiver, django_capture_on_commit_callbacks
    ):
        settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True
        _endpoint(admin, receiver.url)
        # The admin setting is switched off (or the name now resolves elsewhere): nothing goes out.
        settings.BATON_WEBHOOKS_ALLOW_PRIVATE = False
        _move(own_account, csm, django_capture_on_commit_callbacks)
        assert receiver.received == []
        delivery = WebhookDelivery.objects.get()
        assert delivery.status == "failed"
        assert delivery.last_error.startswith("Refused: The URL must use https")
        settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True

    def test_a_team_chat_webhook_on_a_private_address_is_refused_too(self, own_account, receiver):
        from notifications import services as notification_services
        from notifications.models import Delivery

        chat = Delivery.objects.create(channel="webhook", target=receiver.url, body='{"text": "x"}', key="chat")
        assert notification_services.delivery_attempt(delivery_id=chat.pk) == "pending"
        chat.refresh_from_db()
        assert chat.last_error.startswith("Refused: The URL must use https")
        assert receiver.received == []
        metadata = Delivery.objects.create(
            channel="webhook", target="https://169.254.169.254/latest/meta-data/", body="{}", key="metadata"
        )
        notification_services.delivery_attempt(delivery_id=metadata.pk)
        metadata.refresh_from_db()
        assert metadata.last_error == (
            "Refused: 169.254.169.254 is a link-local address: webhooks go to public addresses only."
        )

    def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_send_time(
        self, admin, csm, own_account, monkeypatch, django_capture_on_commit_callbacks
    ):
        endpoint = _endpoint(admin, "https://93.184.215.14/hook")
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url="https://localhost:9/hook")
        _move(own_account, csm, django_capture_on_commit_callbacks)
        delivery = WebhookDelivery.objects.get()
        assert delivery.last_error.startswith("Refused: localhost resolves to")
        assert "loopback" in delivery.last_error
