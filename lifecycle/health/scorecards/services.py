"""Writing scorecards: drafts, versions, activation and retirement, each audited.

A scorecard row is one version. Drafts are edited in place; an active or
retired version is frozen, so every snapshot keeps naming exactly what
produced it. Editing a live scorecard means a new draft version of its
lineage; activating that draft retires the version it replaces, in the same
transaction, and queues today's recompute so the book moves to it at once.
Days already scored are never rewritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import AuditAction
from accounts.services import audit_record
from lifecycle.health.recompute import health_recompute_start
from lifecycle.models import Measure, MeasureKind, Scorecard, ScorecardStatus, WhenMissing
from users.models import User

MIN_WEIGHT = Decimal("0.01")
MAX_WEIGHT = Decimal("999.99")
# A scorecard's own settings, and what a new one starts with when not given.
SCORECARD_DEFAULTS: dict[str, Any] = {
    "name": "",
    "description": "",
    "tier": "",
    "stage": "",
    "green_min": 70,
    "yellow_min": 40,
}
SCORECARD_FIELDS = tuple(SCORECARD_DEFAULTS)


@dataclass(frozen=True)
class MeasureSpec:
    """One measure as an editor or the API describes it."""

    kind: str
    weight: Decimal
    zero_at: Decimal
    full_at: Decimal
    validity_days: int
    when_missing: str = WhenMissing.SKIP

    @classmethod
    def of(cls, measure: Measure) -> MeasureSpec:
        return cls(
            kind=measure.kind,
            weight=measure.weight,
            zero_at=measure.zero_at,
            full_at=measure.full_at,
            validity_days=measure.validity_days,
            when_missing=measure.when_missing,
        )


def _fields_of(card: Scorecard) -> dict[str, Any]:
    return {name: getattr(card, name) for name in SCORECARD_FIELDS}


def _specs_of(card: Scorecard) -> list[MeasureSpec]:
    return [MeasureSpec.of(measure) for measure in card.measures.all()]


def scorecard_errors(
    *, fields: dict[str, Any], measures: Sequence[MeasureSpec], lineage: Any = None
) -> dict[str, list[str]]:
    """What is wrong with a scorecard's settings, by field; empty when it can be saved."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    name = (fields.get("name") or "").strip()
    if not name:
        add("name", "Give the scorecard a name.")
    elif Scorecard.objects.filter(name__iexact=name).exclude(lineage=lineage).exists():
        add("name", f"Another scorecard is already called {name!r}; names tell scorecards apart.")
    green, yellow = fields.get("green_min"), fields.get("yellow_min")
    if green is None or not 0 < green <= 100:
        add("green_min", "Green starts somewhere from 1 to 100.")
    if yellow is None or not 0 <= yellow <= 100:
        add("yellow_min", "Yellow starts somewhere from 0 to 100.")
    if green is not None and yellow is not None and yellow >= green:
        add("yellow_min", f"Yellow must start below green ({green}); scores under yellow are red.")
    if not measures:
        add("measures", "A scorecard needs at least one measure.")
    seen: set[str] = set()
    for spec in measures:
        label = MeasureKind(spec.kind).label if spec.kind in MeasureKind.values else spec.kind
        if spec.kind not in MeasureKind.values:
            add("measures", f"{spec.kind!r} is not a measure Baton knows.")
        elif spec.kind in seen:
            add("measures", f"{label} appears twice; each measure counts once.")
        seen.add(spec.kind)
        if not MIN_WEIGHT <= spec.weight <= MAX_WEIGHT:
            add("measures", f"{label}: a weight is between {MIN_WEIGHT} and {MAX_WEIGHT}.")
        if spec.zero_at == spec.full_at:
            add("measures", f"{label}: the value that scores 0 and the one that scores 100 must differ.")
        if not 1 <= spec.validity_days <= 3650:
            add("measures", f"{label}: data stays valid for 1 to 3650 days.")
        if spec.when_missing not in WhenMissing.values:
            add("measures", f"{label}: {spec.when_missing!r} is not a way to treat a missing value.")
    return errors


def _save_measures(card: Scorecard, measures: Sequence[MeasureSpec]) -> None:
    card.measures.all().delete()
    Measure.objects.bulk_create(Measure(scorecard=card, **asdict(spec)) for spec in measures)


def _describe(measures: Sequence[MeasureSpec]) -> dict[str, str]:
    return {
        spec.kind: f"×{spec.weight} {spec.zero_at}→{spec.full_at} {spec.validity_days}d {spec.when_missing}"
        for spec in measures
    }


def _changes(
    before: dict[str, Any], after: dict[str, Any], old: Sequence[MeasureSpec], new: Sequence[MeasureSpec]
) -> dict[str, tuple[Any, Any]]:
    changes = {name: (before.get(name), after[name]) for name in after if before.get(name) != after[name]}
    old_measures, new_measures = _describe(old), _describe(new)
    for kind in sorted(set(old_measures) | set(new_measures)):
        if old_measures.get(kind) != new_measures.get(kind):
            changes[f"measure:{kind}"] = (old_measures.get(kind), new_measures.get(kind))
    return changes


@transaction.atomic
def scorecard_create(
    *, actor: User, fields: dict[str, Any], measures: Sequence[MeasureSpec], based_on: Scorecard | None = None
) -> Scorecard:
    """A new scorecard: version 1 of its own lineage, a draft until someone activates it."""
    fields = {name: fields.get(name, default) for name, default in SCORECARD_DEFAULTS.items()}
    fields["name"] = (fields["name"] or "").strip()
    errors = scorecard_errors(fields=fields, measures=measures)
    if errors:
        raise ValidationError(errors)
    card = Scorecard.objects.create(**fields, based_on=based_on, created_by=actor, status=ScorecardStatus.DRAFT)
    _save_measures(card, measures)
    audit_record(
        actor=actor,
        action=AuditAction.SCORECARD_CREATED,
        subject=card,
        changes=_changes({}, fields, [], measures),
        reason=f"Cloned from {based_on.label}" if based_on else "",
    )
    return card


def scorecard_clone(*, actor: User, source: Scorecard, name: str) -> Scorecard:
    """A new scorecard of its own, starting as a copy of `source`'s settings."""
    return scorecard_create(
        actor=actor, fields={**_fields_of(source), "name": name}, measures=_specs_of(source), based_on=source
    )


@transaction.atomic
def scorecard_new_version(
    *,
    actor: User,
    source: Scorecard,
    measure_weights: dict[str, Decimal] | None = None,
    reason: str = "",
) -> Scorecard:
    """The next draft version of `source`'s lineage, copying `source` (with new weights where given)."""
    # Versions of a lineage are numbered one at a time: lock its rows before reading the highest.
    versions = Scorecard.objects.select_for_update().filter(lineage=source.lineage)
    draft = next((card for card in versions if card.status == ScorecardStatus.DRAFT), None)
    if draft is not None:
        raise ValidationError(
            f"{draft.label} is already a draft of this scorecard; edit or delete it before starting another."
        )
    weights = measure_weights or {}
    unknown = set(weights) - {measure.kind for measure in source.measures.all()}
    if unknown:
        raise ValidationError(f"{source.label} has no measure {', '.join(sorted(unknown))}.")
    measures = [
        MeasureSpec(**{**asdict(spec), "weight": weights.get(spec.kind, spec.weight)}) for spec in _specs_of(source)
    ]
    errors = scorecard_errors(fields=_fields_of(source), measures=measures, lineage=source.lineage)
    if errors:
        raise ValidationError(errors)
    number = (versions.aggregate(highest=Max("version"))["highest"] or 0) + 1
    card = Scorecard.objects.create(
        **_fields_of(source),
        lineage=source.lineage,
        version=number,
        based_on=source,
        created_by=actor,
        status=ScorecardStatus.DRAFT,
    )
    _save_measures(card, measures)
    audit_record(
        actor=actor,
        action=AuditAction.SCORECARD_CREATED,
        subject=card,
        changes=_changes(_fields_of(source), _fields_of(card), _specs_of(source), measures),
        reason=reason or f"New version of {source.label}",
    )
    return card


def _locked_draft(card: Scorecard) -> Scorecard:
    card = Scorecard.objects.select_for_update().get(pk=card.pk)
    if card.status != ScorecardStatus.DRAFT:
        raise ValidationError(
            f"{card.label} is {card.get_status_display().lower()} and frozen: the scores it produced name it. "
            "Start a new version to change it."
        )
    return card


@transaction.atomic
def scorecard_update_draft(
    *, actor: User, draft: Scorecard, fields: dict[str, Any], measures: Sequence[MeasureSpec]
) -> Scorecard:
    """Change a draft's settings and measures; an active or retired version is refused."""
    draft = _locked_draft(draft)
    before, old_measures = _fields_of(draft), _specs_of(draft)
    after = {name: fields.get(name, before[name]) for name in SCORECARD_FIELDS}
    after["name"] = (after["name"] or "").strip()
    errors = scorecard_errors(fields=after, measures=measures, lineage=draft.lineage)
    if errors:
        raise ValidationError(errors)
    for name, value in after.items():
        setattr(draft, name, value)
    draft.save()
    _save_measures(draft, measures)
    changes = _changes(before, after, old_measures, measures)
    if changes:
        audit_record(actor=actor, action=AuditAction.SCORECARD_EDITED, subject=draft, changes=changes)
    return draft


def _scope_holder(card: Scorecard) -> Scorecard | None:
    """The active version of another scorecard that covers exactly `card`'s scope, if any."""
    return Scorecard.objects.active().filter(tier=card.tier, stage=card.stage).exclude(lineage=card.lineage).first()


def _retire(card: Scorecard, *, actor: User, at: dt.datetime, reason: str) -> None:
    card.status, card.retired_at = ScorecardStatus.RETIRED, at
    card.save(update_fields=["status", "retired_at", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.SCORECARD_RETIRED,
        subject=card,
        changes={"status": (ScorecardStatus.ACTIVE, ScorecardStatus.RETIRED)},
        reason=reason,
    )


@transaction.atomic
def scorecard_activate(*, actor: User, draft: Scorecard, note: str) -> Scorecard:
    """Put a draft live: the lineage's active version retires, and today's scores are recomputed with it."""
    draft = _locked_draft(draft)
    errors: dict[str, list[str]] = {}
    if not note.strip():
        errors["note"] = ["Say why this version goes live; whoever reads the scores later will ask."]
    holder = _scope_holder(draft)
    if holder is not None:
        errors.setdefault("scope", []).append(
            f"{holder.label} is already active for {holder.scope_label}. Two scorecards cannot both claim the "
            "same accounts: change this draft's tier or stage, or retire the other first."
        )
    if not draft.measures.exists():
        errors.setdefault("measures", []).append("A scorecard needs at least one measure before it goes live.")
    if errors:
        raise ValidationError(errors)
    now = timezone.now()
    replaced = Scorecard.objects.select_for_update().filter(lineage=draft.lineage, status=ScorecardStatus.ACTIVE)
    for old in replaced:
        _retire(old, actor=actor, at=now, reason=f"Replaced by {draft.label}: {note.strip()}")
    draft.status, draft.activated_at, draft.activated_by, draft.activation_note = (
        ScorecardStatus.ACTIVE,
        now,
        actor,
        note.strip(),
    )
    draft.save(update_fields=["status", "activated_at", "activated_by", "activation_note", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.SCORECARD_ACTIVATED,
        subject=draft,
        changes={"status": (ScorecardStatus.DRAFT, ScorecardStatus.ACTIVE)},
        reason=note.strip(),
    )
    health_recompute_start(day=timezone.localdate())
    return draft


@transaction.atomic
def scorecard_retire(*, actor: User, scorecard: Scorecard, reason: str) -> Scorecard:
    """Take an active version out of use: its accounts fall to the next most specific scorecard."""
    card = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    errors: dict[str, list[str]] = {}
    if card.status != ScorecardStatus.ACTIVE:
        errors["status"] = [f"{card.label} is not active."]
    elif not card.tier and not card.stage:
        errors["scope"] = [
            f"{card.label} scores every account no other scorecard covers; activate another scorecard for all "
            "accounts (or a new version of this one) instead of leaving accounts without a score."
        ]
    if not reason.strip():
        errors["reason"] = ["Say why it retires."]
    if errors:
        raise ValidationError(errors)
    _retire(card, actor=actor, at=timezone.now(), reason=reason.strip())
    health_recompute_start(day=timezone.localdate())
    return card


@transaction.atomic
def scorecard_delete_draft(*, actor: User, draft: Scorecard) -> None:
    """Throw a draft away; versions that went live stay, as the record of what scored."""
    draft = _locked_draft(draft)
    audit_record(
        actor=actor,
        action=AuditAction.SCORECARD_DELETED,
        subject=draft,
        changes={"status": (ScorecardStatus.DRAFT, None)},
        reason=f"Draft {draft.label} deleted",
    )
    draft.delete()
