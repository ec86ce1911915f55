from __future__ import annotations

from django.db.models import ProtectedError
from rest_framework import permissions, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

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


class UserViewSet(viewsets.ModelViewSet):
    serializer_class = UserSerializer
    permission_classes = [ReadOrConfigure]
    filterset_fields = ["role", "team", "is_active"]
    ordering_fields = ["username", "last_name"]
    ordering = ["username"]
    http_method_names = ["get", "post", "patch", "put", "head", "options"]

    def get_queryset(self):
        return User.objects.all()

    @action(detail=False, methods=["get"], permission_classes=[permissions.IsAuthenticated])
    def me(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)
