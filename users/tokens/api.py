"""/api/tokens/: admins list, create, rotate and revoke tokens over the API.

The hash is never returned; the plaintext only in the answer to create and
rotate. Declared read-only to tokens (csm/api_router.py), so a token never
makes, rotates or revokes a token: that takes an admin's session.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import as_drf_error
from users.models import User
from users.permissions import can_manage_integration_tokens

from . import services
from .models import ApiToken, TokenKind
from .scopes import Scope


class ApiTokenSerializer(serializers.ModelSerializer):
    scopes = serializers.ListField(child=serializers.CharField(), source="scope_labels", read_only=True)
    acts_as: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(source="user", read_only=True)

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "kind",
            "prefix",
            "scopes",
            "acts_as",
            "created_by",
            "created_at",
            "expires_at",
            "rotated_at",
            "revoked_at",
            "revoked_by",
            "last_used_at",
            "last_used_ip",
        ]
        read_only_fields = fields


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=TokenKind.choices, default=TokenKind.INTEGRATION)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.choices), allow_empty=False)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class IssuedTokenSerializer(ApiTokenSerializer):
    token = serializers.CharField(read_only=True, help_text="The token itself: shown in this answer only.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "token"]
        read_only_fields = fields


class IsAdmin(permissions.BasePermission):
    message = "Only admins manage tokens over the API."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_manage_integration_tokens(request.user)


def _issued(issued: services.IssuedToken) -> dict[str, Any]:
    data = IssuedTokenSerializer(issued.token).data
    return {**data, "token": issued.plaintext}


class ApiTokenViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ApiTokenSerializer
    permission_classes = [IsAdmin]
    filterset_fields = ["kind"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return ApiToken.objects.all()

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return ApiTokenCreateSerializer if self.action == "create" else ApiTokenSerializer

    def _actor(self) -> User:
        return cast(User, self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = ApiTokenCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            issued = services.token_create(actor=self._actor(), **form.validated_data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        return Response(_issued(issued), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["post"])
    def rotate(self, request: Request, pk: str | None = None) -> Response:
        try:
            issued = services.token_rotate(actor=self._actor(), token=self.get_object())
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(_issued(issued))

    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        try:
            token = services.token_revoke(actor=self._actor(), token=self.get_object())
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(ApiTokenSerializer(token).data)
