"""Writes to red flags: raising them from rule firings, and the owner's workflow.

open → acknowledged → snoozed until a date → resolved. At most one unresolved
flag exists per account and rule (a partial unique constraint), so raising is
an insert that the database may refuse, never a read-then-write race.

A flag whose rule no longer fires for its account is **cleared** by the
recompute of that account (`flags_clear`, and the same statement in SQL in
lifecycle.health.recompute_sql): open, acknowledged and snoozed flags alike,
since each stood for a condition that has gone; a flag a person resolved
stays resolved. A cleared flag is no longer unresolved, so it leaves the open
flags the health score counts and the rule may raise a new flag when it
fires again. The flag row itself says when and why (`cleared_at`,
`cleared_reason`), and the alerts inbox shows it: a timeline entry for every
flag the nightly run clears would bury the account's real history.

Every other change leaves a system event on the account's timeline (who, when,
what), and raising or re-opening flags announces FlagsRaised, which the apps above
handle after the transaction commits (notifications, risk playbooks).

No rule's flags are ever held back. When a nightly run finishes, `flood_guard_check` counts
each rule's new flags of that night, and a rule that flagged more than the admins' flood share
of the book gets a FloodWarning, shown on the alerts inbox until acknowledged, and announced
(FloodWarningsRaised) so admins hear of it.

Who owns a flag: the account's owner. A pooled account has no owner, so its
flags have none either: the pool's team shares them (they show under "mine"
for every member and notify each of them), rather than being parked on the
manager as a stand-in "pool user".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery, TextField, Value
from django.db.models.functions import Concat
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Account, AuditAction, TimelineEntry, TimelineKind
from accounts.services import audit_record, timeline_system_event
from core import events
from core.text import counted
from lifecycle.flags.events import (
    FlagAcknowledged,
    FlagResolved,
    FlagsCleared,
    FlagSnoozed,
    FlagsRaised,
    FloodWarningsRaised,
)
from lifecycle.flags.models import AlertSettings, FloodWarning
from lifecycle.flags.rules import Firing, validate_params
from lifecycle.models import UNRESOLVED, AlertRule, FlagStatus, RedFlag
from users.models import User
from users.permissions import can_configure, can_edit_account, oversees_alerts

MAX_SNOOZE_DAYS = 365


@dataclass
class FlagSyncResult:
    raised_ids: list[int] = field(default_factory=list)
    reopened_ids: list[int] = field(default_factory=list)
    # Firings that matched a flag already open, acknowledged or still snoozed (or open that day, on a back-fill).
    unchanged: int = 0

    @property
    def notified_ids(self) -> list[int]:
        return self.raised_ids + self.reopened_ids


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def run_stamp(today: dt.date) -> dt.datetime:
    """When flags raised or cleared by the run for `today` say it happened: now, or that day at this time of day.

    A back-fill of a past day raises and clears flags on that day, not on the day it ran.
    """
    now = timezone.now()
    if today >= timezone.localdate(now):
        return now
    return timezone.make_aware(dt.datetime.combine(today, timezone.localtime(now).time()))


def cleared_reason_prefix(day: dt.date) -> str:
    """What a cleared flag says, before its rule's name; the SQL recompute writes the same words."""
    return f"Condition no longer holds on {day.day} {day:%b %Y}: "


def clearable_before(day: dt.date) -> dt.datetime:
    """Only flags raised by the end of `day` clear on it: a back-fill of last month leaves later flags alone."""
    return _start_of(day + dt.timedelta(days=1))


@transaction.atomic
def flags_sync(*, firings: Iterable[Firing], today: dt.date, notify: bool = True) -> FlagSyncResult:
    """Raise a flag for each firing without an unresolved one; wake snoozed flags whose date has come.

    Set-based: a fixed handful of queries whatever the number of firings.
    Open and acknowledged flags are left alone, so running the same day twice
    changes nothing the second time. `notify=False` is for back-filling
    history (demo data), where nobody should be woken for last month's flags.
    """
    by_pair: dict[tuple[int, int], Firing] = {(f.rule_id, f.account_id): f for f in firings}
    result = FlagSyncResult()
    if not by_pair:
        return result
    account_ids = {account_id for _, account_id in by_pair}
    rule_ids = {rule_id for rule_id, _ in by_pair}
    now = run_stamp(today)
    # A snooze "until 3 July" is quiet through 2 July and wakes on the run for 3 July.
    wake_before = _start_of(today + dt.timedelta(days=1))

    # A flag cleared after this day ended was open through it: a back-fill that runs the day again
    # finds the firing already flagged rather than raising it a second time.
    day_end = clearable_before(today)
    open_that_day = Q(status=FlagStatus.CLEARED, raised_at__lt=day_end, cleared_at__gte=day_end)
    existing = RedFlag.objects.filter(
        Q(status__in=UNRESOLVED) | open_that_day, account_id__in=account_ids, rule_id__in=rule_ids
    ).values_list("pk", "rule_id", "account_id", "status", "snoozed_until")
    to_wake: list[int] = []
    seen: set[tuple[int, int]] = set()
    for pk, rule_id, account_id, status, snoozed_until in existing:
        pair = (rule_id, account_id)
        if pair not in by_pair:
            continue
        seen.add(pair)
        if status == FlagStatus.SNOOZED and snoozed_until < wake_before:
            to_wake.append(pk)
    result.unchanged = len(seen) - len(to_wake)

    rule_names = dict(AlertRule.objects.filter(pk__in=rule_ids).values_list("pk", "name"))
    woken = _flags_wake(to_wake, by_pair=by_pair, now=now, wake_before=wake_before) if to_wake else []
    result.reopened_ids = [pk for pk, _ in woken]
    changes = [(rule_id, account_id, "re-opened") for _, (rule_id, account_id) in woken]

    new_pairs = [pair for pair in by_pair if pair not in seen]
    if new_pairs:
        owners = dict(Account.objects.filter(pk__in={a for _, a in new_pairs}).values_list("pk", "owner_id"))
        RedFlag.objects.bulk_create(
            [
                RedFlag(
                    rule_id=rule_id,
                    account_id=account_id,
                    owner_id=owners.get(account_id),
                    severity=by_pair[rule_id, account_id].severity,
                    status=FlagStatus.OPEN,
                    reason=by_pair[rule_id, account_id].reason,
                    values=by_pair[rule_id, account_id].values,
                    raised_at=now,
                )
                for rule_id, account_id in new_pairs
                if account_id in owners
            ],
            batch_size=1000,
            # A concurrent run may have raised the same flag a moment ago: the
            # partial unique constraint keeps one, and only ours (stamped `now`) are new.
            ignore_conflicts=True,
        )
        raised = list(
            RedFlag.objects.filter(
                status=FlagStatus.OPEN,
                raised_at=now,
                account_id__in={a for _, a in new_pairs},
                rule_id__in={r for r, _ in new_pairs},
            )
            .exclude(pk__in=[pk for pk, _ in woken])
            .values_list("pk", "rule_id", "account_id")
        )
        # The stamp of a back-filled day is not unique the way `now` is: keep only the pairs asked for.
        raised = [row for row in raised if (row[1], row[2]) in by_pair]
        result.raised_ids = [pk for pk, _, _ in raised]
        changes += [(rule_id, account_id, "raised") for _, rule_id, account_id in raised]

    TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                account_id=account_id,
                kind=TimelineKind.SYSTEM,
                event="flag_raised",
                occurred_at=now,
                summary=f"Red flag {verb}: {rule_names[rule_id]}"[:200],
                body=by_pair[rule_id, account_id].reason,
            )
            for rule_id, account_id, verb in changes
        ],
        batch_size=1000,
    )
    if result.notified_ids:
        events.announce(
            FlagsRaised(
                raised_ids=tuple(result.raised_ids),
                reopened_ids=tuple(result.reopened_ids),
                day=today,
                notify=notify,
            )
        )
    return result


@transaction.atomic
def flags_clear(
    *,
    firings: Iterable[Firing],
    account_ids: Iterable[int],
    rule_ids: Iterable[int],
    today: dt.date,
    notify: bool = True,
) -> int:
    """Clear the unresolved flags of these accounts whose rule was evaluated `today` and did not fire.

    `rule_ids` are the rules evaluated (the active ones): a flag of a rule
    switched off is left as it is, as nothing says its condition has gone.
    One update, conditional on the flag still being unresolved, so a person
    resolving it meanwhile keeps their resolution. Returns how many cleared.
    """
    fired = {(firing.rule_id, firing.account_id) for firing in firings}
    candidates = RedFlag.objects.filter(
        status__in=UNRESOLVED,
        account_id__in=list(account_ids),
        rule_id__in=list(rule_ids),
        raised_at__lt=clearable_before(today),
    ).values_list("pk", "rule_id", "account_id")
    pks = [pk for pk, rule_id, account_id in candidates if (rule_id, account_id) not in fired]
    if not pks:
        return 0
    rule_name = AlertRule.objects.filter(pk=OuterRef("rule_id")).values("name")
    stamp = run_stamp(today)
    cleared = RedFlag.objects.filter(pk__in=pks, status__in=UNRESOLVED).update(
        status=FlagStatus.CLEARED,
        cleared_at=stamp,
        cleared_reason=Concat(Value(cleared_reason_prefix(today)), Subquery(rule_name), output_field=TextField()),
        snoozed_until=None,
    )
    if cleared:
        # Those the update reached: a flag a person resolved meanwhile kept their resolution.
        cleared_ids = RedFlag.objects.filter(pk__in=pks, status=FlagStatus.CLEARED, cleared_at=stamp)
        flags_cleared_announce(flag_ids=cleared_ids.values_list("pk", flat=True), today=today, notify=notify)
    return cleared


def flags_cleared_announce(*, flag_ids: Iterable[int], today: dt.date, notify: bool) -> None:
    """Tell the apps above which flags a run cleared (both recompute paths call this)."""
    ids = tuple(sorted(flag_ids))
    if ids:
        events.announce(FlagsCleared(flag_ids=ids, day=today, notify=notify))


def _flags_wake(
    pks: list[int], *, by_pair: dict[tuple[int, int], Firing], now: dt.datetime, wake_before: dt.datetime
) -> list[tuple[int, tuple[int, int]]]:
    """Re-open snoozed flags whose rule still fires, with today's reason and numbers."""
    flags = list(
        RedFlag.objects.select_for_update()
        .filter(pk__in=pks, status=FlagStatus.SNOOZED, snoozed_until__lt=wake_before)
        .order_by("pk")
    )
    for flag in flags:
        firing = by_pair[flag.rule_id, flag.account_id]
        flag.status = FlagStatus.OPEN
        flag.snoozed_until = None
        flag.acknowledged_at = None
        flag.acknowledged_by = None
        flag.severity = firing.severity
        flag.reason = firing.reason
        flag.values = firing.values
        # Raised again today: the inbox, digest and notification keys all read it as new. The
        # health measure of open flags still counts it from when it first fired (it was open
        # all along), so scoring the same day twice gives the same score.
        flag.first_raised_at = flag.first_raised_at or flag.raised_at
        flag.raised_at = now
    RedFlag.objects.bulk_update(
        flags,
        [
            "status",
            "snoozed_until",
            "acknowledged_at",
            "acknowledged_by",
            "severity",
            "reason",
            "values",
            "raised_at",
            "first_raised_at",
        ],
    )
    return [(flag.pk, (flag.rule_id, flag.account_id)) for flag in flags]


# --- the owner's workflow ------------------------------------------------------


def can_act_on_flag(user: User, flag: RedFlag) -> bool:
    """Whoever may change the account may work its flags (users.permissions)."""
    return can_edit_account(user, flag.account)


def flag_for_action(user: User, pk: int) -> RedFlag:
    """The flag, if it exists (else 404, also for an id that is not a number) and `user` may act on it (else 403)."""
    try:
        flag = get_object_or_404(RedFlag.objects.select_related("account__owner", "rule"), pk=pk)
    except (ValueError, TypeError, OverflowError) as error:
        raise Http404("No such flag.") from error
    if not can_act_on_flag(user, flag):
        raise PermissionDenied("You cannot act on this account's flags.")
    return flag


def _locked(actor: User, flag: RedFlag, *, allowed_from: Iterable[str], verb: str) -> RedFlag:
    # OF self: PostgreSQL cannot lock the nullable side of the outer join to the owner.
    locked = RedFlag.objects.select_for_update(of=("self",)).select_related("account__owner", "rule").get(pk=flag.pk)
    if not can_act_on_flag(actor, locked):
        raise PermissionDenied("You cannot act on this account's flags.")
    if locked.status not in allowed_from:
        raise ValidationError(f"This flag is {locked.get_status_display().lower()}; it cannot be {verb}.")
    return locked


@transaction.atomic
def flag_acknowledge(*, actor: User, flag: RedFlag) -> RedFlag:
    """ "I have seen it and I am on it": stays in the inbox, no longer new."""
    locked = _locked(actor, flag, allowed_from=[FlagStatus.OPEN, FlagStatus.SNOOZED], verb="acknowledged")
    locked.status = FlagStatus.ACKNOWLEDGED
    locked.acknowledged_at = timezone.now()
    locked.acknowledged_by = actor
    locked.snoozed_until = None
    locked.save(update_fields=["status", "acknowledged_at", "acknowledged_by", "snoozed_until"])
    timeline_system_event(
        account=locked.account, event="flag_acknowledged", summary=f"Red flag acknowledged: {locked.rule}", actor=actor
    )
    events.announce(FlagAcknowledged(flag_id=locked.pk, account_id=locked.account_id, actor_id=actor.pk))
    return locked


@transaction.atomic
def flag_snooze(*, actor: User, flag: RedFlag, until: dt.date) -> RedFlag:
    """Quiet until the morning of `until`; if the rule still fires then, the flag re-opens and notifies again."""
    today = timezone.localdate()
    if until <= today:
        raise ValidationError({"until": "Snooze until a date in the future."})
    if until > today + dt.timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationError({"until": f"Snooze for at most {MAX_SNOOZE_DAYS} days."})
    locked = _locked(actor, flag, allowed_from=UNRESOLVED, verb="snoozed")
    locked.status = FlagStatus.SNOOZED
    locked.snoozed_until = _start_of(until)
    locked.save(update_fields=["status", "snoozed_until"])
    timeline_system_event(
        account=locked.account,
        event="flag_snoozed",
        summary=f"Red flag snoozed until {until:%d %b %Y}: {locked.rule}",
        actor=actor,
    )
    events.announce(FlagSnoozed(flag_id=locked.pk, account_id=locked.account_id, actor_id=actor.pk, until=until))
    return locked


@transaction.atomic
def flag_resolve(*, actor: User, flag: RedFlag, note: str) -> RedFlag:
    """Done with it, saying what was done. If the rule fires again later, a new flag is raised."""
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": "Say what was done to resolve the flag."})
    locked = _locked(actor, flag, allowed_from=UNRESOLVED, verb="resolved")
    locked.status = FlagStatus.RESOLVED
    locked.resolved_at = timezone.now()
    locked.resolved_by = actor
    locked.resolution_note = note
    locked.snoozed_until = None
    locked.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note", "snoozed_until"])
    timeline_system_event(
        account=locked.account,
        event="flag_resolved",
        summary=f"Red flag resolved: {locked.rule}",
        body=note,
        actor=actor,
    )
    events.announce(FlagResolved(flag_id=locked.pk, account_id=locked.account_id, actor_id=actor.pk))
    return locked


@transaction.atomic
def flags_reassign(*, account: Account, to_user: User | None, created_by_system_only: bool) -> int:
    """Move the account's unresolved flags to its new owner (handovers); returns how many moved.

    Every red flag is raised by the rule engine, so it is system-created work
    and moves under both handover policies: `created_by_system_only` exists so
    the handover can pass its policy to every kind of work alike.
    """
    flags = RedFlag.objects.filter(account=account, status__in=UNRESOLVED)
    if to_user is not None:
        flags = flags.filter(Q(owner__isnull=True) | ~Q(owner=to_user))
    else:
        flags = flags.filter(owner__isnull=False)
    return flags.update(owner=to_user)


# --- configuration ---------------------------------------------------------------

RULE_FIELDS = ("name", "kind", "severity", "params", "tier", "stage", "active", "start_playbook")


def _require_configure(actor: User) -> None:
    if not can_configure(actor):
        raise PermissionDenied("Only admins configure alert rules.")


@transaction.atomic
def alert_rule_create(*, actor: User, fields: dict) -> AlertRule:
    _require_configure(actor)
    values = {k: v for k, v in fields.items() if k in RULE_FIELDS}
    validate_params(values.get("kind", ""), values.get("params") or {})
    rule = AlertRule(**values)
    rule.full_clean()
    rule.save()
    return rule


@transaction.atomic
def alert_rule_update(*, actor: User, rule: AlertRule, fields: dict) -> AlertRule:
    """Change a rule; flags it already raised keep the reason and severity they were raised with."""
    _require_configure(actor)
    for name, value in fields.items():
        if name in RULE_FIELDS:
            setattr(rule, name, value)
    validate_params(rule.kind, rule.params or {})
    rule.full_clean()
    rule.save()
    return rule


# --- the flood guard ---------------------------------------------------------------


@transaction.atomic
def flood_guard_check(*, day: dt.date, run_started_at: dt.datetime, notify: bool = True) -> list[int]:
    """When the nightly run for `day` finishes: a warning for each rule that flagged more than the flood share of the book.

    Never a cap: the run has raised every flag, this only counts them. A rule's new flags of that
    night are those raised on `day` or since the run began (a run may cross midnight), not the
    snoozed ones it woke (first_raised_at set). The book is every account not churned. Run again
    the same day, it updates the counts, and a warning whose count grew comes back even if it was
    acknowledged. Announces FloodWarningsRaised for the warnings written or re-opened, whose ids
    it returns. Three queries, and a few more only when a rule floods.
    """
    limit = AlertSettings.objects.current().flood_share
    book = Account.objects.active().count()
    if not book:
        return []
    that_night = Q(raised_at__gte=_start_of(day), raised_at__lt=_start_of(day + dt.timedelta(days=1))) | Q(
        raised_at__gte=run_started_at
    )
    counts = (
        RedFlag.objects.filter(that_night, first_raised_at__isnull=True)
        .values("rule_id")
        .annotate(n=Count("pk"))
        .values_list("rule_id", "n")
    )
    flooded = {rule_id: n for rule_id, n in counts if n > limit * book}
    if not flooded:
        return []
    known = {
        warning.rule_id: warning
        for warning in FloodWarning.objects.select_for_update().filter(day=day, rule_id__in=flooded).order_by("pk")
    }
    now = timezone.now()
    news: list[int] = []
    for rule_id, fired in sorted(flooded.items()):
        # Rounded up, so a share just above the limit never shows as the limit itself.
        share = (Decimal(fired) / book).quantize(Decimal("0.0001"), rounding=ROUND_UP)
        warning = known.get(rule_id)
        if warning is None:
            warning = FloodWarning.objects.create(
                rule_id=rule_id, day=day, fired=fired, book_size=book, share=share, limit=limit, created_at=now
            )
        elif fired > warning.fired:
            FloodWarning.objects.filter(pk=warning.pk).update(
                fired=fired, book_size=book, share=share, limit=limit, acknowledged_at=None, acknowledged_by=None
            )
        else:
            continue
        news.append(warning.pk)
    if news:
        events.announce(FloodWarningsRaised(warning_ids=tuple(news), day=day, notify=notify))
    return news


def flood_warning_for_action(user: User, pk: int) -> FloodWarning:
    """The warning, if it exists (else 404) and `user` oversees alerts (else 403)."""
    if not oversees_alerts(user):
        raise PermissionDenied("Only admins and managers acknowledge flood warnings.")
    return get_object_or_404(FloodWarning.objects.select_related("rule"), pk=pk)


@transaction.atomic
def flood_warning_acknowledge(*, actor: User, warning: FloodWarning) -> FloodWarning:
    """Seen by an admin or a manager: it leaves the inbox's banner. Acknowledging twice keeps the first."""
    if not oversees_alerts(actor):
        raise PermissionDenied("Only admins and managers acknowledge flood warnings.")
    acknowledged = FloodWarning.objects.filter(pk=warning.pk, acknowledged_at__isnull=True).update(
        acknowledged_at=timezone.now(), acknowledged_by=actor
    )
    if acknowledged:
        audit_record(
            actor=actor,
            action=AuditAction.FLOOD_WARNING_ACKNOWLEDGED,
            subject=warning,
            reason=f"{warning.rule.name}: {counted(warning.fired, 'new flag')} on {warning.day}",
        )
    return FloodWarning.objects.select_related("rule", "acknowledged_by").get(pk=warning.pk)


@transaction.atomic
def alert_settings_update(*, actor: User, flood_share: Decimal | float | str) -> AlertSettings:
    """Set the flood share: above 0 and at most 1, to three places. The row says who set it and when."""
    if not can_configure(actor):
        raise PermissionDenied("Only admins configure alert rules.")
    try:
        share = Decimal(str(flood_share))
    except InvalidOperation:
        raise ValidationError({"flood_share": f"{flood_share!r} is not a number."}) from None
    if not share.is_finite() or not 0 < share <= 1:
        raise ValidationError({"flood_share": "The flood share is a share of the book: above 0 and at most 1."})
    current = AlertSettings.objects.select_for_update().filter(pk=AlertSettings.SINGLETON_PK).first()
    current = current or AlertSettings(pk=AlertSettings.SINGLETON_PK)
    before = current.flood_share
    current.flood_share = share
    current.updated_by = actor
    current.full_clean()
    current.save()
    if before != share:
        audit_record(
            actor=actor,
            action=AuditAction.ALERT_SETTINGS_CHANGED,
            subject=current,
            changes={"flood_share": (before, share)},
        )
    return current
