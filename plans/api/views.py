"""Success plans over REST; writes go through plans.services and the account-edit rule."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch, QuerySet
from rest_framework import mixins, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError

from plans import services
from plans.models import Achievement, Objective, SuccessPlan
from users.permissions import can_edit_account

from .serializers import (
    AchievementSerializer,
    ObjectiveSerializer,
    SuccessPlanSerializer,
)


def _require_edit(user, account) -> None:
    if not can_edit_account(user, account):
        raise PermissionDenied("You cannot change this account's success plans.")


def _drf(error: DjangoValidationError) -> ValidationError:
    if hasattr(error, "error_dict"):
        return ValidationError({f: [m for e in errs for m in e.messages] for f, errs in error.error_dict.items()})
    return ValidationError({"non_field_errors": error.messages})


class SuccessPlanViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SuccessPlanSerializer
    filterset_fields = ["account", "status", "scope"]
    ordering = ["account_id", "name"]

    def get_queryset(self) -> QuerySet[SuccessPlan]:
        return SuccessPlan.objects.select_related("account__owner").prefetch_related(
            Prefetch("objectives", queryset=Objective.objects.order_by("due_date", "id")),
            "achievements",
        )

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        account = data.pop("account")
        _require_edit(self.request.user, account)
        try:
            serializer.instance = services.plan_create(actor=self.request.user, account=account, fields=data)
        except DjangoValidationError as error:
            raise _drf(error) from error

    def perform_update(self, serializer):
        _require_edit(self.request.user, serializer.instance.account)
        data = dict(serializer.validated_data)
        data.pop("account", None)
        try:
            serializer.instance = services.plan_update(actor=self.request.user, plan=serializer.instance, fields=data)
        except DjangoValidationError as error:
            raise _drf(error) from error


class ObjectiveViewSet(
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = ObjectiveSerializer
    filterset_fields = ["plan", "status", "owner"]
    ordering = ["plan_id", "due_date", "id"]

    def get_queryset(self) -> QuerySet[Objective]:
        return Objective.objects.select_related("plan__account__owner")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        plan = data.pop("plan")
        _require_edit(self.request.user, plan.account)
        try:
            serializer.instance = services.objective_create(actor=self.request.user, plan=plan, fields=data)
        except DjangoValidationError as error:
            raise _drf(error) from error

    def perform_update(self, serializer):
        _require_edit(self.request.user, serializer.instance.plan.account)
        data = dict(serializer.validated_data)
        data.pop("plan", None)
        try:
            serializer.instance = services.objective_update(
                actor=self.request.user, objective=serializer.instance, fields=data
            )
        except DjangoValidationError as error:
            raise _drf(error) from error


class AchievementViewSet(
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AchievementSerializer
    filterset_fields = ["plan"]
    ordering = ["plan_id", "-achieved_on", "-id"]

    def get_queryset(self) -> QuerySet[Achievement]:
        return Achievement.objects.all()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        plan = data.pop("plan")
        _require_edit(self.request.user, plan.account)
        try:
            serializer.instance = services.achievement_record(actor=self.request.user, plan=plan, **data)
        except DjangoValidationError as error:
            raise _drf(error) from error
