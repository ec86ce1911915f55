"""Red-flag rules: which admin-configured conditions fire on an account's facts for a day.

Evaluation is pure: plain `AccountFacts` in, `Firing`s out, no database. The
daily recompute and the per-account recompute both call `evaluate_rules` on
the facts they already read, and hand the firings to
`lifecycle.flags.services.flags_sync`, which keeps at most one unresolved flag
per account and rule.

Each evaluator returns None (quiet) or the reason text and the numbers that
fired it, so a CSM reading the flag sees why without opening a dashboard.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Stage
from core.text import counted, figure
from lifecycle.health.defaults import DEFAULT_CADENCES
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_query import SPEND_PERIOD_DAYS, TICKET_RECENT_DAYS, TOUCHPOINT_HORIZON_DAYS
from lifecycle.models import AlertRule, Band, CheckInCadence, RuleKind

# Merged under each rule's own params; an admin only writes what differs.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    RuleKind.BAND_RED: {},
    RuleKind.SCORE_DROP: {"points": 15},
    RuleKind.NO_TOUCHPOINT: {"days": 30},
    # Extra days allowed past the tier's cadence before the check-in counts as missed.
    RuleKind.MISSED_CHECKIN: {"grace_days": 0},
    RuleKind.ONBOARDING_NOT_ENGAGED: {
        "checkpoints": [30, 60, 90],
        "min_touchpoints": 2,
        "min_active_users": 3,
    },
    RuleKind.USAGE_DROP: {"percent": 30},
    RuleKind.NPS_DETRACTOR: {"days": 30},
    # A departure this recent always fires; an older one fires while no champion is known.
    RuleKind.CHAMPION_DEPARTED: {"days": 30},
    RuleKind.TICKET_SPIKE: {"days": 7, "factor": 2, "min_tickets": 3},
    # The window is `days`, or `term_share` of the contract term when that is shorter: a monthly
    # contract is flagged a week before its renewal, not every night of its life.
    RuleKind.RENEWAL_NOT_GREEN: {"days": 90, "term_share": 0.25},
    RuleKind.SPEND_RISING: {"percent": 25},
}

NPS_DETRACTOR_MAX = 6  # NPS scores 0–6 are detractors by definition.
FALLBACK_CADENCE_DAYS = 14
# Spend rising compares the last 90 days with the 90 before: only a customer through both has a full
# previous period of invoices to compare with. A younger one's first period holds part of a period's
# invoices, so against a full one its spend "rose" every time.
SPEND_HISTORY_DAYS = 2 * SPEND_PERIOD_DAYS


@dataclass(frozen=True)
class Firing:
    rule_id: int
    account_id: int
    severity: str
    reason: str
    values: dict[str, Any]


@dataclass(frozen=True)
class RuleContext:
    rules: list[AlertRule]
    cadences: dict[str, int]


Outcome = tuple[str, dict[str, Any]] | None


def params_for(rule: AlertRule) -> dict[str, Any]:
    return {**DEFAULT_PARAMS.get(rule.kind, {}), **(rule.params or {})}


def _number(params: dict[str, Any], key: str, *, minimum: float = 0, integer: bool = False) -> float:
    value = params.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError({"params": f"{key!r} must be a number, not {value!r}."})
    if integer and int(value) != value:
        raise ValidationError({"params": f"{key!r} must be a whole number, not {value!r}."})
    if value < minimum:
        raise ValidationError({"params": f"{key!r} must be at least {minimum:g}, not {value!r}."})
    return value


def validate_params(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """Check an admin's params for `kind` (merged with the defaults); raise ValidationError on nonsense.

    Used by the admin form and the API so a typo cannot silently disable a rule.
    """
    if kind not in RuleKind.values:
        raise ValidationError({"kind": f"Unknown rule kind {kind!r}."})
    if not isinstance(params, dict):
        raise ValidationError({"params": "Parameters must be a JSON object."})
    unknown = set(params) - set(DEFAULT_PARAMS[kind])
    if unknown:
        allowed = ", ".join(sorted(DEFAULT_PARAMS[kind])) or "none"
        raise ValidationError({"params": f"Unknown parameter(s) {', '.join(sorted(unknown))}; allowed: {allowed}."})
    merged = {**DEFAULT_PARAMS[kind], **params}
    if kind == RuleKind.ONBOARDING_NOT_ENGAGED:
        checkpoints = merged["checkpoints"]
        if not isinstance(checkpoints, list) or not checkpoints:
            raise ValidationError({"params": "'checkpoints' must be a non-empty list of days, e.g. [30, 60, 90]."})
        for day in checkpoints:
            _number({"checkpoint": day}, "checkpoint", minimum=1, integer=True)
        _number(merged, "min_touchpoints", integer=True)
        _number(merged, "min_active_users")
    elif kind == RuleKind.TICKET_SPIKE:
        if merged["days"] != TICKET_RECENT_DAYS:
            raise ValidationError({"params": f"'days' must be {TICKET_RECENT_DAYS}: only a 7-day window is computed."})
        _number(merged, "factor", minimum=0)
        _number(merged, "min_tickets", minimum=1, integer=True)
    elif kind == RuleKind.RENEWAL_NOT_GREEN:
        _number(merged, "days", minimum=1, integer=True)
        share = _number(merged, "term_share", minimum=0)
        if not 0 < share <= 1:
            raise ValidationError({"params": "'term_share' is a share of the contract term, above 0 and at most 1."})
    elif kind in (RuleKind.USAGE_DROP, RuleKind.SPEND_RISING):
        _number(merged, "percent", minimum=1)
        if kind == RuleKind.USAGE_DROP and merged["percent"] > 100:
            raise ValidationError({"params": "'percent' cannot exceed 100 for a usage drop."})
    else:
        for key in merged:
            _number(
                merged,
                key,
                minimum=1 if key in ("days", "points") else 0,
                integer=key != "points",
            )
    return merged


def load_rule_context() -> RuleContext:
    """The active rules and check-in cadences, read once per run (2 queries)."""
    cadences = {
        **DEFAULT_CADENCES,
        **dict(CheckInCadence.objects.values_list("tier", "every_days")),
    }
    return RuleContext(rules=list(AlertRule.objects.filter(active=True)), cadences=cadences)


def _day(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value


# --- evaluators: (rule params, facts, today, cadences) -> (reason, values) or None -----


def _band_red(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    # Fires whenever the band is red; flags_sync keeps it to one unresolved flag,
    # so a resolved flag comes back if the account is still red the next day.
    if f.band != Band.RED:
        return None
    score = "no score" if f.score is None else f"score {figure(f.score)}"
    turned = f.band_yesterday not in ("", Band.RED)
    reason = (
        f"Health turned red today ({score}; was {f.band_yesterday} yesterday)."
        if turned
        else f"Health band is red ({score})."
    )
    return reason, {
        "score": f.score,
        "band": f.band,
        "band_yesterday": f.band_yesterday,
    }


def _score_drop(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.score is None or f.score_7d_ago is None:
        return None
    drop = round(f.score_7d_ago - f.score, 1)
    if drop < p["points"]:
        return None
    reason = (
        f"Health score fell {counted(drop, 'point')} in 7 days (from {figure(f.score_7d_ago)} to {figure(f.score)})."
    )
    return reason, {
        "score": f.score,
        "score_7d_ago": f.score_7d_ago,
        "drop": drop,
        "points": p["points"],
    }


def stage_started_on(f: AccountFacts) -> dt.date:
    """When the account's current stage began for the rules: the day it entered it, or its contract start if later.

    Never a contract start before the stage: an imported long-standing customer entered its stage
    (as the import says) years after its first contract, and its onboarding clock starts then.
    """
    if f.contract_start is not None and f.contract_start > f.stage_entered_on:
        return f.contract_start
    return f.stage_entered_on


def _no_touchpoint(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.last_touchpoint_at is not None:
        since = _day(f.last_touchpoint_at)
        days = (today - since).days
        if days < p["days"]:
            return None
        reason = f"No touchpoint for {counted(days, 'day')} (last on {since:%d %b %Y}; limit {p['days']})."
        return reason, {
            "days_since": days,
            "since": since.isoformat(),
            "counted_from": "last touchpoint",
            "limit": p["days"],
        }
    # None on record (the facts look back TOUCHPOINT_HORIZON_DAYS): counted from when the account entered
    # its stage, not from a contract start years before, never from before it came into Baton (an imported
    # customer's silence before then is not on record), and at most from the start of the look-back.
    entered = f.stage_entered_on
    arrived = f.in_baton_since or entered
    since = max(entered, arrived, today - dt.timedelta(days=TOUCHPOINT_HORIZON_DAYS))
    days = (today - since).days
    if days < p["days"]:
        return None
    stage = Stage(f.stage).label if f.stage in Stage.values else f.stage
    if since == entered:
        reason = (
            f"No touchpoint since the account entered {stage} on {since:%d %b %Y}: "
            f"{counted(days, 'day')} (limit {p['days']})."
        )
    elif since == arrived:
        reason = (
            f"No touchpoint since the account came into Baton on {since:%d %b %Y}: "
            f"{counted(days, 'day')} (limit {p['days']})."
        )
    else:
        reason = f"No touchpoint in the last {counted(days, 'day')}, as far back as Baton looks (limit {p['days']})."
    return reason, {
        "days_since": days,
        "since": since.isoformat(),
        "counted_from": "stage start"
        if since == entered
        else "in Baton since"
        if since == arrived
        else "look-back start",
        "limit": p["days"],
    }


def _missed_checkin(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.stage != Stage.ADOPTION:
        return None
    cadence = cadences.get(f.tier, FALLBACK_CADENCE_DAYS)
    allowed = cadence + p["grace_days"]
    if f.last_checkin_at is not None:
        since = _day(f.last_checkin_at)
        described = f"last check-in on {since:%d %b %Y}"
    else:
        # No check-in yet: the clock starts when the account entered adoption, or came into Baton if later.
        since = max(f.stage_entered_on, f.in_baton_since or f.stage_entered_on)
        if since == f.stage_entered_on:
            described = f"no check-in since adoption started on {since:%d %b %Y}"
        else:
            described = f"no check-in since the account came into Baton on {since:%d %b %Y}"
    days = (today - since).days
    if days <= allowed:
        return None
    reason = (
        f"Check-in overdue: {counted(days, 'day')} without one ({described}); "
        f"cadence is every {counted(cadence, 'day')}."
    )
    return reason, {
        "days_since": days,
        "since": since.isoformat(),
        "cadence_days": cadence,
        "allowed": allowed,
    }


def _onboarding_not_engaged(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.stage != Stage.ONBOARDING:
        return None
    started = stage_started_on(f)
    day_n = (today - started).days
    reached = [c for c in sorted(p["checkpoints"]) if day_n >= c]
    if not reached:
        return None
    checkpoint = reached[-1]
    gaps = []
    if f.touchpoints_since_onboarding < p["min_touchpoints"]:
        gaps.append(f"{counted(f.touchpoints_since_onboarding, 'touchpoint')} (needs {p['min_touchpoints']})")
    if f.active_users_7d is None:
        gaps.append(f"no usage recorded (needs {counted(p['min_active_users'], 'active user')} a day)")
    elif f.active_users_7d < p["min_active_users"]:
        gaps.append(f"{counted(f.active_users_7d, 'active user')} a day (needs {figure(p['min_active_users'])})")
    if not gaps:
        return None
    reason = f"Not engaged by day {checkpoint} of onboarding (now day {day_n}): {'; '.join(gaps)}."
    return reason, {
        "checkpoint": checkpoint,
        "day": day_n,
        "onboarding_started_on": started.isoformat(),
        "touchpoints": f.touchpoints_since_onboarding,
        "active_users_7d": f.active_users_7d,
        "min_touchpoints": p["min_touchpoints"],
        "min_active_users": p["min_active_users"],
    }


def _usage_drop(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    recent, previous = f.active_users_7d, f.active_users_prev28
    if recent is None or previous is None or previous <= 0:
        return None
    # Rounded so that exactly the threshold (e.g. 7.0 vs 10.0 at 30%) fires despite float noise.
    drop_percent = round((previous - recent) / previous * 100, 6)
    if drop_percent < p["percent"]:
        return None
    reason = (
        f"Active users down {figure(drop_percent)}%: {figure(recent)} a day over the last 7 days "
        f"vs {figure(previous)} over the previous 4 weeks (limit {figure(p['percent'])}%)."
    )
    return reason, {
        "active_users_7d": recent,
        "active_users_prev28": previous,
        "drop_percent": drop_percent,
    }


def _nps_detractor(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.last_nps is None or f.last_nps_at is None or f.last_nps > NPS_DETRACTOR_MAX:
        return None
    answered = _day(f.last_nps_at)
    days = (today - answered).days
    if days > p["days"]:
        return None
    comment = f' "{f.last_nps_comment[:140]}"' if f.last_nps_comment else ""
    reason = f"NPS detractor: scored {f.last_nps}/10 on {answered:%d %b %Y}.{comment}"
    return reason, {
        "nps": f.last_nps,
        "answered_on": answered.isoformat(),
        "days_ago": days,
    }


def _champion_departed(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.champion_departed_on is None:
        return None
    days = (today - f.champion_departed_on).days
    recent = days <= p["days"]
    if not recent and f.champion_known:
        return None
    replacement = "a champion is still known" if f.champion_known else "no champion is known now"
    reason = f"Champion departed on {f.champion_departed_on:%d %b %Y} ({counted(days, 'day')} ago); {replacement}."
    return reason, {
        "departed_on": f.champion_departed_on.isoformat(),
        "days_ago": days,
        "champion_known": f.champion_known,
    }


def _ticket_spike(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    weekly_baseline = f.tickets_opened_prev28 / 4
    threshold = max(p["min_tickets"], p["factor"] * weekly_baseline)
    if f.tickets_opened_7d < threshold:
        return None
    reason = (
        f"Support ticket spike: {f.tickets_opened_7d} opened in 7 days vs {figure(weekly_baseline)} a week "
        f"over the previous 4 weeks (fires at {figure(threshold)})."
    )
    return reason, {
        "tickets_7d": f.tickets_opened_7d,
        "weekly_baseline": weekly_baseline,
        "threshold": threshold,
    }


def renewal_window_days(p: dict, f: AccountFacts) -> int:
    """How many days before a renewal the rule watches: `days`, or less for a short contract term."""
    if f.contract_start is None or f.renewal_date is None or f.renewal_date <= f.contract_start:
        return int(p["days"])
    term = (f.renewal_date - f.contract_start).days
    return min(int(p["days"]), math.floor(term * float(p["term_share"])))


def _renewal_not_green(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    if f.renewal_date is None or f.band == Band.GREEN:
        return None
    days = (f.renewal_date - today).days
    window = renewal_window_days(p, f)
    if days < 0 or days > window:
        return None
    health = f"health is {f.band}" if f.band else "there is no health score yet"
    reason = f"Renewal in {counted(days, 'day')} ({f.renewal_date:%d %b %Y}) and {health}."
    if window < int(p["days"]):
        reason += f" Watched from {counted(window, 'day')} before, a {p['term_share']:g} share of the contract term."
    return reason, {
        "renewal_date": f.renewal_date.isoformat(),
        "days_to_renewal": days,
        "window_days": window,
        "band": f.band,
    }


def _spend_rising(p: dict, f: AccountFacts, today: dt.date, cadences: Mapping[str, int]) -> Outcome:
    previous, recent = Decimal(f.spend_previous_90d), Decimal(f.spend_recent_90d)
    # Against the account's own spend in the 90 days before: none there (no invoice before the
    # recent period) is no level to rise from.
    if previous <= 0:
        return None
    # A customer for less than both periods has only part of a period behind it (see SPEND_HISTORY_DAYS);
    # without any contract start its age is unknown, so it is not judged either.
    since = f.customer_since or f.contract_start
    if since is None or (today - since).days < SPEND_HISTORY_DAYS:
        return None
    if recent < previous * (1 + Decimal(str(p["percent"])) / 100):
        return None
    rise = (recent - previous) / previous * 100
    reason = (
        f"Spend up {rise:.0f}% over the last 90 days ({recent:,.2f} vs {previous:,.2f} in the 90 days before; "
        f"limit {figure(p['percent'])}%), a customer since {since:%d %b %Y}. "
        "Is it getting more expensive for the customer?"
    )
    return reason, {
        "spend_recent_90d": str(recent),
        "spend_previous_90d": str(previous),
        "rise_percent": float(rise),
        "customer_since": since.isoformat(),
    }


EVALUATORS: dict[str, Callable[[dict, AccountFacts, dt.date, Mapping[str, int]], Outcome]] = {
    RuleKind.BAND_RED: _band_red,
    RuleKind.SCORE_DROP: _score_drop,
    RuleKind.NO_TOUCHPOINT: _no_touchpoint,
    RuleKind.MISSED_CHECKIN: _missed_checkin,
    RuleKind.ONBOARDING_NOT_ENGAGED: _onboarding_not_engaged,
    RuleKind.USAGE_DROP: _usage_drop,
    RuleKind.NPS_DETRACTOR: _nps_detractor,
    RuleKind.CHAMPION_DEPARTED: _champion_departed,
    RuleKind.TICKET_SPIKE: _ticket_spike,
    RuleKind.RENEWAL_NOT_GREEN: _renewal_not_green,
    RuleKind.SPEND_RISING: _spend_rising,
}


def rule_applies(rule: AlertRule, facts: AccountFacts) -> bool:
    """Scope: blank tier/stage means any; churned accounts only match rules scoped to churned."""
    if rule.tier and rule.tier != facts.tier:
        return False
    if rule.stage:
        return rule.stage == facts.stage
    return facts.stage != Stage.CHURNED


def evaluate_rules(
    rules: list[AlertRule],
    facts: Iterable[AccountFacts],
    *,
    today: dt.date,
    cadences: Mapping[str, int] | None = None,
) -> list[Firing]:
    """Every (rule, account) pair that fires on `today`'s facts, with its reason and numbers."""
    cadences = DEFAULT_CADENCES if cadences is None else cadences
    prepared = [(rule, params_for(rule), EVALUATORS[rule.kind]) for rule in rules if rule.active]
    firings: list[Firing] = []
    for item in facts:
        for rule, params, evaluate in prepared:
            if not rule_applies(rule, item):
                continue
            outcome = evaluate(params, item, today, cadences)
            if outcome is not None:
                reason, values = outcome
                firings.append(Firing(rule.pk, item.account_id, rule.severity, reason, values))
    return firings
