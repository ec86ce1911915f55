"""Writes to accounts, contacts and the timeline.

Each function is one unit of work: it runs in a transaction and writes its own
audit and timeline records, so no caller can forget them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.events import AccountChanged, ContactChanged, TimelineEntryLogged
from accounts.money.refresh import converted_arr_refresh
from accounts.segments.rules import RULE_INPUT_FIELDS, tier_by_rules
from core import events
from users.models import Team, User, display_name

from .models import (
    TERMS_FIELDS,
    Account,
    AccountTerms,
    AuditAction,
    AuditEvent,
    Contact,
    Coverage,
    Stage,
    TermsSource,
    TierSource,
    TimelineEntry,
    TimelineKind,
)

ACCOUNT_EDITABLE_FIELDS = (
    "name",
    "domain",
    "external_id",
    "industry",
    "region",
    "employee_band",
    "arr",
    "currency",
    "contract_start",
    "renewal_date",
    "fiscal_year_start_month",
    "tier",
    "tier_source",
    "tier_reason",
    "why_they_bought",
    "tech_stack_notes",
)
CONTACT_EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "chat_handle",
    "deal_role",
    "influence",
    "sentiment",
    "reports_to",
    "last_verified_at",
    "departed",
    "departed_at",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "pk"):
        return value.pk
    return value


def audit_event(
    *,
    actor: User | None,
    action: str,
    subject: Any,
    account: Account | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None,
    reason: str = "",
) -> AuditEvent:
    """An unsaved audit record: for a service that writes many at once with bulk_create."""
    return AuditEvent(
        actor=actor,
        actor_name=display_name(actor),
        account=account,
        action=action,
        subject_type=subject._meta.model_name,
        subject_id=subject.pk,
        changes={field: [_jsonable(old), _jsonable(new)] for field, (old, new) in (changes or {}).items()},
        reason=reason,
    )


def audit_record(
    *,
    actor: User | None,
    action: str,
    subject: Any,
    account: Account | None = None,
    changes: dict[str, tuple[Any, Any]] | None = None,
    reason: str = "",
) -> AuditEvent:
    event = audit_event(actor=actor, action=action, subject=subject, account=account, changes=changes, reason=reason)
    event.save()
    return event


def timeline_system_entry(
    *, account: Account, event: str, summary: str, actor: User | None = None, body: str = ""
) -> TimelineEntry:
    """An unsaved system event for the timeline: for a service that writes many at once with bulk_create."""
    return TimelineEntry(
        account=account, kind=TimelineKind.SYSTEM, event=event, summary=summary, body=body, author=actor
    )


def timeline_system_event(
    *, account: Account, event: str, summary: str, actor: User | None = None, body: str = ""
) -> TimelineEntry:
    entry = timeline_system_entry(account=account, event=event, summary=summary, actor=actor, body=body)
    entry.save()
    return entry


def account_terms_record(
    accounts: Iterable[Account], *, actor: User | None, source: str, effective_at: dt.datetime | None = None
) -> list[AccountTerms]:
    """Keep the terms the accounts now have as dated rows, one INSERT for any number of accounts.

    Called by every service that creates an account or changes one of TERMS_FIELDS, inside its
    transaction, so the history never misses a change nor holds one that was rolled back.
    """
    effective_at = effective_at or timezone.now()
    return AccountTerms.objects.bulk_create(
        [
            AccountTerms(
                account=account,
                effective_at=effective_at,
                recorded_by=actor,
                source=source,
                **{field: getattr(account, field) for field in TERMS_FIELDS},
            )
            for account in accounts
        ]
    )


def _apply_changes(instance: Any, fields: dict[str, Any], allowed: Iterable[str]) -> dict[str, tuple[Any, Any]]:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise ValidationError(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    changes = {}
    for field, new in fields.items():
        old = getattr(instance, field)
        if old != new:
            changes[field] = (old, new)
            setattr(instance, field, new)
    return changes


def _validate_coverage(*, coverage: str, owner: User | None, pool: Team | None) -> None:
    if coverage == Coverage.ASSIGNED and owner is None:
        raise ValidationError({"owner": "An account with an assigned CSM needs an owner."})
    if coverage == Coverage.POOLED and pool is None:
        raise ValidationError({"pool": "A pooled account needs a team."})
    if owner is not None and not owner.is_active:
        raise ValidationError({"owner": f"{owner} is no longer active."})


def _tier_by_hand(account: Account, fields: dict[str, Any], changes: dict[str, tuple[Any, Any]]) -> None:
    """A tier set by hand overrides the rules; `tier_source` "rules" lets them decide again.

    Called after the fields are applied: a changed tier (or one sent with `tier_source` "manual")
    becomes an override; letting the rules decide clears the override's reason.
    """
    source = fields.get("tier_source")
    if source == TierSource.RULES and "tier" in changes:
        raise ValidationError({"tier": "Either set the tier by hand or let the rules decide, not both."})
    if source != TierSource.RULES and "tier" in changes and account.tier_source != TierSource.MANUAL:
        changes["tier_source"] = (account.tier_source, TierSource.MANUAL)
        account.tier_source = TierSource.MANUAL
    if account.tier_source == TierSource.RULES and account.tier_reason:
        changes["tier_reason"] = (changes.get("tier_reason", (account.tier_reason,))[0], "")
        account.tier_reason = ""


def _tier_from_rules(account: Account, changes: dict[str, tuple[Any, Any]]) -> str:
    """Let the rules set the saved account's tier (unless it was set by hand); the reason to audit, if they moved it."""
    if account.tier_source != TierSource.RULES:
        return ""
    decision = tier_by_rules(account.pk)
    if decision.tier is None or decision.tier == account.tier:
        return ""
    changes["tier"] = (changes.get("tier", (account.tier,))[0], decision.tier)
    account.tier = decision.tier
    Account.objects.filter(pk=account.pk).update(tier=decision.tier)
    return f"Tier from the rules. {decision.explain()}"


# A moment a client sends as "now" may run slightly ahead of the server's clock.
CLOCK_SKEW = dt.timedelta(minutes=5)


def _validate_starting_stage(stage: str, entered_at: dt.datetime | None) -> None:
    if stage not in Stage.values:
        raise ValidationError({"stage": f"Unknown stage {stage!r}."})
    if stage == Stage.CHURNED:
        raise ValidationError({"stage": "An account cannot start churned: create it, then record the churn."})
    if entered_at is not None and entered_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"stage_entered_at": "An account cannot enter a stage in the future."})


@transaction.atomic
def account_create(
    *,
    actor: User,
    fields: dict[str, Any],
    coverage: str = Coverage.ASSIGNED,
    owner: User | None = None,
    pool: Team | None = None,
    tags: Iterable[Any] = (),
    stage: str | None = None,
    stage_entered_at: dt.datetime | None = None,
) -> Account:
    """A new account; `stage` and `stage_entered_at` say where an imported customer already is and since when.

    Without them it starts in onboarding now. The rules count a stage from `stage_entered_at`, so a
    long-standing customer imported into success is not judged as onboarding since its first contract.
    """
    _validate_coverage(coverage=coverage, owner=owner, pool=pool)
    starting: dict[str, Any] = {}
    if stage is not None or stage_entered_at is not None:
        _validate_starting_stage(stage or Stage.ONBOARDING, stage_entered_at)
        starting["stage"] = stage or Stage.ONBOARDING
        if stage_entered_at is not None:
            starting["stage_entered_at"] = min(stage_entered_at, timezone.now())
    account = Account(coverage=coverage, owner=owner, pool=pool, **starting)
    # A tier sent with the new account is set by hand; without one the rules decide it.
    initial = _apply_changes(account, fields, ACCOUNT_EDITABLE_FIELDS)
    if "tier" in fields:
        initial.setdefault("tier", (None, account.tier))
    _tier_by_hand(account, fields, initial)
    account.full_clean()
    account.save()
    account.tags.set(tags)
    converted_arr_refresh(account_ids=[account.pk])
    account.refresh_from_db(fields=["arr_reporting"])
    ruled = _tier_from_rules(account, {})
    account_terms_record([account], actor=actor, source=TermsSource.CREATED, effective_at=account.created_at)
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_CREATED,
        subject=account,
        account=account,
        changes={name: (None, value) for name, value in starting.items()},
        reason=ruled,
    )
    body = ""
    if starting:
        body = f"In {account.get_stage_display()} since {timezone.localtime(account.stage_entered_at):%d %b %Y}."
    timeline_system_event(
        account=account, event="account_created", summary=f"Account created by {actor}", actor=actor, body=body
    )
    events.announce(AccountChanged(account_id=account.pk, fields=frozenset([*fields, *starting]), created=True))
    return account


@transaction.atomic
def account_delete(*, actor: User, account: Account, reason: str = "") -> None:
    """Delete an account and everything that hangs off it, leaving an audit record of what it was.

    The record outlives the account (its account link empties; subject type and id stay), so an
    auditor can still see who deleted which customer, when, and with what terms.
    """
    audit_record(
        actor=actor,
        action=AuditAction.ACCOUNT_DELETED,
        subject=account,
        changes={
            name: (str(getattr(account, name)), None)
            for name in ("name", "domain", "external_id", "owner_id", "pool_id", "stage", "arr", "currency")
        },
        reason=reason,
    )
    account.delete()


@transaction.atomic
def account_update(
    *, actor: User, account: Account, fields: dict[str, Any], tags: Iterable[Any] | None = None
) -> Account:
    changes = _apply_changes(account, fields, ACCOUNT_EDITABLE_FIELDS)
    _tier_by_hand(account, fields, changes)
    account.full_clean()
    if changes:
        account.save(update_fields=[*changes, "updated_at"])
        if {"arr", "currency"} & set(changes):
            converted_arr_refresh(account_ids=[account.pk])
            account.refresh_from_db(fields=["arr_reporting"])
        # The rules decide again when what they read changed, or when someone let them decide.
        ruled = ""
        if set(changes) & (RULE_INPUT_FIELDS | {"tier_source"}):
            ruled = _tier_from_rules(account, changes)
        if set(changes) & set(TERMS_FIELDS):
            account_terms_record([account], actor=actor, source=TermsSource.EDITED, effective_at=account.updated_at)
        audit_record(
            actor=actor,
            action=AuditAction.ACCOUNT_UPDATED,
            subject=account,
            account=account,
            changes=changes,
            reason=ruled,
        )
        events.announce(AccountChanged(account_id=account.pk, fields=frozenset(changes)))
    if tags is not None:
        account.tags.set(tags)
    return account


@transaction.atomic
def account_reassign(
    *,
    actor: User,
    account: Account,
    coverage: str,
    owner: User | None,
    pool: Team | None,
    reason: str,
) -> Account:
    """Change who covers an account; the audit trail says who, when and why."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the account changes hands."})
    _validate_coverage(coverage=coverage, owner=owner, pool=pool)
    account = Account.objects.select_for_update().get(pk=account.pk)
    previous_label = account.covered_by_label
    changes = _apply_changes(
        account, {"coverage": coverage, "owner": owner, "pool": pool}, ("coverage", "owner", "pool")
    )
    if not changes:
        raise ValidationError("The account is already covered that way.")
    account.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.OWNER_CHANGED,
        subject=account,
        account=account,
        changes=changes,
        reason=reason,
    )
    timeline_system_event(
        account=account,
        event="owner_changed",
        summary=f"Coverage changed from {previous_label} to {account.covered_by_label}",
        body=reason,
        actor=actor,
    )
    events.announce(AccountChanged(account_id=account.pk, fields=frozenset(changes)))
    return account


def _validate_reports_to(contact: Contact) -> None:
    manager = contact.reports_to
    if manager is None:
        return
    if manager.account_id != contact.account_id:
        raise ValidationError({"reports_to": "A contact can only report to someone at the same account."})
    seen = {contact.pk} if contact.pk else set()
    while manager is not None:
        if manager.pk in seen:
            raise ValidationError({"reports_to": "That would make the org chart go round in a circle."})
        seen.add(manager.pk)
        manager = manager.reports_to


@transaction.atomic
def contact_create(*, actor: User, account: Account, fields: dict[str, Any]) -> Contact:
    contact = Contact(account=account)
    _apply_changes(contact, fields, CONTACT_EDITABLE_FIELDS)
    _validate_reports_to(contact)
    contact.full_clean()
    contact.save()
    audit_record(actor=actor, action=AuditAction.CONTACT_CREATED, subject=contact, account=account)
    events.announce(
        ContactChanged(
            contact_id=contact.pk,
            account_id=account.pk,
            fields=frozenset(fields),
            created=True,
            departed=contact.departed,
        )
    )
    return contact


@transaction.atomic
def contact_update(*, actor: User, contact: Contact, fields: dict[str, Any]) -> Contact:
    changes = _apply_changes(contact, fields, CONTACT_EDITABLE_FIELDS)
    _validate_reports_to(contact)
    if "departed" in changes and contact.departed and contact.departed_at is None:
        contact.departed_at = timezone.localdate()
        changes["departed_at"] = (None, contact.departed_at)
    contact.full_clean()
    if changes:
        contact.save(update_fields=[*changes, "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.CONTACT_UPDATED,
            subject=contact,
            account=contact.account,
            changes=changes,
        )
        if "departed" in changes and contact.departed:
            timeline_system_event(
                account=contact.account,
                event="contact_departed",
                summary=f"{contact.full_name} ({contact.get_deal_role_display() or 'contact'}) left the company",
                actor=actor,
            )
        events.announce(
            ContactChanged(
                contact_id=contact.pk,
                account_id=contact.account_id,
                fields=frozenset(changes),
                departed="departed" in changes and contact.departed,
            )
        )
    return contact


@transaction.atomic
def contact_verify(*, actor: User, contact: Contact) -> Contact:
    """Record that someone confirmed this contact's details are current."""
    return contact_update(actor=actor, contact=contact, fields={"last_verified_at": timezone.now()})


@transaction.atomic
def contact_archive(*, actor: User, contact: Contact, reason: str = "") -> Contact:
    """Take a contact off the people map without losing their history; idempotent.

    Contacts are never deleted: touchpoints they took part in, their survey answers and the people who
    report to them keep pointing at them. Stakeholder coverage stops counting them (health recomputes).
    """
    contact = Contact.objects.select_for_update().select_related("account").get(pk=contact.pk)
    if contact.archived_at is not None:
        return contact
    reason = reason.strip()
    contact.archived_at = timezone.now()
    contact.archived_by = actor
    contact.archive_reason = reason
    contact.save(update_fields=["archived_at", "archived_by", "archive_reason", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CONTACT_ARCHIVED,
        subject=contact,
        account=contact.account,
        changes={"archived_at": (None, contact.archived_at)},
        reason=reason,
    )
    timeline_system_event(
        account=contact.account,
        event="contact_archived",
        summary=f"{contact.full_name} archived from the people map",
        body=reason,
        actor=actor,
    )
    events.announce(
        ContactChanged(contact_id=contact.pk, account_id=contact.account_id, fields=frozenset({"archived_at"}))
    )
    return contact


@transaction.atomic
def contact_restore(*, actor: User, contact: Contact, reason: str = "") -> Contact:
    """Put an archived contact back on the people map; idempotent."""
    contact = Contact.objects.select_for_update().select_related("account").get(pk=contact.pk)
    if contact.archived_at is None:
        return contact
    archived_at = contact.archived_at
    contact.archived_at = None
    contact.archived_by = None
    contact.archive_reason = ""
    contact.save(update_fields=["archived_at", "archived_by", "archive_reason", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.CONTACT_RESTORED,
        subject=contact,
        account=contact.account,
        changes={"archived_at": (archived_at, None)},
        reason=reason.strip(),
    )
    timeline_system_event(
        account=contact.account,
        event="contact_restored",
        summary=f"{contact.full_name} restored to the people map",
        body=reason.strip(),
        actor=actor,
    )
    events.announce(
        ContactChanged(contact_id=contact.pk, account_id=contact.account_id, fields=frozenset({"archived_at"}))
    )
    return contact


@transaction.atomic
def timeline_note_add(
    *, actor: User, account: Account, summary: str, body: str = "", risk_tag: str = ""
) -> TimelineEntry:
    """An internal note, or a risk tag when `risk_tag` is given."""
    entry = TimelineEntry(
        account=account,
        kind=TimelineKind.RISK if risk_tag else TimelineKind.NOTE,
        risk_tag=risk_tag,
        summary=summary,
        body=body,
        author=actor,
    )
    entry.full_clean()
    entry.save()
    events.announce(TimelineEntryLogged(entry_id=entry.pk, account_id=account.pk, kind=entry.kind))
    return entry


@transaction.atomic
def touchpoint_log(
    *,
    actor: User | None,
    account: Account,
    channel: str,
    occurred_at: dt.datetime,
    summary: str,
    body: str = "",
    sentiment: str = "",
    participants: Iterable[Contact] = (),
) -> TimelineEntry:
    participants = list(participants)
    if not channel:
        raise ValidationError({"channel": "Say how the touchpoint happened: call, meeting, email, chat or QBR."})
    if any(contact.account_id != account.pk for contact in participants):
        raise ValidationError({"participants": "Participants must be contacts of this account."})
    if occurred_at > timezone.now() + dt.timedelta(minutes=5):
        raise ValidationError({"occurred_at": "A touchpoint cannot be logged in the future."})
    entry = TimelineEntry(
        account=account,
        kind=TimelineKind.TOUCHPOINT,
        channel=channel,
        occurred_at=occurred_at,
        summary=summary,
        body=body,
        sentiment=sentiment,
        author=actor,
    )
    entry.full_clean()
    entry.save()
    entry.participants.set(participants)
    events.announce(TimelineEntryLogged(entry_id=entry.pk, account_id=account.pk, kind=entry.kind))
    return entry
