"""Reading scorecards for the editor: lineages with their live and draft versions, a version's history, charts."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, QuerySet

from lifecycle.models import Measure, Scorecard, ScorecardStatus

# The normalisation chart's drawing box, in SVG user units.
CHART_WIDTH, CHART_HEIGHT, CHART_PAD = 140, 48, 6


@dataclass
class Lineage:
    """One scorecard through its versions: what is live, what is being drafted."""

    versions: list[Scorecard] = field(default_factory=list)

    @property
    def active(self) -> Scorecard | None:
        return next((card for card in self.versions if card.status == ScorecardStatus.ACTIVE), None)

    @property
    def draft(self) -> Scorecard | None:
        return next((card for card in self.versions if card.status == ScorecardStatus.DRAFT), None)

    @property
    def current(self) -> Scorecard:
        """The version that speaks for the scorecard: the live one, else the newest."""
        return self.active or self.versions[0]


def scorecard_lineages() -> list[Lineage]:
    """Every scorecard, live ones first, each with its versions newest first (one query)."""
    cards = Scorecard.objects.annotate(measure_count=Count("measures")).order_by("lineage", "-version")
    lineages: dict = {}
    for card in cards:
        lineages.setdefault(card.lineage, Lineage()).versions.append(card)
    return sorted(
        lineages.values(),
        key=lambda lineage: (lineage.active is None, lineage.current.tier, lineage.current.stage, lineage.current.name),
    )


def scorecard_versions(card: Scorecard) -> QuerySet[Scorecard]:
    return (
        Scorecard.objects.filter(lineage=card.lineage)
        .select_related("created_by", "activated_by", "based_on")
        .order_by("-version")
    )


def scorecard_with_measures(pk: int) -> Scorecard:
    return (
        Scorecard.objects.select_related("created_by", "activated_by", "based_on")
        .prefetch_related("measures")
        .get(pk=pk)
    )


@dataclass(frozen=True)
class NormalisationChart:
    """The ramp from the raw value that scores 0 to the one that scores 100, as SVG points."""

    points: str
    zero_x: float
    full_x: float
    zero_label: str
    full_label: str
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.1f}"


def normalisation_chart(measure: Measure) -> NormalisationChart:
    low, high = sorted((float(measure.zero_at), float(measure.full_at)))
    margin = (high - low) * 0.25
    left, right = low - margin, high + margin

    def x(raw: float) -> float:
        return round(CHART_PAD + (raw - left) / (right - left) * (CHART_WIDTH - 2 * CHART_PAD), 1)

    def y(points: float) -> float:
        return round(CHART_HEIGHT - CHART_PAD - points / 100 * (CHART_HEIGHT - 2 * CHART_PAD), 1)

    rising = measure.full_at > measure.zero_at
    start, end = (0, 100) if rising else (100, 0)
    corners = [(left, start), (low, start), (high, end), (right, end)]
    return NormalisationChart(
        points=" ".join(f"{x(raw)},{y(points)}" for raw, points in corners),
        zero_x=x(float(measure.zero_at)),
        full_x=x(float(measure.full_at)),
        zero_label=_number(measure.zero_at),
        full_label=_number(measure.full_at),
    )
