from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import ProtectedError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from users import services
from users.models import Team, User
from users.permissions import can_configure

from .serializers import TeamSerializer, UserSerializer


class ReadOrConfigure(permissions.BasePermission):
    """Everyone signed in reads; only admins change people and teams."""

    message = "Only admins change users and teams."

    def has_permission(self, request, view) -> bool:
        if not request.user.is_authenticated:
            return False
        return request.method in permissions.SAFE_METHODS or can_configure(request.user)


class TeamInUse(APIException):
    status_code = 409
    default_detail = "This team still pools accounts; move them to another owner or pool first."
    default_code = "team_in_use"


class TeamViewSet(viewsets.ModelViewSet):
    queryset = Team.objects.all()
    serializer_class = TeamSerializer
    permission_classes = [ReadOrConfigure]
    filterset_fields = ["segment"]
    ordering = ["name"]

    def perform_destroy(self, instance: Team) -> None:
        try:
            instance.delete()
        except ProtectedError as error:
            raise TeamInUse() from error


class UserStatusChangeSerializer(serializers.Serializer):
    reason = serializers.CharField(min_length=3, help_text="Why: kept on record.")


class UserViewSet(viewsets.ModelViewSet):
    serializer_class = UserSerializer
    permission_classes = [ReadOrConfigure]
    filterset_fields = ["role", "team", "is_active"]
    ordering_fields = ["username", "last_name"]
    ordering = ["username"]
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def get_queryset(self):
        return User.objects.all()

    def perform_update(self, serializer) -> None:
        # Switching someone off also revokes their tokens and is recorded with why: only through the service.
        wanted = serializer.validated_data.get("is_active")
        if wanted is not None and wanted != serializer.instance.is_active:
            raise ValidationError(
                {"is_active": "Use POST /api/users/{id}/deactivate/ or /reactivate/ with a reason: it is recorded."}
            )
        super().perform_update(serializer)

    def _status_change(self, request: Request, change) -> Response:
        user = self.get_object()
        payload = UserStatusChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            user = change(actor=request.user, user=user, reason=payload.validated_data["reason"])
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(UserSerializer(user).data)

    @extend_schema(request=UserStatusChangeSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def deactivate(self, request: Request, pk: str | None = None) -> Response:
        """No sign-in, every API token of theirs revoked, recorded with the reason; their accounts wait for a
        handover. Admins only, never themselves; idempotent."""
        return self._status_change(request, services.user_deactivate)

    @extend_schema(request=UserStatusChangeSerializer, responses=UserSerializer)
    @action(detail=True, methods=["post"])
    def reactivate(self, request: Request, pk: str | None = None) -> Response:
        return self._status_change(request, services.user_reactivate)

    @action(detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def me(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)
