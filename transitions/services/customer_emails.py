"""Customer emails from a handover step, through the outbox.

`task_email_send` writes one personalised OutboundEmail per contact (what is
sent to whom; the task page shows its status) and announces
CustomerEmailsQueued. Sending is not done here: the app that delivers email
(notifications) subscribes, sends each one after commit with its retries and
backoff, and reports every outcome back through `outbound_email_mark_sent`
and `outbound_email_mark_failed`. A sent email lands on the account timeline.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F

from accounts.models import Channel, Contact
from accounts.services import touchpoint_log
from core import events
from users.models import User
from users.permissions import can_complete_transition_task

from .. import emails
from ..events import CustomerEmailsQueued
from ..models import OutboundEmail, OutboundEmailStatus, Transition, TransitionTask
from .steps import _locked_task, _require_task_access, task_complete
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


@transaction.atomic
def outbound_email_retry(*, actor: User, email: OutboundEmail) -> OutboundEmail:
    email = (
        OutboundEmail.objects.select_for_update(of=("self",)).select_related("account__owner", "task").get(pk=email.pk)
    )
    assignee_id = email.task.assignee_id if email.task else email.created_by_id
    if not can_complete_transition_task(actor, assignee_id=assignee_id, account=email.account):
        raise PermissionDenied("Only the sender or the team's manager can retry this email.")
    if email.status != OutboundEmailStatus.FAILED:
        raise ValidationError(f"Only failed emails can be retried; this one is {email.get_status_display().lower()}.")
    email.status = OutboundEmailStatus.QUEUED
    email.save(update_fields=["status"])
    events.announce(CustomerEmailsQueued(email_ids=(email.pk,)))
    return email


# --- outcomes, reported by whoever sent the email ----------------------------------------------------------------


@transaction.atomic
def outbound_email_mark_sent(*, email_id: int, sent_at: dt.datetime) -> bool:
    """The email went out: it shows as sent on the task and lands on the account timeline.

    Returns False, changing nothing, if it was already marked sent (an outcome reported twice).
    """
    marked = (
        OutboundEmail.objects.filter(pk=email_id)
        .exclude(status=OutboundEmailStatus.SENT)
        .update(status=OutboundEmailStatus.SENT, sent_at=sent_at, last_error="", attempts=F("attempts") + 1)
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

    Only a queued email changes (returns False otherwise): a late report cannot undo a sent one.
    """
    return bool(
        OutboundEmail.objects.filter(pk=email_id, status=OutboundEmailStatus.QUEUED).update(
            status=OutboundEmailStatus.QUEUED if will_retry else OutboundEmailStatus.FAILED,
            last_error=error[:2000],
            attempts=F("attempts") + 1,
        )
    )
