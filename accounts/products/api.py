"""/api/products/ and /api/entitlements/: everyone signed in reads; admins keep the catalogue; whoever may change an
account keeps its entitlements.

`POST /api/entitlements/bulk/` takes {"rows": [...]} (up to 10,000 rows) and answers 200 with
counts, 400 with row-level errors (nothing written), 403 when a row names an account the caller
may not change (nothing written) and 413 for a batch that is too large; `?dry_run=1` checks the
batch and reports what would change without writing. Rows are checked set-based by
`accounts.products.services.entitlements_upsert` rather than by a serializer per row; the row
serializer below documents their shape.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Account, Entitlement, Product
from core.api import DRY_RUN, BatchErrorSerializer, as_drf_error, batch_response, batch_rows, dry_run_asked
from core.parsers import BatchJSONParser
from users.models import User
from users.permissions import can_configure, can_edit_account

from . import services
from .filters import EntitlementFilter
from .selectors import entitlements_for_api, product_catalogue

ACCOUNT_HELP = "The account's id, or its domain (e.g. acme.example)."
PRODUCT_HELP = "The product's key (e.g. reports), in any case."


# --- Products ------------------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer):
    # Uniqueness and the stored form (trimmed, lower-case) are the service's: DRF's own unique check
    # would compare the key as sent, so " Reports" would pass it and then clash with "reports".
    key = serializers.CharField(
        max_length=services.KEY_MAX_LENGTH,
        help_text="As usage rows name the product (e.g. reports): stored trimmed and lower-case, unique.",
    )
    holders = serializers.IntegerField(read_only=True, help_text="Accounts holding the product today.")

    class Meta:
        model = Product
        fields = ["id", "key", "name", "description", "holders", "created_at"]
        read_only_fields = ["created_at"]


class ReadOrConfigure(permissions.IsAuthenticated):
    """Everyone signed in reads the catalogue; only admins change it (refused before the payload is read)."""

    message = "Only admins change the product catalogue."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or can_configure(cast(User, request.user))


class ProductInUseSerializer(serializers.Serializer):
    detail = serializers.CharField()


@extend_schema_view(
    destroy=extend_schema(
        responses={
            204: None,
            409: OpenApiResponse(ProductInUseSerializer, description="Entitlements or usage refer to the product."),
        }
    )
)
class ProductViewSet(viewsets.ModelViewSet):
    """The product catalogue: the modules customers buy. Everyone reads; admins add, change and delete."""

    serializer_class = ProductSerializer
    permission_classes = [ReadOrConfigure]
    ordering_fields = ["name", "key", "created_at"]
    ordering = ["name", "key"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Product]:
        return product_catalogue()

    def perform_create(self, serializer: Any) -> None:
        try:
            product = services.product_create(actor=cast(User, self.request.user), **serializer.validated_data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        product.holders = 0  # type: ignore[attr-defined]  # as the catalogue's annotation says of a new product
        serializer.instance = product

    def perform_update(self, serializer: Any) -> None:
        try:
            serializer.instance = services.product_update(
                actor=cast(User, self.request.user), product=serializer.instance, fields=serializer.validated_data
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            services.product_delete(actor=cast(User, request.user), product=self.get_object())
        except services.ProductInUse as error:
            return Response({"detail": error.messages[0]}, status=status.HTTP_409_CONFLICT)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Entitlements --------------------------------------------------------------------------------


class ProductKeyField(serializers.SlugRelatedField):
    """A product named by its key, matched as keys are stored (trimmed, lower-case)."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str):
            data = services.product_key_normalise(data)
        return super().to_internal_value(data)


class EntitlementSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    product = ProductKeyField(slug_field="key", queryset=Product.objects.all(), help_text=PRODUCT_HELP)
    product_name = serializers.CharField(source="product.name", read_only=True)
    seats = serializers.IntegerField(
        min_value=1,
        max_value=services.MAX_SEATS,
        required=False,
        allow_null=True,
        help_text="Blank (null) where the product is not sold by seat.",
    )
    ends_on = serializers.DateField(
        required=False, allow_null=True, help_text="The last day in force; null: until further notice."
    )
    in_force = serializers.SerializerMethodField(help_text="Whether it is in force today.")

    class Meta:
        model = Entitlement
        fields = ["id", "account", "product", "product_name", "seats", "starts_on", "ends_on", "in_force", "created_at"]
        read_only_fields = ["created_at"]
        # The unique (account, product, start) and the no-overlap rule are the service's, in words.
        validators: list = []

    def get_in_force(self, entitlement: Entitlement) -> bool:
        return entitlement.in_force_on(self.context["today"])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "account" in attrs and attrs["account"].pk != self.instance.account_id:
            raise serializers.ValidationError(
                {"account": "An entitlement cannot move to another account: delete it and add one there."}
            )
        return attrs


class CanEditAccountOrReadOnly(permissions.IsAuthenticated):
    """Everyone signed in reads; changing an entitlement needs the right to change its account."""

    message = "You cannot change this account's entitlements."

    def has_object_permission(self, request: Request, view: Any, obj: Entitlement) -> bool:
        return request.method in permissions.SAFE_METHODS or can_edit_account(cast(User, request.user), obj.account)


class EntitlementRowSerializer(serializers.Serializer):
    account = serializers.CharField(help_text=ACCOUNT_HELP)
    product = serializers.CharField(help_text=PRODUCT_HELP)
    seats = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="Blank: not sold by seat.")
    starts_on = serializers.DateField(help_text="With the account and product, what a row upserts on.")
    ends_on = serializers.DateField(required=False, allow_null=True, help_text="The last day in force; blank: open.")


class EntitlementBatchSerializer(serializers.Serializer):
    rows = EntitlementRowSerializer(many=True, help_text=f"At most {services.MAX_ROWS:,} rows.")


class EntitlementUpsertResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    accepted = serializers.IntegerField(help_text="Rows in the batch, all valid.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Rows that existed with other seats or another end.")
    unchanged = serializers.IntegerField(help_text="Rows that existed with the same values; not touched.")
    accounts = serializers.IntegerField(help_text="Accounts whose entitlements changed.")


class EntitlementViewSet(viewsets.ModelViewSet):
    """Which products each account holds, with seats and dates. Everyone reads; changing one needs the right to change
    its account."""

    serializer_class = EntitlementSerializer
    permission_classes = [CanEditAccountOrReadOnly]
    filterset_class = EntitlementFilter
    ordering_fields = ["starts_on", "ends_on", "seats", "created_at"]
    ordering = ["account_id", "product__name", "-starts_on"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Entitlement]:
        return entitlements_for_api()

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account")
        if not can_edit_account(cast(User, self.request.user), account):
            raise PermissionDenied("You cannot change this account's entitlements.")
        try:
            serializer.instance = services.entitlement_create(
                actor=cast(User, self.request.user), account=account, **data
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        data.pop("account", None)
        try:
            serializer.instance = services.entitlement_update(
                actor=cast(User, self.request.user), entitlement=serializer.instance, fields=data
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_destroy(self, instance: Entitlement) -> None:
        services.entitlement_delete(actor=cast(User, self.request.user), entitlement=instance)

    @extend_schema(
        summary="Upsert a batch of entitlements",
        description=(
            "Validates every row first; any invalid row means nothing is written. Rows upsert on (account, product, "
            "starts_on): a match gets the row's seats and end, the rest are added, so resending a batch changes "
            f"nothing. An account holds a product once at a time: periods may not overlap. At most "
            f"{services.MAX_ROWS:,} rows."
        ),
        request=EntitlementBatchSerializer,
        parameters=[DRY_RUN],
        responses={
            200: EntitlementUpsertResultSerializer,
            400: OpenApiResponse(BatchErrorSerializer, description="Row-level errors; nothing written."),
            403: OpenApiResponse(BatchErrorSerializer, description="Rows for accounts you cannot change."),
            413: OpenApiResponse(BatchErrorSerializer, description="More rows than one batch may hold."),
        },
    )
    @action(detail=False, methods=["post"], url_path="bulk", parser_classes=[BatchJSONParser])
    def bulk(self, request: Request) -> Response:
        rows = batch_rows(request, max_rows=services.MAX_ROWS)
        if isinstance(rows, Response):
            return rows
        result = services.entitlements_upsert(actor=cast(User, request.user), rows=rows, dry_run=dry_run_asked(request))
        return batch_response(result, forbidden="Some rows name accounts you cannot change")
