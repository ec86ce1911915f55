"""Reads for showing an account's health: current score, trend, breakdown, movers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.models import Account
from lifecycle.health.scoring import measure_contributions
from lifecycle.models import AccountHealth, HealthScore, MeasureKind, ScoreOverride

TREND_DAYS = 90
MEASURE_UNITS = {
    MeasureKind.USAGE_TREND: "%",
    MeasureKind.LICENCE_UTILISATION: "%",
    MeasureKind.ENGAGEMENT_RECENCY: " days",
    MeasureKind.CHECKIN_CADENCE: "%",
    MeasureKind.STAKEHOLDER_COVERAGE: "%",
    MeasureKind.CSM_PULSE: " / 6",
    MeasureKind.NPS: " / 10",
    MeasureKind.CHECKIN_CONCERNS: " concerns",
    MeasureKind.OPEN_RED_FLAGS: " open",
    MeasureKind.SUPPORT_BURDEN: " pts",
    MeasureKind.USAGE_LEVEL: "%",
    MeasureKind.SURVEY_SENTIMENT: " / 100",
    MeasureKind.SUPPORT_LOAD: " pts",
    MeasureKind.TENURE: " days",
    MeasureKind.ADOPTION_BREADTH: "%",
}


@dataclass
class MeasureRow:
    kind: str
    label: str
    raw: float | None
    score: float | None
    weight: float
    status: str
    contribution: float | None
    change: float | None  # contribution points gained (+) or lost (-) since a week ago
    unit: str = ""


@dataclass
class HealthPanel:
    current: AccountHealth | None
    latest: HealthScore | None
    override: ScoreOverride | None
    trend: list[tuple[str, float | None]] = field(default_factory=list)
    measures: list[MeasureRow] = field(default_factory=list)
    biggest_mover: MeasureRow | None = None
    scorecard_name: str = ""
    trend_7d: float | None = None
    trend_30d: float | None = None
    trend_90d: float | None = None


def account_health_panel(account: Account, *, today: dt.date | None = None) -> HealthPanel:
    """Everything the Account 360 shows about health, in two queries."""
    today = today or timezone.localdate()
    try:
        current = account.health  # loaded with the account by the 360's select_related
    except AccountHealth.DoesNotExist:
        current = None
    snapshots = list(
        HealthScore.objects.filter(account=account, day__gt=today - dt.timedelta(days=TREND_DAYS), day__lte=today)
        .select_related("scorecard")
        .order_by("day")
    )
    override = ScoreOverride.objects.in_force().filter(account=account).select_related("set_by").first()
    panel = HealthPanel(current=current, latest=snapshots[-1] if snapshots else None, override=override)
    panel.trend = [(s.day.isoformat(), float(s.score) if s.score is not None else None) for s in snapshots]
    if panel.latest is None:
        return panel
    panel.scorecard_name = panel.latest.scorecard.label if panel.latest.scorecard else ""
    by_day = {s.day: s for s in snapshots}
    week_ago = by_day.get(panel.latest.day - dt.timedelta(days=7))
    latest_score = float(panel.latest.score) if panel.latest.score is not None else None
    # 7 and 30 days compare with that exact day; 90 days with the oldest snapshot in the window.
    oldest = snapshots[0] if snapshots[0] is not panel.latest else None
    comparisons = {
        "trend_7d": by_day.get(panel.latest.day - dt.timedelta(days=7)),
        "trend_30d": by_day.get(panel.latest.day - dt.timedelta(days=30)),
        "trend_90d": oldest,
    }
    for attr, before in comparisons.items():
        if before is not None and before.score is not None and latest_score is not None:
            setattr(panel, attr, round(latest_score - float(before.score), 1))
    contributions = measure_contributions(panel.latest.measures)
    previous = measure_contributions(week_ago.measures) if week_ago else {}
    labels = dict(MeasureKind.choices)
    for kind, values in panel.latest.measures.items():
        contribution = contributions.get(kind)
        change = None
        if week_ago is not None and (contribution is not None or kind in previous):
            change = round((contribution or 0) - previous.get(kind, 0), 1)
        panel.measures.append(
            MeasureRow(
                kind=kind,
                label=labels.get(kind, kind),
                raw=values.get("raw"),
                score=values.get("score"),
                weight=values.get("weight", 0),
                status=values.get("status", ""),
                contribution=contribution,
                change=change,
                unit=MEASURE_UNITS.get(kind, ""),
            )
        )
    panel.measures.sort(key=lambda row: (row.score is None, -(row.weight or 0)))
    movers = [row for row in panel.measures if row.change]
    panel.biggest_mover = max(movers, key=lambda row: abs(row.change)) if movers else None
    return panel


def account_health_bands(account_ids) -> dict[int, str]:
    """Current band per account ("green"/"yellow"/"red"); accounts never scored are absent."""
    return dict(AccountHealth.objects.filter(account_id__in=list(account_ids)).values_list("account_id", "band"))
