"""/api/exchange-rates/: everyone signed in reads the rates; admins add, change and delete them.

Writing a rate reconverts the ARR of that currency's accounts in the same transaction.
`POST /api/exchange-rates/import/` takes a CSV file (multipart field `file`: currency, rate,
effective_on) and answers 200 with counts or 400 with every row's problem (nothing written);
`?dry_run=1` checks the file and reports what would change without writing.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import ExchangeRate
from core.api import DRY_RUN, BatchErrorSerializer, as_drf_error, dry_run_asked
from users.models import User
from users.permissions import can_configure

from . import services
from .selectors import exchange_rates


class ExchangeRateSerializer(serializers.ModelSerializer):
    currency = serializers.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR (stored upper-case).")
    rate_to_reporting = serializers.DecimalField(
        max_digits=18,
        decimal_places=8,
        help_text="Units of the reporting currency one unit of `currency` is worth.",
    )

    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "rate_to_reporting", "effective_on", "created_by", "created_at"]
        read_only_fields = ["created_by", "created_at"]
        validators: list[Any] = []  # the service checks the one rate a day per currency


class RateImportSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV with the columns currency, rate, effective_on (YYYY-MM-DD).")


class RateImportResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()


MAX_FILE_BYTES = 2 * 1024 * 1024


class ReadOrConfigure(permissions.IsAuthenticated):
    message = "Only admins change exchange rates."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in permissions.SAFE_METHODS or can_configure(cast(User, request.user))


class ExchangeRateViewSet(viewsets.ModelViewSet):
    """Exchange rates to the reporting currency, each in force from `effective_on` until the next of its currency."""

    serializer_class = ExchangeRateSerializer
    permission_classes = [ReadOrConfigure]
    filterset_fields = ["currency"]
    ordering_fields = ["currency", "effective_on", "created_at"]
    ordering = ["currency", "-effective_on"]
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[ExchangeRate]:
        return exchange_rates()

    def perform_create(self, serializer: Any) -> None:
        try:
            serializer.instance = services.exchange_rate_create(
                actor=cast(User, self.request.user), **serializer.validated_data
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def perform_update(self, serializer: Any) -> None:
        rate = serializer.instance
        data = serializer.validated_data
        if "currency" in data and data["currency"].strip().upper() != rate.currency:
            raise serializers.ValidationError({"currency": ["A rate's currency cannot change: add a rate instead."]})
        try:
            serializer.instance = services.exchange_rate_update(
                actor=cast(User, self.request.user),
                rate=rate,
                rate_to_reporting=data.get("rate_to_reporting", rate.rate_to_reporting),
                effective_on=data.get("effective_on", rate.effective_on),
            )
        except DjangoValidationError as error:
            raise as_drf_error(error) from error

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.exchange_rate_delete(actor=cast(User, request.user), rate=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request={"multipart/form-data": RateImportSerializer},
        parameters=[DRY_RUN],
        responses={
            200: RateImportResultSerializer,
            400: OpenApiResponse(BatchErrorSerializer, description="Rows that are wrong; nothing was written."),
        },
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser])
    def import_csv(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            return Response(
                {"file": ["Send the CSV as the multipart field `file`."]}, status=status.HTTP_400_BAD_REQUEST
            )
        if upload.size > MAX_FILE_BYTES:
            return Response(
                {"file": ["The file is larger than 2 MB."]}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            return Response({"file": ["The file is not UTF-8 text."]}, status=status.HTTP_400_BAD_REQUEST)
        result = services.exchange_rates_import(
            actor=cast(User, request.user), text=text, dry_run=dry_run_asked(request)
        )
        if result.errors:
            return Response(
                {"detail": "Nothing was imported.", "errors": [error.as_dict() for error in result.errors]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "dry_run": result.dry_run,
            }
        )
