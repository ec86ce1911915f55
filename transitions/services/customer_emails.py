"""Customer emails from a handover step, through the outbox: one personalised email per contact, sent after commit."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from accounts.models import Channel, Contact
from accounts.services import touchpoint_log
from users.models import User
from users.permissions import can_complete_transition_task

from .. import emails
from ..models import OutboundEmail, OutboundEmailStatus, Transition, TransitionTask
from .steps import _locked_task, _require_task_access, task_complete
from .transitions import _person

logger = logging.getLogger(__name__)


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


def _queue_send(email_ids: list[int]) -> None:
    from ..tasks import outbound_email_send

    for email_id in email_ids:
        outbound_email_send.delay(email_id)


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

    The emails are sent by a worker after this transaction commits; a failure
    shows on the task and can be retried.
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
    ids = [email.pk for email in outbox]
    transaction.on_commit(lambda: _queue_send(ids))
    task_complete(actor=actor, task=locked)
    return outbox


def outbound_email_send(*, email_id: int) -> OutboundEmail:
    """Send one queued email. Idempotent: anything not queued is left alone."""
    with transaction.atomic():
        email = (
            OutboundEmail.objects.select_for_update(of=("self",))
            .select_related("contact", "created_by")
            .get(pk=email_id)
        )
        if email.status != OutboundEmailStatus.QUEUED:
            return email
        email.attempts += 1
        try:
            EmailMessage(subject=email.subject, body=email.body, to=[email.to_email]).send(fail_silently=False)
        except Exception as error:  # noqa: BLE001 - any transport failure is recorded, never lost
            logger.warning("Outbound email %s failed: %s", email.pk, error)
            email.status = OutboundEmailStatus.FAILED
            email.last_error = f"{type(error).__name__}: {error}"[:2000]
            email.save(update_fields=["status", "attempts", "last_error"])
            return email
        email.status = OutboundEmailStatus.SENT
        email.sent_at = timezone.now()
        email.last_error = ""
        email.save(update_fields=["status", "attempts", "last_error", "sent_at"])
        touchpoint_log(
            actor=email.created_by,
            account=email.account,
            channel=Channel.EMAIL,
            occurred_at=email.sent_at,
            summary=f"Email sent: {email.subject}"[:200],
            body=email.body,
            participants=[email.contact] if email.contact else [],
        )
    return email


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
    transaction.on_commit(lambda: _queue_send([email.pk]))
    return email
