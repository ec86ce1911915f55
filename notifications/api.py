"""My notifications (read, mark read) and my subscriptions (CRUD); nobody sees anyone else's."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from lifecycle.models import AlertRule

from . import services
from .models import Notification, Subscription


class NotificationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "url", "flag", "created_at", "read_at"]
        read_only_fields = fields


class SubscriptionSerializer(serializers.ModelSerializer):
    rules = serializers.PrimaryKeyRelatedField(queryset=AlertRule.objects.all(), many=True, required=False)

    class Meta:
        model = Subscription
        fields = ["id", "scope", "rules", "tier", "min_severity", "email_each_flag", "daily_digest", "created_at"]
        read_only_fields = ["created_at"]


class MarkedSerializer(serializers.Serializer):
    marked = serializers.IntegerField()


class NotificationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    filterset_fields = ["kind"]
    ordering_fields = ["created_at"]
    ordering = ["-created_at"]

    def get_queryset(self) -> QuerySet[Notification]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notification.objects.none()
        queryset = Notification.objects.for_user(self.request.user)
        if self.request.query_params.get("unread") in ("1", "true"):
            queryset = queryset.unread()
        return queryset

    @extend_schema(request=None, responses=NotificationSerializer)
    @action(detail=True, methods=["post"], url_path="read")
    def mark_read(self, request: Request, pk: int) -> Response:
        notification = self.get_object()
        notification = services.notification_mark_read(user=request.user, notification_id=notification.pk)
        return Response(NotificationSerializer(notification).data)

    @extend_schema(request=None, responses=MarkedSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def mark_all_read(self, request: Request) -> Response:
        return Response({"marked": services.notifications_mark_all_read(user=request.user)})


class SubscriptionViewSet(viewsets.ModelViewSet):
    serializer_class = SubscriptionSerializer
    pagination_class = None
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Subscription]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Subscription.objects.none()
        return Subscription.objects.filter(user=self.request.user).prefetch_related("rules")

    def perform_create(self, serializer) -> None:
        data = dict(serializer.validated_data)
        rules = data.pop("rules", [])
        try:
            serializer.instance = services.subscription_create(user=self.request.user, fields=data, rules=rules)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer) -> None:
        data = dict(serializer.validated_data)
        rules = data.pop("rules", None)
        try:
            serializer.instance = services.subscription_update(
                subscription=serializer.instance, fields=data, rules=rules
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
