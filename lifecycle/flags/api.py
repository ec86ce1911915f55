"""Alert rules (everyone reads, admins write) and red flags (read all; act with the account's edit right)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from lifecycle.flags import services as flag_services
from lifecycle.flags.filters import RedFlagFilter
from lifecycle.models import AlertRule, RedFlag
from users.permissions import can_configure


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


class RedFlagViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Everyone reads every flag; acknowledging, snoozing and resolving need the right to change the account."""

    serializer_class = RedFlagSerializer
    filterset_class = RedFlagFilter
    ordering_fields = ["raised_at", "severity_rank", "status"]
    ordering = ["-severity_rank", "-raised_at"]

    def get_queryset(self) -> QuerySet[RedFlag]:
        return RedFlag.objects.select_related("rule", "account")

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
