"""Customer emails from a handover step, through the outbox.

`task_email_send` writes one personalised OutboundEmail per contact (what is
sent to whom; the task page shows its status) and announces
CustomerEmailsQueued. Sending is not done here: the app that delivers email
(notifications) subscribes, sends each one after commit with its retries and
backoff, claims the row for each attempt through `outbound_email_mark_sending`
and reports every outcome back through `outbound_email_mark_sent` and
`outbound_email_mark_failed`. A sent email lands on the account timeline.

**Sent, but not recorded.** A mail server cannot be asked afterwards whether
it took a message, so an attempt that stops between handing the email over and
recording it (a worker killed mid-send, the status write refused by a locked
database until its retries ran out) leaves no way to know whether the customer
has it. Sending it again by itself would risk a second copy of a customer-facing
email; not sending it would risk silence. Baton chooses at most once, made
visible: each attempt first marks the row "sending" with the time it started;
an attempt that finds the row still "sending" from an earlier one does not send,
and `outbound_emails_sweep` (beat) turns a row "sending" for longer than any
attempt takes into "not confirmed", with the reason, on the task and the board.
The sender checks with the customer and presses "Send again" if it never came.
A row that stays queued for a day (nothing was able to attempt it) is marked
failed with its reason, so nothing stays "queued" for good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, Channel, Contact, TimelineEntry
from accounts.services import audit_event, timeline_system_entry, touchpoint_log
from core import events
from core.db_retry import retry_when_locked
from users.models import User
from users.permissions import can_complete_transition_task

from .. import emails
from ..events import CustomerEmailsQueued
from ..models import (
    ACTIVE_STATUSES,
    EMAIL_NEEDS_ATTENTION,
    OutboundEmail,
    OutboundEmailStatus,
    PlaybookKind,
    TaskStatus,
    Transition,
    TransitionStatus,
    TransitionTask,
)
from .steps import _locked_task, _require_task_access, _runs_finish, task_complete
from .transitions import _person


def email_context(
    task: TransitionTask,
    contact: Contact | None,
    call_date: dt.datetime | dt.date | None,
) -> emails.EmailContext:
    transition = task.transition
    return emails.EmailContext(
        contact_first_name=contact.first_name if contact else "",
        account=transition.account.name,
        outgoing_csm=_person(transition.from_csm),
        incoming_csm=_person(transition.to_csm),
        call_date=call_date,
    )


@transaction.atomic
def task_email_send(
    *,
    actor: User,
    task: TransitionTask,
    contacts: Sequence[Contact],
    subject: str,
    body: str,
    call_date: dt.datetime | dt.date | None = None,
) -> list[OutboundEmail]:
    """Put one personalised email per contact in the outbox and complete the step.

    The emails are sent after this transaction commits (CustomerEmailsQueued);
    each one's status, a failure's error and its attempts show on the task.
    """
    locked, transition = _locked_task(task)
    _require_task_access(actor, locked, transition)
    if not locked.has_email:
        raise ValidationError("This step has no email.")
    if not subject.strip() or not body.strip():
        raise ValidationError("The email needs a subject and a body.")
    contacts = list(contacts)
    if not contacts:
        raise ValidationError({"contacts": "Choose at least one contact to write to."})
    for contact in contacts:
        if contact.account_id != transition.account_id:
            raise ValidationError({"contacts": "Write only to this account's contacts."})
        if not contact.email or contact.departed:
            raise ValidationError({"contacts": f"{contact.full_name} has no current email address."})
    locked.transition = Transition.objects.select_related("account", "from_csm", "to_csm").get(pk=transition.pk)
    outbox = []
    for contact in contacts:
        context = email_context(locked, contact, call_date)
        outbox.append(
            OutboundEmail(
                account_id=transition.account_id,
                task=locked,
                contact=contact,
                to_email=contact.email,
                subject=emails.render(subject, context, field="subject").replace("\n", " ")[:200],
                body=emails.render(body, context, field="body"),
                created_by=actor,
            )
        )
    OutboundEmail.objects.bulk_create(outbox)
    events.announce(CustomerEmailsQueued(email_ids=tuple(email.pk for email in outbox)))
    task_complete(actor=actor, task=locked)
    return outbox


# --- the introduction email to several accounts at once -------------------------------------------------------


@dataclass(frozen=True)
class IntroEmailDraft:
    """One account's introduction email as the incoming CSM left it on the review page."""

    task_id: int
    contact_ids: tuple[int, ...]
    subject: str
    body: str


class IntroEmailsInvalid(ValidationError):
    """Some drafts cannot be sent; nothing was. `by_task` says what is wrong with each, by step id."""

    def __init__(self, by_task: dict[int, list[str]]):
        self.by_task = by_task
        super().__init__(
            f"Nothing was sent: {len(by_task)} email(s) need a correction.",
            code="invalid",
        )


def _draft_problems(draft: IntroEmailDraft, task: TransitionTask, contacts: dict[int, Contact]) -> list[str]:
    transition = task.transition
    if task.status != TaskStatus.OPEN or not transition.is_active:
        return [f"“{task.title}” is no longer open: it was sent or its handover ended."]
    if not task.has_email or transition.kind != PlaybookKind.HANDOVER:
        return [f"“{task.title}” is not a handover's customer email."]
    problems = []
    if not draft.subject.strip():
        problems.append("Write a subject.")
    if not draft.body.strip():
        problems.append("Write the email: the body is empty.")
    for text, name in ((draft.subject, "subject"), (draft.body, "body")):
        try:
            emails.validate_template(text, field=name)
        except ValidationError as error:
            problems.extend(error.messages)
    if not draft.contact_ids:
        problems.append("Choose at least one contact to write to.")
    for contact_id in draft.contact_ids:
        contact = contacts.get(contact_id)
        if contact is None or contact.account_id != transition.account_id:
            problems.append("Write only to this account's contacts.")
            continue
        if contact.departed or not contact.email:
            problems.append(f"{contact.full_name} has no current email address.")
            continue
        try:
            validate_email(contact.email)
        except ValidationError:
            problems.append(f"{contact.full_name}'s address “{contact.email}” is not a valid email address.")
    return problems


@transaction.atomic
def intro_emails_send(*, actor: User, drafts: Sequence[IntroEmailDraft]) -> list[OutboundEmail]:
    """Send several handovers' introduction emails in one go, each as its account's own: all of them, or none.

    Each draft is checked first (open step, the actor's to send, subject, body,
    placeholders, recipients with valid addresses); any problem refuses the whole
    batch with IntroEmailsInvalid naming every draft's problems. Then, as a single
    send does: one personalised outbox row per recipient, the step done, a timeline
    entry and an audit row per step, CustomerEmailsQueued announced (sent after
    commit), and any handover whose last required step this was completed (or left
    awaiting a manager's confirmation). A fixed number of queries for any number of
    accounts (inserts are batched).
    """
    if not drafts:
        raise ValidationError("Choose at least one account to write to.")
    task_ids = sorted({draft.task_id for draft in drafts})
    if len(task_ids) != len(drafts):
        raise ValidationError("Each account's email can be sent once.")
    transition_ids = list(
        TransitionTask.objects.filter(pk__in=task_ids)
        .order_by("transition_id")
        .values_list("transition_id", flat=True)
        .distinct()
    )
    # Locked in pk order, as completing steps locks them, so a send and a tick on the same run queue up.
    list(
        Transition.objects.select_for_update(of=("self",))
        .filter(pk__in=transition_ids)
        .order_by("pk")
        .values_list("pk")
    )
    tasks = TransitionTask.objects.select_related(
        "transition__account__owner", "transition__from_csm", "transition__to_csm", "transition__playbook"
    ).in_bulk(task_ids)
    if len(tasks) != len(task_ids):
        raise ValidationError("Some of these steps no longer exist; reload the page.")
    for task in tasks.values():
        account = task.transition.account
        if not can_complete_transition_task(actor, assignee_id=task.assignee_id, account=account):
            raise PermissionDenied(f"The email to {account.name} is someone else's to send.")
    contacts = Contact.objects.in_bulk({pk for draft in drafts for pk in draft.contact_ids})
    problems = {
        draft.task_id: found for draft in drafts if (found := _draft_problems(draft, tasks[draft.task_id], contacts))
    }
    if problems:
        raise IntroEmailsInvalid(problems)

    outbox = []
    for draft in drafts:
        task = tasks[draft.task_id]
        for contact_id in dict.fromkeys(draft.contact_ids):
            contact = contacts[contact_id]
            context = email_context(task, contact, None)
            outbox.append(
                OutboundEmail(
                    account_id=task.transition.account_id,
                    task=task,
                    contact=contact,
                    to_email=contact.email,
                    subject=emails.render(draft.subject, context, field="subject").replace("\n", " ")[:200],
                    body=emails.render(draft.body, context, field="body"),
                    created_by=actor,
                )
            )
    OutboundEmail.objects.bulk_create(outbox)
    now = timezone.now()
    TransitionTask.objects.filter(pk__in=task_ids, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, completed_at=now, completed_by=actor
    )
    Transition.objects.filter(pk__in=transition_ids, status=TransitionStatus.PLANNED).update(
        status=TransitionStatus.IN_PROGRESS
    )
    sent_to = {draft.task_id: len(set(draft.contact_ids)) for draft in drafts}
    TimelineEntry.objects.bulk_create(
        timeline_system_entry(
            account=tasks[task_id].transition.account,
            event="transition_step",
            summary=f"Handover step done: {tasks[task_id].title}",
            actor=actor,
        )
        for task_id in task_ids
    )
    AuditEvent.objects.bulk_create(
        audit_event(
            actor=actor,
            action=AuditAction.TRANSITION_CHANGED,
            subject=tasks[task_id].transition,
            account=tasks[task_id].transition.account,
            changes={f"step {tasks[task_id].position} ({tasks[task_id].title})": (TaskStatus.OPEN, TaskStatus.DONE)},
            reason=f"Introduction email to {sent_to[task_id]} contact(s), one of {len(task_ids)} reviewed and "
            "sent at once.",
        )
        for task_id in task_ids
    )
    events.announce(CustomerEmailsQueued(email_ids=tuple(email.pk for email in outbox)))
    finished = list(
        Transition.objects.filter(pk__in=transition_ids, status__in=ACTIVE_STATUSES)
        .exclude(
            Exists(TransitionTask.objects.filter(transition=OuterRef("pk"), status=TaskStatus.OPEN, required=True))
        )
        .select_related("account", "playbook", "to_csm")
        .order_by("pk")
    )
    if finished:
        _runs_finish(
            actor=actor,
            transitions=finished,
            last_steps_done={task.transition_id for task in tasks.values() if task.required},
        )
    return outbox


@transaction.atomic
def outbound_email_retry(*, actor: User, email: OutboundEmail) -> OutboundEmail:
    """Queue a failed email again, or one whose sending was never confirmed once its sender has checked."""
    email = (
        OutboundEmail.objects.select_for_update(of=("self",)).select_related("account__owner", "task").get(pk=email.pk)
    )
    assignee_id = email.task.assignee_id if email.task else email.created_by_id
    if not can_complete_transition_task(actor, assignee_id=assignee_id, account=email.account):
        raise PermissionDenied("Only the sender or the team's manager can retry this email.")
    if email.status not in EMAIL_NEEDS_ATTENTION:
        raise ValidationError(
            f"Only failed or unconfirmed emails can be sent again; this one is {email.get_status_display().lower()}."
        )
    email.status = OutboundEmailStatus.QUEUED
    email.status_since = timezone.now()
    email.save(update_fields=["status", "status_since"])
    events.announce(CustomerEmailsQueued(email_ids=(email.pk,)))
    return email


# --- attempts and outcomes, reported by whoever sends the email -------------------------------------------------

# Why an email is "not confirmed": shown on the task, the board and the failed deliveries.
UNCONFIRMED_REASON = (
    "An attempt to send it started and never reported back (its worker stopped, or the result could not be "
    "saved). The customer may already have it: check with them before sending it again."
)
# Longer than any attempt takes (the mail server's timeouts are seconds; a claimed delivery is left alone for
# ten minutes), so a row still "sending" after this was abandoned by its attempt.
SENDING_UNCONFIRMED_AFTER = dt.timedelta(minutes=15)
# Longer than every retry of a delivery put together (about nine hours): a row still queued after this was never
# attempted (no worker, no sweep), and is failed so the sender sees it rather than a "queued" that never moves.
QUEUED_FAILED_AFTER = dt.timedelta(hours=24)


@retry_when_locked
@transaction.atomic
def outbound_email_mark_sending(*, email_id: int, at: dt.datetime) -> str:
    """Claim a queued email for one attempt, just before it is handed to the mail server.

    Returns the email's status afterwards: "sending" means this attempt holds it and may send; anything else
    means it must not (sent, failed, or queued again by nobody). An email found still "sending" belongs to an
    earlier attempt that never reported back: it becomes "not confirmed" rather than being sent a second time.
    """
    if OutboundEmail.objects.filter(pk=email_id, status=OutboundEmailStatus.QUEUED).update(
        status=OutboundEmailStatus.SENDING, status_since=at
    ):
        return OutboundEmailStatus.SENDING
    OutboundEmail.objects.filter(pk=email_id, status=OutboundEmailStatus.SENDING).update(
        status=OutboundEmailStatus.UNCONFIRMED, status_since=at, last_error=UNCONFIRMED_REASON
    )
    return OutboundEmail.objects.filter(pk=email_id).values_list("status", flat=True).first() or ""


@transaction.atomic
def outbound_email_mark_sent(*, email_id: int, sent_at: dt.datetime) -> bool:
    """The email went out: it shows as sent on the task and lands on the account timeline.

    Returns False, changing nothing, if it was already marked sent (an outcome reported twice).
    """
    marked = (
        OutboundEmail.objects.filter(pk=email_id)
        .exclude(status=OutboundEmailStatus.SENT)
        .update(
            status=OutboundEmailStatus.SENT,
            sent_at=sent_at,
            status_since=sent_at,
            last_error="",
            attempts=F("attempts") + 1,
        )
    )
    if not marked:
        return False
    email = OutboundEmail.objects.select_related("account", "contact", "created_by").get(pk=email_id)
    touchpoint_log(
        actor=email.created_by,
        account=email.account,
        channel=Channel.EMAIL,
        occurred_at=sent_at,
        summary=f"Email sent: {email.subject}"[:200],
        body=email.body,
        participants=[email.contact] if email.contact else [],
    )
    return True


def outbound_email_mark_failed(*, email_id: int, error: str, will_retry: bool) -> bool:
    """An attempt failed: the error shows on the task; once no retry is left the email is failed and can be retried.

    Only a queued or sending email changes (returns False otherwise): a late report cannot undo a sent one.
    """
    return bool(
        OutboundEmail.objects.filter(
            pk=email_id, status__in=[OutboundEmailStatus.QUEUED, OutboundEmailStatus.SENDING]
        ).update(
            status=OutboundEmailStatus.QUEUED if will_retry else OutboundEmailStatus.FAILED,
            status_since=timezone.now(),
            last_error=error[:2000],
            attempts=F("attempts") + 1,
        )
    )


@retry_when_locked
@transaction.atomic
def outbound_emails_sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """No email stays on its way for good (beat, every few minutes). Returns how many rows changed, by new status.

    An email "sending" for longer than an attempt takes becomes "not confirmed" (see the module's docstring:
    never sent again by itself); one queued for a day that nothing attempted is failed, with the reason, and the
    sender may send it again. Two set-based updates, whatever the number of rows.
    """
    now = now or timezone.now()
    unconfirmed = OutboundEmail.objects.filter(
        status=OutboundEmailStatus.SENDING, status_since__lte=now - SENDING_UNCONFIRMED_AFTER
    ).update(status=OutboundEmailStatus.UNCONFIRMED, status_since=now, last_error=UNCONFIRMED_REASON)
    hours = int(QUEUED_FAILED_AFTER.total_seconds() // 3600)
    failed = OutboundEmail.objects.filter(
        status=OutboundEmailStatus.QUEUED, status_since__lte=now - QUEUED_FAILED_AFTER
    ).update(
        status=OutboundEmailStatus.FAILED,
        status_since=now,
        last_error=f"Not sent: it waited {hours} hours and nothing was able to send it (is a worker running?). "
        "Send it again once the mail service is back.",
    )
    return {OutboundEmailStatus.UNCONFIRMED: unconfirmed, OutboundEmailStatus.FAILED: failed}
