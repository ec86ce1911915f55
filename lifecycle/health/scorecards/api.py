"""/api/health/scorecards/: everyone signed in reads how health is computed; admins change it.

Each row is one version. POST makes a draft (a new scorecard); PUT/PATCH and DELETE
work on drafts only (a live or retired version answers 400: it is frozen). Actions:
`clone`, `new-version`, `activate` (with a note), `retire` (with a reason), and
`preview` (the draft on today's book against what is live; computed, not stored).
"""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api import VALIDATION_ERROR, as_drf_error
from lifecycle.health.scorecards import services
from lifecycle.health.scorecards.preview import scorecard_preview
from lifecycle.health.scorecards.services import MAX_WEIGHT, MIN_WEIGHT, SCORECARD_FIELDS, MeasureSpec
from lifecycle.models import Measure, MeasureKind, Scorecard, ScorecardStatus, WhenMissing
from users.models import User
from users.permissions import can_configure


class MeasureSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(choices=MeasureKind.choices)
    weight = serializers.DecimalField(max_digits=5, decimal_places=2, min_value=MIN_WEIGHT, max_value=MAX_WEIGHT)
    zero_at = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Raw value that scores 0.")
    full_at = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Raw value that scores 100.")
    validity_days = serializers.IntegerField(min_value=1, max_value=3650)
    when_missing = serializers.ChoiceField(choices=WhenMissing.choices, default=WhenMissing.SKIP)

    class Meta:
        model = Measure
        fields = ["kind", "weight", "zero_at", "full_at", "validity_days", "when_missing"]


class ScorecardSerializer(serializers.ModelSerializer):
    measures = MeasureSerializer(many=True, help_text="The whole list; a PUT or PATCH replaces it.")
    green_min = serializers.IntegerField(min_value=1, max_value=100, default=70)
    yellow_min = serializers.IntegerField(min_value=0, max_value=99, default=40)

    class Meta:
        model = Scorecard
        fields = [
            "id",
            "lineage",
            "version",
            "label",
            "status",
            "name",
            "description",
            "tier",
            "stage",
            "green_min",
            "yellow_min",
            "measures",
            "based_on",
            "created_by",
            "created_at",
            "activated_by",
            "activated_at",
            "activation_note",
            "retired_at",
        ]
        read_only_fields = [
            "lineage",
            "version",
            "status",
            "based_on",
            "created_by",
            "created_at",
            "activated_by",
            "activated_at",
            "activation_note",
            "retired_at",
        ]
        # The service checks names and scopes and says what is wrong in words; DRF's own validators
        # for the model's conditional unique constraints would demand fields a draft does not need.
        validators: list = []
        extra_kwargs = {"tier": {"required": False, "default": ""}, "stage": {"required": False, "default": ""}}


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, help_text="Why this version goes live.")


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CloneSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)


class BandCountSerializer(serializers.Serializer):
    band = serializers.CharField(help_text="green, yellow, red, or empty for no score.")
    live = serializers.IntegerField()
    draft = serializers.IntegerField()


class MoverSerializer(serializers.Serializer):
    account_id = serializers.IntegerField()
    name = serializers.CharField()
    before_score = serializers.FloatField(allow_null=True)
    before_band = serializers.CharField()
    after_score = serializers.FloatField(allow_null=True)
    after_band = serializers.CharField()
    reasons = serializers.ListField(
        child=serializers.DictField(), help_text="[{measure, points_before, points_after}], biggest change first."
    )


class PreviewSerializer(serializers.Serializer):
    day = serializers.DateField()
    accounts = serializers.IntegerField(help_text="Accounts whose scorecard would change, all compared.")
    changed_band = serializers.IntegerField()
    bands = BandCountSerializer(many=True)
    movers = MoverSerializer(many=True)
    flags_raised = serializers.DictField(child=serializers.IntegerField(), help_text="Rule name: new red flags.")
    flags_spared = serializers.DictField(
        child=serializers.IntegerField(), help_text="Rule name: flags today's scores raise and the draft would not."
    )
    seconds = serializers.FloatField()


class ScorecardFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ScorecardStatus.choices)
    lineage = django_filters.UUIDFilter()

    class Meta:
        model = Scorecard
        fields = ["status", "lineage", "tier", "stage"]


class ReadOrConfigure(permissions.IsAuthenticated):
    """Everyone signed in reads; only admins write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not super().has_permission(request, view):
            return False
        if request.method in permissions.SAFE_METHODS and getattr(view, "action", "") != "preview":
            return True
        return can_configure(cast(User, request.user))


def _specs(rows: list[dict]) -> list[MeasureSpec]:
    return [MeasureSpec(**row) for row in rows]


class ScorecardViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Scorecard versions, their measures, and the draft → live workflow."""

    serializer_class = ScorecardSerializer
    permission_classes = [ReadOrConfigure]
    filterset_class = ScorecardFilter
    ordering_fields = ["name", "version", "created_at", "activated_at"]
    ordering = ["name", "-version"]

    def get_queryset(self) -> QuerySet[Scorecard]:
        return Scorecard.objects.prefetch_related("measures")

    @property
    def actor(self) -> User:
        return cast(User, self.request.user)

    def _answer(self, card: Scorecard, *, created: bool = False) -> Response:
        card = self.get_queryset().get(pk=card.pk)
        return Response(
            ScorecardSerializer(card).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        measures = _specs(data.pop("measures"))
        try:
            card = services.scorecard_create(actor=self.actor, fields=data, measures=measures)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return self._answer(card, created=True)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        card = self.get_object()
        serializer = self.get_serializer(card, data=request.data, partial=kwargs.get("partial", False))
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        rows = data.pop("measures", None)
        measures = _specs(rows) if rows is not None else [MeasureSpec.of(m) for m in card.measures.all()]
        fields = {name: data.get(name, getattr(card, name)) for name in SCORECARD_FIELDS}
        try:
            card = services.scorecard_update_draft(actor=self.actor, draft=card, fields=fields, measures=measures)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return self._answer(card)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            services.scorecard_delete_draft(actor=self.actor, draft=self.get_object())
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _run(self, serializer_class: type[serializers.Serializer], work: Any, *, created: bool = False) -> Response:
        payload = serializer_class(data=self.request.data)
        payload.is_valid(raise_exception=True)
        try:
            card = work(self.get_object(), **payload.validated_data)
        except DjangoValidationError as error:
            raise as_drf_error(error) from error
        return self._answer(card, created=created)

    @extend_schema(request=CloneSerializer, responses={201: ScorecardSerializer})
    @action(detail=True, methods=["post"])
    def clone(self, request: Request, pk: str | None = None) -> Response:
        """A new scorecard of its own, starting as a draft copy of this version."""
        return self._run(
            CloneSerializer,
            lambda card, name: services.scorecard_clone(actor=self.actor, source=card, name=name),
            created=True,
        )

    @extend_schema(request=ReasonSerializer, responses={201: ScorecardSerializer})
    @action(detail=True, methods=["post"], url_path="new-version")
    def new_version(self, request: Request, pk: str | None = None) -> Response:
        """The next draft version of this scorecard, copying this version."""
        return self._run(
            ReasonSerializer,
            lambda card, reason: services.scorecard_new_version(actor=self.actor, source=card, reason=reason),
            created=True,
        )

    @extend_schema(request=NoteSerializer, responses={200: ScorecardSerializer})
    @action(detail=True, methods=["post"])
    def activate(self, request: Request, pk: str | None = None) -> Response:
        """Put this draft live: the version it replaces retires and today's scores are recomputed."""
        return self._run(
            NoteSerializer, lambda card, note: services.scorecard_activate(actor=self.actor, draft=card, note=note)
        )

    @extend_schema(request=ReasonSerializer, responses={200: ScorecardSerializer})
    @action(detail=True, methods=["post"])
    def retire(self, request: Request, pk: str | None = None) -> Response:
        """Take this live version out of use; its accounts fall to the next scorecard that fits."""
        return self._run(
            ReasonSerializer,
            lambda card, reason: services.scorecard_retire(actor=self.actor, scorecard=card, reason=reason),
        )

    # 400: only a draft is previewed.
    @extend_schema(responses={200: PreviewSerializer, 400: VALIDATION_ERROR})
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str | None = None) -> Response:
        """This draft on today's book next to what is live (admins only; computed on request)."""
        card = self.get_object()
        if card.status != ScorecardStatus.DRAFT:
            raise serializers.ValidationError({"status": [f"{card.label} is not a draft; a preview compares one."]})
        result = scorecard_preview(card)
        return Response(
            PreviewSerializer(
                {
                    "day": result.day,
                    "accounts": result.accounts,
                    "changed_band": result.changed_band,
                    "bands": [{"band": band, "live": live, "draft": draft} for band, live, draft in result.band_rows],
                    "movers": [
                        {
                            **mover.__dict__,
                            "reasons": [
                                {"measure": label, "points_before": before, "points_after": after}
                                for label, before, after in mover.reasons
                            ],
                        }
                        for mover in result.movers
                    ],
                    "flags_raised": dict(result.flags_raised),
                    "flags_spared": dict(result.flags_spared),
                    "seconds": round(result.seconds, 3),
                }
            ).data
        )
