"""Backtests over the API (admins only): `POST` asks for one (202, a worker runs it), `GET <id>` shows progress and the report."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from lifecycle.health.backtest.forms import DEFAULT_PERIOD_DAYS
from lifecycle.health.backtest.selectors import backtest_list, backtest_with_report
from lifecycle.health.backtest.services import (
    DEFAULT_HORIZONS,
    MAX_HORIZON_DAYS,
    MAX_HORIZONS,
    MAX_ID,
    MAX_SEED,
    backtest_request,
)
from lifecycle.models import Backtest
from users.models import User
from users.permissions import can_configure


class BacktestRequestSerializer(serializers.Serializer):
    scorecard = serializers.IntegerField(min_value=1, max_value=MAX_ID, help_text="The scorecard version to test.")
    baseline = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=MAX_ID, help_text="A version to compare with."
    )
    first_day = serializers.DateField(required=False, help_text="Outcomes from this day; default two years ago.")
    last_day = serializers.DateField(required=False, help_text="Outcomes until this day; default today.")
    horizons = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_HORIZON_DAYS),
        required=False,
        min_length=1,
        max_length=MAX_HORIZONS,
        help_text="Days before each outcome to score the account; default [30, 60, 90].",
    )
    bootstrap_seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_SEED)


class BacktestSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text="queued, running, finished or failed.")
    percent_done = serializers.IntegerField(read_only=True)
    scorecard_label = serializers.CharField(source="scorecard.label", read_only=True)
    baseline_label = serializers.CharField(source="baseline.label", read_only=True, default=None)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, default=None)

    class Meta:
        model = Backtest
        fields = [
            "id",
            "scorecard",
            "scorecard_label",
            "baseline",
            "baseline_label",
            "first_day",
            "last_day",
            "horizons",
            "bootstrap_seed",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "steps_done",
            "steps_total",
            "percent_done",
            "state",
            "error",
        ]
        read_only_fields = fields


class BacktestListSerializer(BacktestSerializer):
    headline_auc = serializers.FloatField(
        read_only=True, allow_null=True, help_text="The tested version's AUC at the shortest horizon."
    )

    class Meta(BacktestSerializer.Meta):
        fields = [*BacktestSerializer.Meta.fields, "headline_auc"]
        read_only_fields = fields


class BacktestDetailSerializer(BacktestSerializer):
    report = serializers.JSONField(read_only=True, help_text="Inputs, outcomes and the figures per horizon.")

    class Meta(BacktestSerializer.Meta):
        fields = [*BacktestSerializer.Meta.fields, "report"]
        read_only_fields = fields


class CanRunBacktests(permissions.IsAuthenticated):
    message = "Only admins run backtests."

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        return super().has_permission(request, view) and isinstance(user, User) and can_configure(user)


class BacktestViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Scorecard backtests: `POST` asks for one (202), `GET` lists them, `GET <id>` shows progress and the report."""

    permission_classes = [CanRunBacktests]

    def get_queryset(self) -> QuerySet[Backtest]:
        return backtest_list() if self.action == "list" else backtest_with_report()

    def get_serializer_class(self):
        return BacktestListSerializer if self.action == "list" else BacktestDetailSerializer

    @extend_schema(request=BacktestRequestSerializer, responses={202: BacktestDetailSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = BacktestRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        assert isinstance(request.user, User)  # CanRunBacktests let only a signed-in admin this far
        today = timezone.localdate()
        try:
            backtest = backtest_request(
                requested_by=request.user,
                scorecard_id=values["scorecard"],
                baseline_id=values.get("baseline"),
                first_day=values.get("first_day", today - dt.timedelta(days=DEFAULT_PERIOD_DAYS)),
                last_day=values.get("last_day", today),
                horizons=values.get("horizons", list(DEFAULT_HORIZONS)),
                bootstrap_seed=values["bootstrap_seed"],
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        backtest = backtest_with_report().get(pk=backtest.pk)
        return Response(BacktestDetailSerializer(backtest).data, status=status.HTTP_202_ACCEPTED)
