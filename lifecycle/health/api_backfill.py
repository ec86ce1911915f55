"""Back-filling health history over the API: admins ask, a worker scores the days, anyone admin reads progress."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from lifecycle.health.backfill import MAX_ID, health_backfill_request
from lifecycle.health.models import HealthBackfill
from users.models import User
from users.permissions import can_configure


class HealthBackfillRequestSerializer(serializers.Serializer):
    day = serializers.DateField(help_text="The first day to score (YYYY-MM-DD); not in the future.")
    until = serializers.DateField(
        required=False, allow_null=True, help_text="The last day to score, oldest first; default: `day` alone."
    )
    scorecard = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        max_value=MAX_ID,
        help_text="Score every account with this scorecard id instead of each account's applicable one.",
    )
    raise_flags = serializers.BooleanField(
        default=False, help_text="Raise the red flags that fire, dated on their day; nobody is notified."
    )


class HealthBackfillSerializer(serializers.ModelSerializer):
    state = serializers.CharField(read_only=True, help_text="queued, running, finished or failed.")

    class Meta:
        model = HealthBackfill
        fields = [
            "id",
            "first_day",
            "last_day",
            "scorecard",
            "raise_flags",
            "requested_by",
            "requested_at",
            "started_at",
            "finished_at",
            "days_done",
            "days_total",
            "accounts_scored",
            "error",
            "state",
        ]
        read_only_fields = fields


class CanConfigure(permissions.IsAuthenticated):
    message = "Only admins back-fill health history."

    def has_permission(self, request: Request, view) -> bool:
        user = request.user
        return super().has_permission(request, view) and isinstance(user, User) and can_configure(user)


class HealthBackfillViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Score past days again after an import: `POST` queues the work (202), `GET <id>` shows its progress."""

    permission_classes = [CanConfigure]
    serializer_class = HealthBackfillSerializer
    ordering_fields = ["requested_at"]
    ordering = ["-requested_at"]

    def get_queryset(self) -> QuerySet[HealthBackfill]:
        return HealthBackfill.objects.all()

    @extend_schema(request=HealthBackfillRequestSerializer, responses={202: HealthBackfillSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        data = HealthBackfillRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        # CanConfigure let only a signed-in admin this far.
        assert isinstance(request.user, User)
        try:
            backfill = health_backfill_request(
                requested_by=request.user,
                first_day=values["day"],
                last_day=values.get("until"),
                scorecard_id=values.get("scorecard"),
                raise_flags=values["raise_flags"],
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(HealthBackfillSerializer(backfill).data, status=status.HTTP_202_ACCEPTED)
