"""The scoring math: raw measure values, normalisation, weights, bands.

Pure functions over AccountFacts and a scorecard's configuration, so the
math is tested with hand-computed examples and runs the same for one account
or a hundred thousand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils import timezone

from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import RECENT_USAGE_DAYS, USAGE_LEVEL_DAYS, USAGE_TREND_BASELINE_DAYS
from lifecycle.health.models import MISSING_POINTS
from lifecycle.health.numbers import round_half_up
from lifecycle.models import MeasureKind, Scorecard

OK, MISSING, STALE, NOT_APPLICABLE = "ok", "missing", "stale", "n/a"


@dataclass(frozen=True)
class MeasureConfig:
    kind: str
    weight: float
    zero_at: float
    full_at: float
    validity_days: int
    # Points a missing or stale value scores; None: it drops out and the other weights share its part.
    missing_points: float | None = None

    def normalise(self, raw: float) -> float:
        fraction = (raw - self.zero_at) / (self.full_at - self.zero_at)
        return round_half_up(max(0.0, min(1.0, fraction)) * 100)


@dataclass(frozen=True)
class ScorecardConfig:
    id: int | None
    name: str
    tier: str
    stage: str
    green_min: int
    yellow_min: int
    measures: tuple[MeasureConfig, ...]
    version: int = 1

    @property
    def label(self) -> str:
        return f"{self.name} v{self.version}"

    def band_for(self, score: float | None) -> str:
        if score is None:
            return ""
        if score >= self.green_min:
            return "green"
        if score >= self.yellow_min:
            return "yellow"
        return "red"

    @classmethod
    def from_model(cls, scorecard: Scorecard) -> ScorecardConfig:
        return cls(
            id=scorecard.pk,
            name=scorecard.name,
            version=scorecard.version,
            tier=scorecard.tier,
            stage=scorecard.stage,
            green_min=scorecard.green_min,
            yellow_min=scorecard.yellow_min,
            measures=tuple(
                MeasureConfig(
                    kind=m.kind,
                    weight=float(m.weight),
                    zero_at=float(m.zero_at),
                    full_at=float(m.full_at),
                    validity_days=m.validity_days,
                    missing_points=MISSING_POINTS.get(m.when_missing),
                )
                for m in scorecard.measures.all()
            ),
        )


@dataclass
class ScoreResult:
    score: float | None
    band: str
    measures: dict[str, dict] = field(default_factory=dict)


def load_scorecards() -> list[ScorecardConfig]:
    return [ScorecardConfig.from_model(s) for s in Scorecard.objects.active().prefetch_related("measures")]


def scorecard_for(scorecards: Iterable[ScorecardConfig], *, tier: str, stage: str) -> ScorecardConfig | None:
    """The most specific scorecard: tier and stage, then tier, then stage, then the default."""
    best, best_rank = None, -1
    for card in scorecards:
        if (card.tier and card.tier != tier) or (card.stage and card.stage != stage):
            continue
        rank = (2 if card.tier else 0) + (1 if card.stage else 0)
        if rank > best_rank:
            best, best_rank = card, rank
    return best


def _age_days(day: dt.date, when: dt.date | dt.datetime | None) -> int | None:
    if when is None:
        return None
    if isinstance(when, dt.datetime):
        when = timezone.localdate(when) if timezone.is_aware(when) else when.date()
    return (day - when).days


def raw_measure(kind: str, facts: AccountFacts, *, day: dt.date, validity_days: int) -> tuple[float | None, str]:
    """The raw value of one measure for one account, and whether it can be used.

    One missing-data policy for every measure (README, "Missing data"): a measure
    is *missing* when Baton has no record of its kind for the account (no usage in
    a year, no ticket in a year, no touchpoint in a year, nobody recorded as
    champion or decision maker, no survey answer, no rating), and *stale* when its
    source has gone quiet for longer than the validity window: a feed (usage,
    product usage) when it delivered nothing for any account, an answer (survey,
    pulse, check-in) when the latest one is that old. Both leave the measure out
    of the score, shown as such, unless the scorecard gives it fixed points.
    Inside a window, a day without a row counts as nothing happening that day.
    """
    if kind == MeasureKind.LICENCE_UTILISATION:
        age = _age_days(day, facts.usage_last_day)
        if age is None:
            return None, MISSING
        if age >= validity_days:
            return None, STALE
        if not facts.licences_owned or facts.licences_used is None:
            return None, MISSING
        return round_half_up(facts.licences_used / facts.licences_owned * 100), OK
    if kind == MeasureKind.USAGE_TREND:
        return usage_trend(facts, day=day, validity_days=validity_days)
    if kind == MeasureKind.USAGE_LEVEL:
        return usage_level(facts, day=day, validity_days=validity_days)
    if kind == MeasureKind.ADOPTION_BREADTH:
        return adoption_breadth(facts, day=day, validity_days=validity_days)
    if kind == MeasureKind.SURVEY_SENTIMENT:
        return survey_sentiment(facts, day=day, validity_days=validity_days)
    if kind == MeasureKind.SUPPORT_LOAD:
        if not facts.tickets_known:
            return None, MISSING
        return float(facts.ticket_weight_90d), OK
    if kind == MeasureKind.TENURE:
        if facts.customer_since is None:
            return None, MISSING
        return float(max(0, (day - facts.customer_since).days)), OK
    if kind == MeasureKind.ENGAGEMENT_RECENCY:
        # Days since the latest touchpoint of the year, capped at the window; none in a year is missing.
        age = _age_days(day, facts.last_touchpoint_at)
        if age is None:
            return None, MISSING
        return float(min(age, validity_days)), OK
    if kind == MeasureKind.CHECKIN_CADENCE:
        if facts.stage != "adoption" or not facts.cadence_days:
            return None, NOT_APPLICABLE
        if facts.last_checkin_at is None:
            return None, MISSING
        expected = max(1.0, validity_days / facts.cadence_days)
        return round_half_up(min(100.0, facts.checkins_90d / expected * 100)), OK
    if kind == MeasureKind.CHECKIN_CONCERNS:
        age = _age_days(day, facts.last_checkin_at)
        if age is None:
            return None, MISSING
        if age >= validity_days:
            return None, STALE
        return float(facts.last_checkin_concerns or 0), OK
    if kind == MeasureKind.SUPPORT_BURDEN:
        if not facts.tickets_known:
            return None, MISSING
        return float(facts.open_ticket_weight), OK
    if kind == MeasureKind.NPS:
        age = _age_days(day, facts.last_nps_at)
        if age is None:
            return None, MISSING
        if age >= validity_days:
            return None, STALE
        return float(facts.last_nps), OK
    if kind == MeasureKind.OPEN_RED_FLAGS:
        # Baton's own output, never missing: every account has a count of open flags, 0 included.
        return float(facts.open_flags), OK
    if kind == MeasureKind.STAKEHOLDER_COVERAGE:
        if not facts.stakeholders_recorded:
            return None, MISSING
        return 50.0 * facts.champion_known + 50.0 * facts.decision_maker_known, OK
    if kind == MeasureKind.CSM_PULSE:
        if facts.pulse_rating is None:
            return None, MISSING
        age = _age_days(day, facts.pulse_rated_at)
        if facts.pulse_expired or (age is not None and age >= validity_days):
            return None, STALE
        return float(facts.pulse_rating), OK
    raise ValueError(f"Unknown measure kind {kind!r}")


def _usage_feed_status(facts: AccountFacts, *, day: dt.date, validity_days: int) -> str | None:
    """MISSING or STALE when the usage feed cannot speak for the day; None when it can."""
    age = _age_days(day, facts.usage_feed_day)
    if age is None:
        return MISSING
    if age >= validity_days:
        return STALE
    return None


def usage_level(facts: AccountFacts, *, day: dt.date, validity_days: int) -> tuple[float | None, str]:
    """How much the account used the product over the last 28 days, per licence it owns (%).

    Mean daily active users per owned licence × 100: the active users of every
    usage row in the 28 days up to the feed's latest day, summed, over 28 (a day
    without a row counts as no use), over the licences owned on the latest usage
    row of the last year, or else the seats of the entitlements in force. An
    account whose rows in the window report no active users but some key events
    (its analytics counts events, not users) is measured by mean daily key events
    per licence × 100 instead. Licences known and no usage in the window (no
    rows, or rows of zeros) is a dormant account: 0, not missing. Missing without
    a usage feed or without licence information; stale when the feed has
    delivered nothing for the validity window.
    """
    status = _usage_feed_status(facts, day=day, validity_days=validity_days)
    if status:
        return None, status
    licences = facts.usage_licences_owned or facts.entitled_seats
    if not licences:
        return None, MISSING
    used = facts.active_user_days_28d or facts.key_events_28d
    return round_half_up(used / USAGE_LEVEL_DAYS / licences * 100), OK


def usage_trend(facts: AccountFacts, *, day: dt.date, validity_days: int) -> tuple[float | None, str]:
    """The last week's daily use against the four weeks before it (% change), both ending on the feed's day.

    Totals over the days, so a day without a row counts as no use: a feed that
    sends only active days shows a fall when the active days thin out, instead
    of averaging the days that remain. Counted in active users when the five
    weeks report any, else in key events. Missing without usage in a year or
    without use in the four weeks before the last (no baseline to compare with:
    the usage level speaks for a dormant account); stale when the feed has
    delivered nothing for the validity window.
    """
    status = _usage_feed_status(facts, day=day, validity_days=validity_days)
    if status:
        return None, status
    if facts.usage_licences_owned is None:
        return None, MISSING
    if facts.active_user_days_7d or facts.active_user_days_prev28:
        recent, baseline = facts.active_user_days_7d, facts.active_user_days_prev28
    else:
        recent, baseline = facts.key_events_7d, facts.key_events_prev28
    if not baseline:
        return None, MISSING
    daily_recent = recent / RECENT_USAGE_DAYS
    daily_baseline = baseline / USAGE_TREND_BASELINE_DAYS
    return round_half_up((daily_recent - daily_baseline) / daily_baseline * 100), OK


def adoption_breadth(facts: AccountFacts, *, day: dt.date, validity_days: int) -> tuple[float | None, str]:
    """Share of the products the account holds on the day that it used in the last 28 days (%).

    A product counts as used with any activity (users, events or minutes) in the
    28 days up to the product feed's latest day. Missing without a per-product
    usage feed or without entitlements in force; stale when the product feed has
    delivered nothing for the validity window.
    """
    age = _age_days(day, facts.product_feed_day)
    if age is None:
        return None, MISSING
    if age >= validity_days:
        return None, STALE
    if not facts.products_entitled:
        return None, MISSING
    return round_half_up(facts.products_used / facts.products_entitled * 100), OK


def survey_sentiment(facts: AccountFacts, *, day: dt.date, validity_days: int) -> tuple[float | None, str]:
    """The latest NPS and CSAT answers, each on its full scale as 0–100, averaged.

    NPS 0–10 scores its answer × 10 (9 is 90, 10 is 100); CSAT 1–5 scores
    (answer − 1) × 25. An answer counts while younger than the validity window;
    with one kind in it, that answer alone is the value. The latest answer
    rather than a mean, as the NPS measure reads it: how the customer feels
    now, and an old answer goes stale after the window the scorecard sets.
    Missing with no answer of either kind in the last year; stale when every
    answer is as old as the window or older.
    """
    answers = [
        (facts.last_nps * 10.0, _age_days(day, facts.last_nps_at)) if facts.last_nps is not None else None,
        ((facts.last_csat - 1) * 25.0, _age_days(day, facts.last_csat_at)) if facts.last_csat is not None else None,
    ]
    known = [answer for answer in answers if answer is not None]
    if not known:
        return None, MISSING
    fresh = [value for value, age in known if age is not None and age < validity_days]
    if not fresh:
        return None, STALE
    return round_half_up(sum(fresh) / len(fresh)), OK


def score_account(card: ScorecardConfig, facts: AccountFacts, *, day: dt.date) -> ScoreResult:
    """Weighted mean of the usable measures.

    A missing or stale measure drops out and the other weights re-normalise,
    unless its policy gives it fixed points; one that does not apply (n/a) always drops out.
    """
    breakdown: dict[str, dict] = {}
    weighted_sum = total_weight = 0.0
    for measure in card.measures:
        raw, status = raw_measure(measure.kind, facts, day=day, validity_days=measure.validity_days)
        points: float | None
        if status == OK and raw is not None:
            points = measure.normalise(raw)
        elif status in (MISSING, STALE):
            points = measure.missing_points
        else:
            points = None
        breakdown[measure.kind] = {"raw": raw, "score": points, "weight": measure.weight, "status": status}
        if points is not None:
            weighted_sum += measure.weight * points
            total_weight += measure.weight
    score = round_half_up(weighted_sum / total_weight) if total_weight else None
    return ScoreResult(score=score, band=card.band_for(score), measures=breakdown)


def measure_contributions(measures: dict[str, dict]) -> dict[str, float]:
    """Points each measure adds to the score, after re-normalising weights over usable measures."""
    usable = {kind: m for kind, m in measures.items() if m.get("score") is not None}
    total_weight = sum(m["weight"] for m in usable.values())
    if not total_weight:
        return {}
    return {kind: round(m["weight"] * m["score"] / total_weight, 1) for kind, m in usable.items()}


def account_priority(
    *, score: float | None, renewal_date: dt.date | None, arr: float, stage: str, today: dt.date
) -> float:
    """Who needs their CSM first: the cockpit's "next best" order.

    Up to 100 points for poor health (unscored counts as middling), up to 40
    for a renewal inside 90 days, up to 20 for size; churned accounts sink.
    Stored on AccountHealth by every recompute so the cockpit sorts on an index.
    """
    need = 100.0 - (50.0 if score is None else score)
    urgency = 0.0
    if renewal_date is not None and renewal_date >= today:
        days = (renewal_date - today).days
        urgency = 40.0 if days <= 30 else 25.0 if days <= 60 else 15.0 if days <= 90 else 0.0
    size = 20.0 if arr >= 250_000 else 12.0 if arr >= 100_000 else 6.0 if arr >= 25_000 else 0.0
    sink = -200.0 if stage == "churned" else 0.0
    return round_half_up(need + urgency + size + sink)
