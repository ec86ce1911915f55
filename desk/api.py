"""The account API as the router serves it: accounts' viewset plus what lives above accounts.

Filtering by health band and changing the stage reach into lifecycle, which
accounts may not import; composing them here keeps the same URLs and route
names (`api:account-list`, `api:account-change-stage`, ...).
"""

from __future__ import annotations

from typing import cast

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import AccountSerializer, StageChangeSerializer
from accounts.api.views import AccountViewSet
from core.api import as_drf_error
from lifecycle.health.filters import AccountHealthFilter
from lifecycle.stages.services import account_stage_change
from users.models import User


# The docstring is the endpoint's description in the OpenAPI schema, kept as accounts wrote it.
class AccountDeskViewSet(AccountViewSet):
    """Accounts: everyone reads all; owners, their team's manager and admins change."""

    # Adds `?band=` (health band, or "none" for not scored) to accounts' own filters.
    filterset_class = AccountHealthFilter

    @extend_schema(request=StageChangeSerializer, responses=AccountSerializer)
    @action(detail=True, methods=["post"], url_path="change-stage")
    def change_stage(self, request: Request, pk: str | None = None) -> Response:
        account = self.get_object()
        payload = StageChangeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # The permission class (IsAuthenticated and the right to change this account) let only a signed-in user here.
        actor = cast(User, request.user)
        try:
            account_stage_change(actor=actor, account=account, **payload.validated_data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        account.refresh_from_db()
        return Response(AccountSerializer(account).data)
