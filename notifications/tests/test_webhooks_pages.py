"""/settings/webhooks/ pages and /api/webhooks/: admins only, the secret shown once, fixed query counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.conftest import admin, csm, manager, team  # noqa: F401
from notifications.tests.webhook_receiver import Receiver
from notifications.webhooks import services
from notifications.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.215.14/hooks/baton?token=abc"


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True
    with Receiver() as server:
        yield server


def _endpoint(admin, url: str = PUBLIC, events=("stage.changed",)) -> WebhookEndpoint:
    return services.webhook_endpoint_create(actor=admin, fields={"url": url, "events": list(events)})


def _deliveries(endpoint: WebhookEndpoint, count: int, attempts: int = 2) -> None:
    """Deliveries written straight to the table, nothing posted: pages are about reading them."""
    now = timezone.now()
    rows = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event_type="stage.changed",
            payload={"n": n},
            status="failed",
            attempt_count=attempts,
            next_attempt_at=now,
            last_status_code=500,
            last_error="HTTP 500",
        )
        for n in range(count)
    )
    WebhookAttempt.objects.bulk_create(
        WebhookAttempt(delivery=row, number=n, status_code=500, error="HTTP 500")
        for row in rows
        for n in range(1, attempts + 1)
    )


@pytest.fixture
def api(admin) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin)
    return client


class TestPages:
    @pytest.mark.parametrize("name", ["webhook-list", "webhook-create"])
    def test_a_csm_and_a_manager_are_refused(self, client, csm, manager, name):
        for person in (csm, manager):
            client.force_login(person)
            assert client.get(reverse(name)).status_code == 403

    def test_a_csm_cannot_see_or_act_on_an_endpoint(self, client, admin, csm):
        endpoint = _endpoint(admin)
        client.force_login(csm)
        assert client.get(reverse("webhook-detail", args=[endpoint.pk])).status_code == 403
        for name in ["webhook-resume", "webhook-rotate-secret", "webhook-test", "webhook-delete"]:
            assert client.post(reverse(name, args=[endpoint.pk])).status_code == 403
        assert WebhookEndpoint.objects.get().secret == endpoint.secret

    def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(self, client, admin):
        client.force_login(admin)
        response = client.post(
            reverse("webhook-create"),
            {"url": PUBLIC, "description": "CRM sync", "events": ["stage.changed", "outcome.recorded"]},
        )
        endpoint = WebhookEndpoint.objects.get()
        assert response.status_code == 200
        assert response["Cache-Control"] == "no-store"
        assert endpoint.secret in response.content.decode()
        assert endpoint.events == ["stage.changed", "outcome.recorded"]
        assert endpoint.created_by == admin
        detail = client.get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
        assert endpoint.secret not in detail
        listing = client.get(reverse("webhook-list")).content.decode()
        assert "93.184.215.14" in listing and "token=abc" not in listing

    def test_a_private_address_is_refused_with_the_reason(self, client, admin):
        client.force_login(admin)
        response = client.post(reverse("webhook-create"), {"url": "https://10.0.0.8/hook", "events": ["stage.changed"]})
        assert response.status_code == 422
        assert "public addresses only" in response.content.decode()
        assert not WebhookEndpoint.objects.exists()

    def test_no_events_is_refused(self, client, admin):
        client.force_login(admin)
        response = client.post(reverse("webhook-create"), {"url": PUBLIC})
        assert response.status_code == 422
        assert not WebhookEndpoint.objects.exists()

    def test_rotating_shows_the_new_secret(self, client, admin):
        endpoint = _endpoint(admin)
        client.force_login(admin)
        response = client.post(reverse("webhook-rotate-secret", args=[endpoint.pk]))
        endpoint.refresh_from_db()
        assert endpoint.secret in response.content.decode()

    def test_editing_changes_the_events(self, client, admin):
        endpoint = _endpoint(admin)
        client.force_login(admin)
        response = client.post(
            reverse("webhook-edit", args=[endpoint.pk]), {"url": PUBLIC, "events": ["flag.raised", "flag.resolved"]}
        )
        assert response.status_code == 302
        endpoint.refresh_from_db()
        assert endpoint.events == ["flag.raised", "flag.resolved"]

    def test_a_paused_endpoint_is_shown_with_its_reason_and_resumed(
        self, client, admin, receiver, django_capture_on_commit_callbacks
    ):
        endpoint = _endpoint(admin, url=receiver.url)
        services.webhook_endpoint_pause(actor=admin, endpoint=endpoint)
        _deliveries(endpoint, 2)
        client.force_login(admin)
        listing = client.get(reverse("webhook-list")).content.decode()
        assert "Paused" in listing and f"Paused by {admin}." in listing
        detail = client.get(reverse("webhook-detail", args=[endpoint.pk])).content.decode()
        assert 'id="paused"' in detail and "Resume" in detail
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("webhook-resume", args=[endpoint.pk]))
        assert response.status_code == 302
        endpoint.refresh_from_db()
        assert endpoint.state == "active"
        assert len(receiver.received) == 2
        assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}

    def test_send_test_event_posts_to_the_receiver(self, client, admin, receiver, django_capture_on_commit_callbacks):
        endpoint = _endpoint(admin, url=receiver.url)
        client.force_login(admin)
        with django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("webhook-test", args=[endpoint.pk]))
        (request,) = receiver.received
        assert request["json"]["type"] == "webhook.test"
        assert WebhookDelivery.objects.get().status == "succeeded"

    def test_retry_now_on_a_failed_delivery(self, client, admin, receiver, django_capture_on_commit_callbacks):
        endpoint = _endpoint(admin, url=receiver.url)
        _deliveries(endpoint, 1)
        delivery = WebhookDelivery.objects.get()
        client.force_login(admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("webhook-delivery-retry", args=[delivery.pk]))
        assert response.status_code == 302
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 3)

    def test_the_list_has_a_fixed_query_count(self, client, admin, django_assert_num_queries):
        client.force_login(admin)
        for n in range(3):
            _deliveries(_endpoint(admin, url=f"https://93.184.215.{n + 1}/hook"), 3)
        # session, user, the endpoints with their latest delivery and waiting count, the bell's unread count
        with django_assert_num_queries(4):
            assert client.get(reverse("webhook-list")).status_code == 200
        for n in range(3):
            _endpoint(admin, url=f"https://93.184.216.{n + 1}/hook")
        with django_assert_num_queries(4):
            client.get(reverse("webhook-list"))

    def test_the_detail_has_a_fixed_query_count(self, client, admin, django_assert_num_queries):
        endpoint = _endpoint(admin)
        client.force_login(admin)
        _deliveries(endpoint, 2)
        # session, user, endpoint, count, page of deliveries, their attempts, the bell
        with django_assert_num_queries(8):
            assert client.get(reverse("webhook-detail", args=[endpoint.pk])).status_code == 200
        _deliveries(endpoint, 30, attempts=4)
        with django_assert_num_queries(8):
            response = client.get(reverse("webhook-detail", args=[endpoint.pk]))
        assert response.context["page"].paginator.num_pages == 2


class TestAPI:
    def test_create_returns_the_secret_once(self, api):
        response = api.post(
            "/api/webhooks/", {"url": PUBLIC, "events": ["flag.raised"], "description": "Alerts"}, format="json"
        )
        assert response.status_code == 201, response.json()
        endpoint = WebhookEndpoint.objects.get()
        assert response.json()["secret"] == endpoint.secret
        listed = api.get("/api/webhooks/").json()
        assert listed[0]["url"] == PUBLIC and "secret" not in listed[0]
        assert "secret" not in api.get(f"/api/webhooks/{endpoint.pk}/").json()
        rotated = api.post(f"/api/webhooks/{endpoint.pk}/rotate-secret/").json()
        endpoint.refresh_from_db()
        assert rotated["secret"] == endpoint.secret

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"url": "https://127.0.0.1/hook", "events": ["flag.raised"]}, "url"),
            ({"url": "https://169.254.169.254/", "events": ["flag.raised"]}, "url"),
            ({"url": "http://93.184.215.14/", "events": ["flag.raised"]}, "url"),
            ({"url": "not a url", "events": ["flag.raised"]}, "url"),
            ({"url": PUBLIC, "events": []}, "events"),
            ({"url": PUBLIC, "events": ["account.deleted"]}, "events"),
            ({"url": PUBLIC, "events": ["webhook.test"]}, "events"),
            ({"url": PUBLIC}, "events"),
        ],
    )
    def test_bad_input_is_a_400_naming_the_field(self, api, body, field):
        response = api.post("/api/webhooks/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not WebhookEndpoint.objects.exists()

    def test_a_csm_is_refused(self, csm, admin):
        _endpoint(admin)
        client = APIClient()
        client.force_authenticate(csm)
        assert client.get("/api/webhooks/").status_code == 403
        assert (
            client.post("/api/webhooks/", {"url": PUBLIC, "events": ["flag.raised"]}, format="json").status_code == 403
        )

    def test_update_and_delete(self, api, admin):
        endpoint = _endpoint(admin)
        response = api.patch(f"/api/webhooks/{endpoint.pk}/", {"events": ["outcome.recorded"]}, format="json")
        assert response.status_code == 200 and response.json()["events"] == ["outcome.recorded"]
        assert (
            api.patch(f"/api/webhooks/{endpoint.pk}/", {"url": "https://10.0.0.1/"}, format="json").status_code == 400
        )
        assert api.delete(f"/api/webhooks/{endpoint.pk}/").status_code == 204
        assert not WebhookEndpoint.objects.exists()

    def test_deliveries_with_attempts_read_only_and_paginated(self, api, admin, django_assert_num_queries):
        endpoint = _endpoint(admin)
        _deliveries(endpoint, 3)
        with django_assert_num_queries(4):  # endpoint, count, page, attempts
            response = api.get(f"/api/webhooks/{endpoint.pk}/deliveries/")
        body = response.json()
        assert body["count"] == 3
        first = body["results"][0]
        assert first["status"] == "failed" and len(first["attempts"]) == 2
        assert api.post(f"/api/webhooks/{endpoint.pk}/deliveries/").status_code == 405

    def test_pause_and_resume(self, api, admin):
        endpoint = _endpoint(admin)
        assert api.post(f"/api/webhooks/{endpoint.pk}/pause/").json()["state"] == "paused"
        assert api.post(f"/api/webhooks/{endpoint.pk}/resume/").json() == {"queued": 0}
        assert api.post(f"/api/webhooks/{endpoint.pk}/resume/").status_code == 400


def test_the_django_admin_lists_webhooks_without_the_secret(admin_client, admin):
    endpoint = _endpoint(admin)
    _deliveries(endpoint, 1)
    assert admin_client.get("/admin/notifications/webhookdelivery/").status_code == 200
    page = admin_client.get(f"/admin/notifications/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
