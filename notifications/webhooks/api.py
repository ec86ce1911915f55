"""/api/webhooks/: admins register, change and delete endpoints and read every delivery with its attempts.

The signing secret is returned twice only: in the answer to the POST that
creates an endpoint and in the answer to `POST /api/webhooks/{id}/rotate-secret/`.
Other actions: `resume/`, `pause/`, `test/` (posts a test event), and
`GET /api/webhooks/{id}/deliveries/` (newest first, paginated, read-only).
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.api import as_drf_error
from users.models import User
from users.permissions import can_configure

from . import services
from .models import SUBSCRIBABLE_EVENTS, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .selectors import deliveries_of, endpoints_with_latest


class WebhookEndpointSerializer(serializers.ModelSerializer):
    # Checked by the service (scheme, public address), which says why a URL is refused.
    url = serializers.CharField(max_length=500, help_text="https URL on a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=[(e.value, e.label) for e in SUBSCRIBABLE_EVENTS]),
        allow_empty=False,
        help_text="The events posted to this URL.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "events",
            "state",
            "paused_at",
            "paused_reason",
            "consecutive_failures",
            "secret_rotated_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = [
            "state",
            "paused_at",
            "paused_reason",
            "consecutive_failures",
            "secret_rotated_at",
            "created_by",
            "created_at",
        ]


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown in this answer only: keep it now.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "at", "succeeded", "status_code", "duration_ms", "error"]
        read_only_fields = fields


class WebhookDeliverySerializer(serializers.ModelSerializer):
    attempts = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_type",
            "event_id",
            "status",
            "attempt_count",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "last_attempt_at",
            "delivered_at",
            "created_at",
            "payload",
            "attempts",
        ]
        read_only_fields = fields


class ResumedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Waiting deliveries now being sent.")


class IsAdmin(permissions.IsAuthenticated):
    message = "Only admins manage webhooks."

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, view) and can_configure(cast(User, request.user))


class WebhookEndpointViewSet(viewsets.ModelViewSet):
    """Outbound webhook endpoints (admins only); the README's "Webhooks" section documents events and signing."""

    serializer_class = WebhookEndpointSerializer
    permission_classes = [IsAdmin]
    pagination_class = None  # a handful per install
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return endpoints_with_latest()

    def _actor(self) -> User:
        return cast(User, self.request.user)

    @extend_schema(responses={201: WebhookEndpointWithSecretSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint = services.webhook_endpoint_create(actor=self._actor(), fields=dict(serializer.validated_data))
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: Any) -> None:
        try:
            serializer.instance = services.webhook_endpoint_update(
                actor=self._actor(), endpoint=serializer.instance, fields=dict(serializer.validated_data)
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.webhook_endpoint_delete(actor=self._actor(), endpoint=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=WebhookEndpointWithSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: int) -> Response:
        endpoint = services.webhook_secret_rotate(actor=self._actor(), endpoint=self.get_object())
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)

    @extend_schema(request=None, responses=ResumedSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: int) -> Response:
        try:
            queued = services.webhook_endpoint_resume(actor=self._actor(), endpoint=self.get_object())
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response({"queued": queued})

    @extend_schema(request=None, responses=WebhookEndpointSerializer)
    @action(detail=True, methods=["post"])
    def pause(self, request: Request, pk: int) -> Response:
        try:
            endpoint = services.webhook_endpoint_pause(actor=self._actor(), endpoint=self.get_object())
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(WebhookEndpointSerializer(endpoint).data)

    @extend_schema(request=None, responses={202: WebhookDeliverySerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: int) -> Response:
        delivery = services.webhook_test_send(actor=self._actor(), endpoint=self.get_object())
        delivery.refresh_from_db()
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses=WebhookDeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request: Request, pk: int) -> Response:
        paginator = cast(Any, api_settings.DEFAULT_PAGINATION_CLASS)()  # the project's page shape
        rows = paginator.paginate_queryset(deliveries_of(self.get_object()), request, view=self)
        return paginator.get_paginated_response(WebhookDeliverySerializer(rows, many=True).data)
