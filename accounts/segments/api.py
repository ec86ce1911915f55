"""/api/tier-rules/: everyone signed in reads the rules; admins add, change, reorder and delete them.

`GET /api/tier-rules/preview/` (admins and managers) answers the accounts the rules would move,
a page at a time, with counts by from → to and the number they cannot place for want of an
exchange rate. `POST /api/tier-rules/apply/` (admins) moves them; send `expected`, the count the
preview showed, and nothing moves if the book changed since (400). Rules are read in `position`
order; a new rule comes last and `POST /api/tier-rules/reorder/` with `{"order": [ids]}` reorders them.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Industry, Region, Tier, TierRule
from core.api import as_drf_error
from users.models import User
from users.permissions import can_configure

from . import services
from .access import sees_tier_preview
from .rules import tier_rules


class TierRuleSerializer(serializers.ModelSerializer):
    tier = serializers.ChoiceField(choices=Tier.choices)
    industry = serializers.ChoiceField(choices=Industry.choices, required=False, allow_blank=True)
    region = serializers.ChoiceField(choices=Region.choices, required=False, allow_blank=True)
    min_arr = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="ARR in the reporting currency at least this much; null: no lower bound.",
    )
    max_arr = serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="ARR in the reporting currency below this; null: no upper bound.",
    )
    conditions = serializers.SerializerMethodField(help_text="The conditions in words.")

    class Meta:
        model = TierRule
        fields = ["id", "position", "tier", "min_arr", "max_arr", "industry", "region", "conditions", "created_at"]
        read_only_fields = ["position", "created_at"]
        validators: list[Any] = []  # the service checks the rule

    def get_conditions(self, rule: TierRule) -> str:
        return rule.conditions_text()


class ReorderSerializer(serializers.Serializer):
    order = serializers.ListField(child=serializers.IntegerField(), help_text="Every rule's id, first rule first.")


class ApplySerializer(serializers.Serializer):
    expected = serializers.IntegerField(
        min_value=0, required=False, help_text="The number of accounts the preview said would move."
    )


class MoveSerializer(serializers.Serializer):
    from_tier = serializers.CharField()
    to_tier = serializers.CharField()
    count = serializers.IntegerField()


class PreviewAccountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    arr = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    arr_reporting = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    from_tier = serializers.CharField()
    to_tier = serializers.CharField()
    reason = serializers.CharField()


class ReadOrConfigure(permissions.IsAuthenticated):
    message = "Only admins change the tier rules."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if view.action == "preview":
            return True  # checked in the action: admins and managers
        return request.method in permissions.SAFE_METHODS or can_configure(cast(User, request.user))


def _moves(moves: list[services.TierMove]) -> list[dict[str, Any]]:
    return [{"from_tier": move.from_tier, "to_tier": move.to_tier, "count": move.count} for move in moves]


class TierRuleViewSet(viewsets.ModelViewSet):
    """Tier rules, first rule first: the first that matches an account gives its tier."""

    serializer_class = TierRuleSerializer
    permission_classes = [ReadOrConfigure]
    pagination_class = None  # a handful of rules, read in order as a whole
    filter_backends: list[Any] = []
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[TierRule]:
        return TierRule.objects.in_order()

    def _fields(self, serializer: Any) -> dict[str, Any]:
        return {name: value for name, value in serializer.validated_data.items() if name in services.RULE_FIELDS}

    def perform_create(self, serializer: Any) -> None:
        try:
            serializer.instance = services.tier_rule_create(
                actor=cast(User, self.request.user), **self._fields(serializer)
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer: Any) -> None:
        try:
            serializer.instance = services.tier_rule_update(
                actor=cast(User, self.request.user), rule=serializer.instance, **self._fields(serializer)
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.tier_rule_delete(actor=cast(User, request.user), rule=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=ReorderSerializer, responses=TierRuleSerializer(many=True))
    @action(detail=False, methods=["post"])
    def reorder(self, request: Request) -> Response:
        body = ReorderSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            rules = services.tier_rules_reorder(actor=cast(User, request.user), rule_ids=body.validated_data["order"])
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(TierRuleSerializer(rules, many=True).data)

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "TierPreview",
            {
                "moving": serializers.IntegerField(),
                "no_rate": serializers.IntegerField(),
                "manual": serializers.IntegerField(),
                "moves": MoveSerializer(many=True),
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": PreviewAccountSerializer(many=True),
            },
        ),
    )
    @action(detail=False, methods=["get"], pagination_class=viewsets.ModelViewSet.pagination_class)
    def preview(self, request: Request) -> Response:
        if not sees_tier_preview(cast(User, request.user)):
            raise PermissionDenied("Only admins and managers see which accounts the tier rules would move.")
        preview = services.tiers_preview(rules=tier_rules())
        page = self.paginate_queryset(preview.accounts)
        rows = [
            {
                "id": account.pk,
                "name": account.name,
                "arr": account.arr,
                "currency": account.currency,
                "arr_reporting": account.arr_reporting,
                "from_tier": account.tier,
                "to_tier": preview.to_tier(account),
                "reason": preview.reason(account),
            }
            for account in (page if page is not None else preview.accounts)
        ]
        data = PreviewAccountSerializer(rows, many=True).data
        counts = {
            "moving": preview.moving,
            "no_rate": preview.no_rate,
            "manual": preview.manual,
            "moves": _moves(preview.moves),
        }
        if page is None:
            return Response({**counts, "results": data})
        response = self.get_paginated_response(data)
        response.data = {**counts, **response.data}
        return response

    @extend_schema(
        request=ApplySerializer,
        responses=inline_serializer(
            "TierApply",
            {
                "moved": serializers.IntegerField(),
                "no_rate": serializers.IntegerField(),
                "moves": MoveSerializer(many=True),
            },
        ),
    )
    @action(detail=False, methods=["post"])
    def apply(self, request: Request) -> Response:
        body = ApplySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            result = services.tiers_apply(actor=cast(User, request.user), expected=body.validated_data.get("expected"))
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response({"moved": result.moved, "no_rate": result.no_rate, "moves": _moves(result.moves)})
