"""Alert rules (everyone reads, admins write), red flags (read all; act with the account's edit right), the alert
settings (everyone reads, admins write) and the flood guard's warnings (admins and managers read and acknowledge).
"""

from __future__ import annotations

from decimal import Decimal
from typing import cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from core.list_serializer import LeanListSerializer
from lifecycle.flags import services as flag_services
from lifecycle.flags.filters import FloodWarningFilter, RedFlagFilter
from lifecycle.flags.models import AlertSettings, FloodWarning
from lifecycle.models import AlertRule, RedFlag
from users.models import User
from users.permissions import can_configure, oversees_alerts


class AlertRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AlertRule
        fields = ["id", "name", "kind", "severity", "params", "tier", "stage", "active", "start_playbook", "updated_at"]
        read_only_fields = ["updated_at"]


class RedFlagSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    account_name = serializers.CharField(source="account.name", read_only=True)

    class Meta:
        model = RedFlag
        list_serializer_class = LeanListSerializer
        fields = [
            "id",
            "rule",
            "rule_name",
            "account",
            "account_name",
            "owner",
            "severity",
            "status",
            "reason",
            "values",
            "raised_at",
            "acknowledged_at",
            "acknowledged_by",
            "snoozed_until",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "cleared_at",
            "cleared_reason",
        ]
        read_only_fields = fields


class SnoozeSerializer(serializers.Serializer):
    until = serializers.DateField(help_text="The flag comes back on the morning of this date if its rule still fires.")


class ResolveSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="What was done.")


class AdminWritesOrReadOnly(permissions.IsAuthenticated):
    message = "Only admins configure alert rules."

    def has_permission(self, request: Request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or can_configure(request.user)


class AlertRuleInUse(APIException):
    status_code = 409
    default_detail = "This rule has raised flags, which would be deleted with it; retire it with active=false instead."
    default_code = "alert_rule_in_use"


class AlertRuleViewSet(viewsets.ModelViewSet):
    serializer_class = AlertRuleSerializer
    permission_classes = [AdminWritesOrReadOnly]
    queryset = AlertRule.objects.all()
    filterset_fields = ["kind", "severity", "active", "tier", "stage"]
    ordering_fields = ["name", "kind", "severity"]
    ordering = ["name"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def perform_create(self, serializer) -> None:
        try:
            serializer.instance = flag_services.alert_rule_create(
                actor=self.request.user, fields=serializer.validated_data
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer) -> None:
        try:
            serializer.instance = flag_services.alert_rule_update(
                actor=self.request.user, rule=serializer.instance, fields=serializer.validated_data
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_destroy(self, instance: AlertRule) -> None:
        # Its flags and flood warnings go with it (CASCADE): a rule that ever fired is retired, not deleted.
        if instance.flags.exists() or instance.flood_warnings.exists():
            raise AlertRuleInUse()
        instance.delete()


class RedFlagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Everyone reads every flag; acknowledging, snoozing and resolving need the right to change the account."""

    serializer_class = RedFlagSerializer
    filterset_class = RedFlagFilter
    # Keyset pages, each ordering along its own index (lifecycle 0022): most severe and newest first by default.
    ordering_keys = {
        "severity_rank": ("severity_rank", "raised_at", "id"),
        "raised_at": ("raised_at", "id"),
    }
    ordering_fields = list(ordering_keys)
    ordering = ["-severity_rank"]

    def get_queryset(self) -> QuerySet[RedFlag]:
        # Of the rule and the account only their names: an account row is wide, and a page would build 50 of them.
        # The severity rank is the keyset pages' position.
        shown = [name for name in RedFlagSerializer.Meta.fields if not name.endswith("_name")]
        return RedFlag.objects.select_related("rule", "account").only(
            *shown, "severity_rank", "rule__name", "account__name"
        )

    # flag_for_action raises Django's Http404/PermissionDenied, which DRF answers 404/403:
    # the wrong user is refused before their payload is even validated.

    def _act(self, do) -> Response:
        try:
            flag = do()
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(RedFlagSerializer(flag).data)

    @extend_schema(request=None, responses=RedFlagSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: int) -> Response:
        flag = flag_services.flag_for_action(request.user, pk)
        return self._act(lambda: flag_services.flag_acknowledge(actor=request.user, flag=flag))

    @extend_schema(request=SnoozeSerializer, responses=RedFlagSerializer)
    @action(detail=True, methods=["post"])
    def snooze(self, request: Request, pk: int) -> Response:
        flag = flag_services.flag_for_action(request.user, pk)
        data = SnoozeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(lambda: flag_services.flag_snooze(actor=request.user, flag=flag, **data.validated_data))

    @extend_schema(request=ResolveSerializer, responses=RedFlagSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: int) -> Response:
        flag = flag_services.flag_for_action(request.user, pk)
        data = ResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return self._act(lambda: flag_services.flag_resolve(actor=request.user, flag=flag, **data.validated_data))


# --- the flood guard ---------------------------------------------------------------


class AlertSettingsSerializer(serializers.ModelSerializer):
    flood_share = serializers.DecimalField(
        max_digits=4,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("1"),
        help_text="Warn admins and managers when one rule raises new flags on more than this share of the book "
        "(0.2 = 20%) in one night. Above 0, at most 1. The flags are raised all the same: it is never a cap.",
    )
    # Null until someone first changes the defaults.
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)
    updated_by: serializers.PrimaryKeyRelatedField[User] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True
    )

    class Meta:
        model = AlertSettings
        fields = ["flood_share", "updated_at", "updated_by"]
        read_only_fields = ["updated_at", "updated_by"]


class AlertSettingsView(generics.RetrieveUpdateAPIView):
    """Options for every alert rule: everyone signed in reads them, admins change them."""

    serializer_class = AlertSettingsSerializer
    permission_classes = [AdminWritesOrReadOnly]
    http_method_names = ["get", "patch", "put", "head", "options"]

    def get_object(self) -> AlertSettings:
        return AlertSettings.objects.current()

    def perform_update(self, serializer) -> None:
        # A PATCH that leaves out the one setting changes nothing (it was a KeyError: a 500, found by the
        # permission matrix, tests/test_permission_matrix.py).
        if "flood_share" not in serializer.validated_data:
            return
        try:
            serializer.instance = flag_services.alert_settings_update(
                actor=cast(User, self.request.user), flood_share=serializer.validated_data["flood_share"]
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error


class FloodWarningSerializer(serializers.ModelSerializer):
    rule_name = serializers.CharField(source="rule.name", read_only=True)

    class Meta:
        model = FloodWarning
        fields = [
            "id",
            "rule",
            "rule_name",
            "day",
            "fired",
            "book_size",
            "share",
            "limit",
            "created_at",
            "acknowledged_at",
            "acknowledged_by",
        ]
        read_only_fields = fields


class OverseesAlerts(permissions.IsAuthenticated):
    message = "Only admins and managers see flood warnings."

    def has_permission(self, request: Request, view) -> bool:
        return super().has_permission(request, view) and oversees_alerts(cast(User, request.user))


class FloodWarningViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rules that raised new flags on more than the flood share of the book in one night, newest first."""

    serializer_class = FloodWarningSerializer
    permission_classes = [OverseesAlerts]
    filterset_class = FloodWarningFilter
    ordering_fields = ["day", "share"]
    ordering = ["-day", "-share", "pk"]

    def get_queryset(self) -> QuerySet[FloodWarning]:
        return FloodWarning.objects.select_related("rule")

    @extend_schema(request=None, responses=FloodWarningSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: int) -> Response:
        actor = cast(User, request.user)
        warning = flag_services.flood_warning_acknowledge(actor=actor, warning=self.get_object())
        return Response(FloodWarningSerializer(warning).data)
