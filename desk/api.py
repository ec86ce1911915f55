"""The account API as the router serves it: accounts' viewset plus what lives above accounts.

Health (the nested `health` object, the band and score filters, the snapshots)
and changing the stage reach into lifecycle, which accounts may not import;
composing them here keeps the same URLs and route names (`api:account-list`,
`api:account-change-stage`, `api:account-health`, ...).
"""

from __future__ import annotations

from typing import cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api.serializers import AccountSerializer, StageChangeSerializer
from accounts.api.views import AccountViewSet
from accounts.models import Account, Tag
from core.api import as_drf_error
from lifecycle.health.api import AccountHealthSerializer, HealthScoreSerializer
from lifecycle.health.filters import AccountHealthFilter, HealthScoreFilter
from lifecycle.health.models import HealthScore
from lifecycle.stages.services import account_stage_change, account_stage_set
from users.models import User


class TagNamesField(serializers.ManyRelatedField):
    """The account's tag names, from the list's prefetched `tag_list` when there is one.

    Reading `account.tags` builds a related manager for every row, which cost a third of the list's time at
    50 rows; a single account (detail, change) reads them the usual way.
    """

    def get_attribute(self, instance: Account):
        prefetched = getattr(instance, "tag_list", None)
        return prefetched if prefetched is not None else super().get_attribute(instance)


class AccountDeskSerializer(AccountSerializer):
    """Accounts' serializer with the account's current health, read-only."""

    tags = TagNamesField(  # type: ignore[assignment]  # the same field, reading the prefetched names
        child_relation=serializers.SlugRelatedField(slug_field="name", queryset=Tag.objects.all()), required=False
    )

    health = AccountHealthSerializer(
        read_only=True, allow_null=True, help_text="Null until the account has been scored."
    )

    class Meta(AccountSerializer.Meta):
        fields = [*AccountSerializer.Meta.fields, "health"]


# The docstring is the endpoint's description in the OpenAPI schema, kept as accounts wrote it.
class AccountDeskViewSet(AccountViewSet):
    """Accounts: everyone reads all; owners, their team's manager and admins change."""

    serializer_class = AccountDeskSerializer
    # Adds `?band=` (health band, or "none" for not scored) and `?score_min=`/`?score_max=` to accounts' own filters.
    filterset_class = AccountHealthFilter
    # No `?ordering=health__score`: a sort on the joined health row has no index to page along; the band and
    # score filters narrow the list instead, and the pages sort by health.

    def get_queryset(self) -> QuerySet[Account]:
        # The health row and its scorecard's name come in the page's own query.
        accounts = super().get_queryset().select_related("health__scorecard")
        if self.action != "list":
            return accounts
        # A list's tags as a plain list on each row (TagNamesField), in the same one query for the page.
        return accounts.prefetch_related(None).prefetch_related(Prefetch("tags", to_attr="tag_list"))

    def perform_update(self, serializer) -> None:
        """Accounts' own fields through accounts, `stage` and `stage_entered_at` through the stage service: one transaction."""
        stage = serializer.validated_data.pop("stage", None)
        entered_at = serializer.validated_data.pop("stage_entered_at", None)
        with transaction.atomic():
            super().perform_update(serializer)
            if stage is None and entered_at is None:
                return
            account = serializer.instance
            try:
                account_stage_set(
                    actor=cast(User, self.request.user),
                    account=account,
                    stage=stage or account.stage,
                    entered_at=entered_at,
                )
            except DjangoValidationError as error:
                raise as_drf_error(error) from error
            serializer.instance = self.get_queryset().get(pk=account.pk)

    @extend_schema(
        summary="An account's daily health snapshots, newest first",
        description="One per day the account was scored, each with its measure breakdown and the scorecard "
        "that produced it. Everyone signed in reads them.",
        parameters=[
            OpenApiParameter("since", OpenApiTypes.DATE, description="From this day, included."),
            OpenApiParameter("until", OpenApiTypes.DATE, description="Up to this day, included."),
        ],
        # The account filters and ordering are not this list's: its own are the two above.
        filters=False,
        responses=HealthScoreSerializer(many=True),
    )
    @action(
        detail=True,
        methods=["get"],
        filter_backends=[DjangoFilterBackend],
        filterset_class=HealthScoreFilter,
        # A few hundred days per account at most: page numbers, not the accounts' keyset pages.
        ordering_keys=None,
        serializer_class=HealthScoreSerializer,
    )
    def health(self, request: Request, pk: str | None = None) -> Response:
        # Not self.get_object(): it would run this action's snapshot filter over accounts. Everyone signed in
        # reads, as for accounts; an unknown account is a 404.
        account = get_object_or_404(Account.objects.only("pk"), pk=pk)
        self.check_object_permissions(request, account)
        snapshots = self.filter_queryset(
            HealthScore.objects.filter(account=account).select_related("scorecard").order_by("-day")
        )
        page = self.paginate_queryset(snapshots)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=StageChangeSerializer, responses=AccountDeskSerializer)
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
        return Response(AccountDeskSerializer(self.get_queryset().get(pk=account.pk)).data)
