"""Signals over the API: bulk upserts for integrations, paginated lists for everyone signed in.

`POST /api/signals/<kind>/` takes {"rows": [...]} (up to 10,000 rows) and
answers 200 with counts, 400 with row-level errors (nothing written), 403
when a row names an account the caller may not write signals for (nothing
written), and 413 for a batch that is too large. `?dry_run=1` checks the
batch and reports what would change without writing.

Rows are checked by `lifecycle.signals.services`, set-based, rather than by a DRF
serializer per row: 10,000 serializer instances would be slow, and the CSV
import needs the very same checks. The row serializers below document the
shape for the OpenAPI schema.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import DRY_RUN, BatchErrorSerializer, batch_response, batch_rows, dry_run_asked
from core.list_serializer import LeanListSerializer
from core.parsers import BatchJSONParser
from lifecycle.models import (
    Invoice,
    ProductUsageDaily,
    SupportTicket,
    SurveyKind,
    SurveyResponse,
    TicketSeverity,
    UsageDaily,
)
from lifecycle.signals import services as ingest
from lifecycle.signals.filters import (
    InvoiceFilter,
    ProductUsageDailyFilter,
    SupportTicketFilter,
    SurveyResponseFilter,
    UsageDailyFilter,
)

ACCOUNT_HELP = "The account's id, or its domain (e.g. acme.example)."


# --- What goes in -----------------------------------------------------------------------------------


class UsageRowSerializer(serializers.Serializer):
    account = serializers.CharField(help_text=ACCOUNT_HELP)
    day = serializers.DateField(
        help_text="Not in the future. One row per account, product and day; a day without a row means no use."
    )
    product = serializers.CharField(
        max_length=100,
        required=False,
        allow_blank=True,
        help_text="A product's key: the row is that product's (or module's) use. Blank: the whole account's use.",
    )
    active_users = serializers.IntegerField(
        min_value=0, required=False, allow_null=True, help_text="Optional, like key_events and minutes; send one."
    )
    key_events = serializers.IntegerField(min_value=0, required=False, default=0)
    minutes = serializers.IntegerField(min_value=0, required=False, allow_null=True, help_text="Time in the product.")
    licences_used = serializers.IntegerField(min_value=0, required=False, default=0)
    licences_owned = serializers.IntegerField(min_value=0, required=False, default=0)


class TicketRowSerializer(serializers.Serializer):
    account = serializers.CharField(help_text=ACCOUNT_HELP)
    external_id = serializers.CharField(max_length=100, help_text="The ticket's id in the help desk.")
    subject = serializers.CharField(max_length=300, required=False, allow_blank=True)
    severity = serializers.ChoiceField(choices=TicketSeverity.choices, required=False, default=TicketSeverity.MEDIUM)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(required=False, allow_null=True, help_text="Blank while the ticket is open.")
    time_spent_minutes = serializers.IntegerField(
        min_value=0, required=False, allow_null=True, help_text="Support's working time on the ticket."
    )


class SurveyRowSerializer(serializers.Serializer):
    account = serializers.CharField(help_text=ACCOUNT_HELP)
    external_id = serializers.CharField(max_length=100, help_text="The response's id in the survey tool.")
    kind = serializers.ChoiceField(choices=SurveyKind.choices)
    score = serializers.IntegerField(min_value=0, max_value=10, help_text="NPS 0–10; CSAT 1–5.")
    comment = serializers.CharField(required=False, allow_blank=True)
    responded_at = serializers.DateTimeField()
    contact_email = serializers.EmailField(
        required=False, allow_blank=True, help_text="Links the response to that contact of the account, if known."
    )


class InvoiceRowSerializer(serializers.Serializer):
    account = serializers.CharField(help_text=ACCOUNT_HELP)
    external_id = serializers.CharField(max_length=100, help_text="The invoice number in the billing system.")
    issued_on = serializers.DateField()
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, help_text='A string, e.g. "1250.00".'
    )
    currency = serializers.CharField(min_length=3, max_length=3, required=False, help_text="Default: the account's.")


def _batch_serializer(name: str, row: type[serializers.Serializer]) -> type[serializers.Serializer]:
    return type(
        name, (serializers.Serializer,), {"rows": row(many=True, help_text=f"At most {ingest.MAX_ROWS:,} rows.")}
    )


# --- What comes out ---------------------------------------------------------------------------------


class IngestResultSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="usage, tickets, surveys or invoices.")
    dry_run = serializers.BooleanField()
    accepted = serializers.IntegerField(help_text="Rows in the batch, all valid.")
    created = serializers.IntegerField()
    updated = serializers.IntegerField(help_text="Rows that existed and had different values.")
    unchanged = serializers.IntegerField(help_text="Rows that existed with the same values; not touched.")
    accounts = serializers.IntegerField(help_text="Accounts whose signals changed (queued for a health recompute).")


class UsageDailySerializer(serializers.ModelSerializer):
    class Meta:
        model = UsageDaily
        list_serializer_class = LeanListSerializer
        fields = [
            "id",
            "account",
            "day",
            "active_users",
            "key_events",
            "minutes",
            "licences_used",
            "licences_owned",
            "from_products",
        ]


class ProductUsageDailySerializer(serializers.ModelSerializer):
    product: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="key", read_only=True, help_text="The product's key."
    )

    class Meta:
        model = ProductUsageDaily
        list_serializer_class = LeanListSerializer
        fields = ["id", "account", "product", "day", "active_users", "key_events", "minutes"]


class SupportTicketSerializer(serializers.ModelSerializer):
    class Meta:
        model = SupportTicket
        list_serializer_class = LeanListSerializer
        fields = ["id", "account", "external_id", "subject", "severity", "opened_at", "closed_at", "time_spent_minutes"]


class SurveyResponseSerializer(serializers.ModelSerializer):
    class Meta:
        model = SurveyResponse
        list_serializer_class = LeanListSerializer
        fields = ["id", "account", "contact", "external_id", "kind", "score", "comment", "responded_at"]


class InvoiceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Invoice
        list_serializer_class = LeanListSerializer
        fields = ["id", "account", "external_id", "issued_on", "amount", "currency"]


# --- Views --------------------------------------------------------------------------------------------


def ingest_response(kind: str, request: Request) -> Response:
    rows = batch_rows(request, max_rows=ingest.MAX_ROWS)
    if isinstance(rows, Response):
        return rows
    result = ingest.signals_ingest(kind=kind, rows=rows, actor=request.user, dry_run=dry_run_asked(request))
    return batch_response(result, forbidden="Some rows name accounts you cannot write signals for")


class _SignalViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """GET lists (everyone signed in reads every account's signals); POST upserts a batch."""

    kind: str = ""
    model: type = UsageDaily
    parser_classes = [BatchJSONParser]
    ordering = ["-id"]

    def get_queryset(self) -> QuerySet:
        return self.model.objects.all()

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return ingest_response(self.kind, request)


def _documented(row: type[serializers.Serializer], label: str):
    batch = _batch_serializer(f"{row.__name__.removesuffix('RowSerializer')}Batch", row)
    return extend_schema_view(
        create=extend_schema(
            summary=f"Upsert a batch of {label}",
            description=(
                f"Validates every row first; any invalid row means nothing is written. Rows upsert on their "
                f"natural key, so resending a batch changes nothing. At most {ingest.MAX_ROWS:,} rows."
            ),
            request=batch,
            parameters=[DRY_RUN],
            responses={
                200: IngestResultSerializer,
                400: OpenApiResponse(BatchErrorSerializer, description="Row-level errors; nothing written."),
                403: OpenApiResponse(BatchErrorSerializer, description="Rows for accounts you cannot change."),
                413: OpenApiResponse(BatchErrorSerializer, description="More rows than one batch may hold."),
            },
        ),
        list=extend_schema(summary=f"List {label}"),
    )


@_documented(UsageRowSerializer, "daily usage")
class UsageDailyViewSet(_SignalViewSet):
    kind = ingest.SignalKind.USAGE
    model = UsageDaily
    serializer_class = UsageDailySerializer
    filterset_class = UsageDailyFilter
    # Keyset pages along usage_day_account (one row per account and day, so no id needed), newest day first.
    ordering_keys = {"day": ("day", "account_id")}
    ordering_fields = list(ordering_keys)
    ordering = ["-day"]


@extend_schema_view(
    list=extend_schema(
        summary="List daily per-product usage",
        description="Written through the usage endpoint: a usage row that names a `product` is that product's day.",
    )
)
class ProductUsageDailyViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ProductUsageDailySerializer
    filterset_class = ProductUsageDailyFilter
    # Keyset pages along product_usage_day_account (one row per account, product and day), newest day first.
    ordering_keys = {"day": ("day", "account_id", "product_id")}
    ordering_fields = list(ordering_keys)
    ordering = ["-day"]

    def get_queryset(self) -> QuerySet:
        # The product's key is all a row shows of it.
        return ProductUsageDaily.objects.select_related("product").only(
            "account", "product__key", "day", "active_users", "key_events", "minutes"
        )


@_documented(TicketRowSerializer, "support tickets")
class SupportTicketViewSet(_SignalViewSet):
    kind = ingest.SignalKind.TICKETS
    model = SupportTicket
    serializer_class = SupportTicketSerializer
    filterset_class = SupportTicketFilter
    # Keyset pages along ticket_api_opened, newest first. No sort by severity (its words sort alphabetically) or by
    # closing time (no index; `?open=` picks the open ones).
    ordering_keys = {"opened_at": ("opened_at", "id")}
    ordering_fields = list(ordering_keys)
    ordering = ["-opened_at"]


@_documented(SurveyRowSerializer, "survey responses")
class SurveyResponseViewSet(_SignalViewSet):
    kind = ingest.SignalKind.SURVEYS
    model = SurveyResponse
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilter
    # Keyset pages along survey_api_responded, newest first. No sort by score: NPS and CSAT scores are on different
    # scales (`?kind=` separates them).
    ordering_keys = {"responded_at": ("responded_at", "id")}
    ordering_fields = list(ordering_keys)
    ordering = ["-responded_at"]


@_documented(InvoiceRowSerializer, "invoices")
class InvoiceViewSet(_SignalViewSet):
    kind = ingest.SignalKind.INVOICES
    model = Invoice
    serializer_class = InvoiceSerializer
    filterset_class = InvoiceFilter
    # Keyset pages along invoice_api_issued, newest first. No sort by amount: invoices are in their own currencies.
    ordering_keys = {"issued_on": ("issued_on", "id")}
    ordering_fields = list(ordering_keys)
    ordering = ["-issued_on"]
