"""/api/outcomes/: everyone signed in reads; recording needs the right to change the account.

There is no PUT, PATCH or DELETE (405): outcomes are history. A wrong one is corrected by
POSTing a new outcome whose `corrects` names it.
"""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import OuterRef, QuerySet, Subquery
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from accounts.models import Account
from core.api import as_drf_error
from users.models import User
from users.permissions import can_edit_account

from .filters import OutcomeFilter
from .models import ChurnReason, Movement, Outcome, OutcomeSource
from .services import outcome_record


class OutcomeSerializer(serializers.ModelSerializer):
    account = serializers.PrimaryKeyRelatedField(queryset=Account.objects.all())
    arr_after = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="ARR from now on; leave out for a churn (it is 0).",
    )
    currency = serializers.CharField(
        max_length=3, required=False, allow_blank=True, help_text="Three letters; the account's when left out."
    )
    reason = serializers.ChoiceField(
        choices=ChurnReason.choices,
        required=False,
        allow_blank=True,
        help_text="Needed for a churn; a downgrade may give one.",
    )
    corrects = serializers.PrimaryKeyRelatedField(
        queryset=Outcome.objects.all(),
        required=False,
        allow_null=True,
        help_text="The earlier outcome of the same account this one replaces.",
    )
    movement = serializers.ChoiceField(choices=Movement.choices, read_only=True, help_text="Derived from the ARR.")
    term_months = serializers.IntegerField(read_only=True)
    corrected_by = serializers.SerializerMethodField(help_text="The outcome that replaces this one, if any.")
    effective = serializers.SerializerMethodField(help_text="False once a later outcome corrects this one.")

    class Meta:
        model = Outcome
        fields = [
            "id",
            "account",
            "kind",
            "occurred_on",
            "term_start",
            "term_end",
            "term_months",
            "arr_before",
            "arr_after",
            "currency",
            "movement",
            "reason",
            "note",
            "corrects",
            "corrected_by",
            "effective",
            "source",
            "recorded_by",
            "recorded_at",
        ]
        read_only_fields = ["source", "recorded_by", "recorded_at"]

    def get_corrected_by(self, outcome: Outcome) -> int | None:
        return getattr(outcome, "corrected_by_id", None)

    def get_effective(self, outcome: Outcome) -> bool:
        return getattr(outcome, "corrected_by_id", None) is None


class OutcomeViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Outcomes: what happened at renewals and churn. Everyone reads; recording needs the right to change the account."""

    serializer_class = OutcomeSerializer
    filterset_class = OutcomeFilter
    ordering_fields = ["occurred_on", "recorded_at", "term_end"]
    ordering = ["-occurred_on", "-recorded_at", "-id"]

    def get_queryset(self) -> QuerySet[Outcome]:
        correction = Outcome.objects.filter(corrects=OuterRef("pk")).values("pk")[:1]
        return Outcome.objects.annotate(corrected_by_id=Subquery(correction))

    def perform_create(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        account = data.pop("account")
        user = cast(User, self.request.user)  # IsAuthenticated let only a signed-in user here
        if not can_edit_account(user, account):
            raise PermissionDenied("You cannot record outcomes for this account.")
        try:
            serializer.instance = outcome_record(actor=user, account=account, source=OutcomeSource.API, **data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
