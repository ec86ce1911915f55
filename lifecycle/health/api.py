"""Health as the API shows it: an account's current health, and its daily snapshots with their breakdown.

Read-only: scores are written by the recompute and overrides by their own form. The endpoints that
serve them compose accounts with lifecycle, so they live above both (desk.api).
"""

from __future__ import annotations

from rest_framework import serializers

from lifecycle.health.models import AccountHealth, Band, HealthScore, Scorecard


def band_field() -> serializers.ChoiceField:
    # Declared rather than generated: DRF drops allow_blank from read-only model fields, and the schema
    # must admit the blank band of an account whose measures all lacked data.
    return serializers.ChoiceField(
        choices=Band.choices, allow_blank=True, read_only=True, help_text="Blank when there is no score."
    )


class ScorecardRefSerializer(serializers.ModelSerializer):
    """The scorecard version that produced a score: enough to name it."""

    class Meta:
        model = Scorecard
        fields = ["id", "name", "version"]
        read_only_fields = fields


class AccountHealthSerializer(serializers.ModelSerializer):
    """An account's current health (the override's score while one is in force, else the computed one)."""

    band = band_field()
    scored_on = serializers.DateField(source="day", read_only=True, help_text="Day of the snapshot behind it.")
    scorecard = ScorecardRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = AccountHealth
        fields = [
            "score",
            "band",
            "computed_score",
            "overridden",
            "delta_7d",
            "delta_30d",
            "open_flags",
            "scored_on",
            "scorecard",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "score": {"help_text": "0–100; null when no measure had data."},
            "computed_score": {"help_text": "What the scorecard gave, before any override."},
            "delta_7d": {"help_text": "Points since 7 days before; null without a score then."},
            "delta_30d": {"help_text": "Points since 30 days before; null without a score then."},
            "open_flags": {"help_text": "Red flags open on the account."},
        }


class MeasureValueSerializer(serializers.Serializer):
    """One measure of a snapshot: its raw value, what it scored, its weight and whether it counted."""

    raw = serializers.FloatField(read_only=True, allow_null=True, help_text="Null when the data was missing.")
    score = serializers.FloatField(
        read_only=True, allow_null=True, help_text="0–100; null when missing or stale (it then does not count)."
    )
    weight = serializers.FloatField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="ok, missing or stale.")


class HealthScoreSerializer(serializers.ModelSerializer):
    """One daily snapshot of an account's computed health and the measures that made it."""

    band = band_field()
    scorecard = ScorecardRefSerializer(read_only=True, allow_null=True)
    measures = serializers.DictField(
        child=MeasureValueSerializer(), read_only=True, help_text="Per measure kind (e.g. usage_trend)."
    )

    class Meta:
        model = HealthScore
        fields = ["id", "day", "score", "band", "scorecard", "measures", "computed_at"]
        read_only_fields = fields
