"""The introduction email to several accounts at once: review each account's email, edit it, send them together."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone

from accounts.models import Contact, DealRole
from core.forms import INVALID
from users.models import User
from users.permissions import can_complete_transition_task

from .. import emails, services
from ..models import Transition, TransitionTask
from ..selectors import email_contacts, intro_email_steps

CALL_HOUR = 15
KEY_ROLES = (DealRole.CHAMPION, DealRole.DECISION_MAKER)


@dataclass
class IntroRow:
    """One account's email on the review page, as proposed or as the CSM left it."""

    task: TransitionTask
    contacts: list[Contact]
    chosen: set[int]
    subject: str
    body: str
    include: bool = True
    errors: list[str] = field(default_factory=list)

    @property
    def transition(self) -> Transition:
        return self.task.transition

    @property
    def context(self) -> dict[str, str]:
        """The account's placeholder values, for the preview the page redraws as the CSM types."""
        return services.email_context(self.task, None, None).as_dict()

    @property
    def preview(self) -> dict[str, str] | None:
        """The email as the first chosen contact will read it, or None while the text does not render."""
        contact = next((c for c in self.contacts if c.pk in self.chosen), None)
        if contact is None:
            return None
        context = services.email_context(self.task, contact, None)
        try:
            return {
                "name": contact.full_name,
                "subject": emails.render(self.subject, context, field="subject"),
                "body": emails.render(self.body, context, field="body"),
            }
        except ValidationError:
            return None


def _ids(values: list[str]) -> list[int]:
    return [int(value) for value in values if value.strip()]


def _default_recipients(contacts: list[Contact]) -> set[int]:
    """The champion and the decision maker hear it first; else the first contact."""
    key = {c.pk for c in contacts if c.deal_role in KEY_ROLES}
    return key or {c.pk for c in contacts[:1]}


def _proposed_calls(n: int) -> list[dt.datetime]:
    """A handover call per account, one working day after another from a week today, at three in the afternoon."""
    day = timezone.localdate() + dt.timedelta(days=7)
    calls: list[dt.datetime] = []
    while len(calls) < n:
        if day.weekday() < 5:
            calls.append(timezone.make_aware(dt.datetime.combine(day, dt.time(CALL_HOUR))))
        day += dt.timedelta(days=1)
    return calls


def _proposed(task: TransitionTask, call: dt.datetime) -> tuple[str, str]:
    """The step's email with the account, the CSMs and the call written in; the first name stays per recipient."""
    context = services.email_context(task, None, call)
    try:
        return (
            emails.prefill(task.email_subject, context, field="subject"),
            emails.prefill(task.email_body, context, field="body"),
        )
    except ValidationError:
        return task.email_subject, task.email_body


def _require_senders(user: User, steps: list[TransitionTask]) -> None:
    for task in steps:
        if not can_complete_transition_task(user, assignee_id=task.assignee_id, account=task.transition.account):
            raise PermissionDenied(f"The email to {task.transition.account.name} is someone else's to send.")


def _page(request: HttpRequest, rows: list[IntroRow], *, error: str = "", status: int = 200) -> HttpResponse:
    return render(
        request,
        "transitions/intro_emails.html",
        {"rows": rows, "error": error, "sending": sum(1 for row in rows if row.include)},
        status=status,
    )


def intro_emails(request: HttpRequest) -> HttpResponse:
    """Review every open introduction email (the user's, or those picked), edit any, untick any, send them at once."""
    user = cast(User, request.user)
    if request.method == "POST":
        return _send(request, user)
    try:
        task_ids = _ids(request.GET.getlist("task"))
        bulk_id = int(request.GET["bulk"]) if request.GET.get("bulk") else None
    except ValueError:
        return HttpResponseBadRequest("Steps and bulk handovers are picked by their number.")
    steps = intro_email_steps(user, task_ids=task_ids or None, bulk_id=bulk_id)
    _require_senders(user, steps)
    contacts = email_contacts(sorted({task.transition.account_id for task in steps}))
    rows = []
    for task, call in zip(steps, _proposed_calls(len(steps)), strict=True):
        account_contacts = contacts[task.transition.account_id]
        subject, body = _proposed(task, call)
        rows.append(
            IntroRow(
                task=task,
                contacts=account_contacts,
                chosen=_default_recipients(account_contacts),
                subject=subject,
                body=body,
            )
        )
    return _page(request, rows)


def _send(request: HttpRequest, user: User) -> HttpResponse:
    """One POST for every ticked account: all are sent, or the page comes back with each one's problems (422)."""
    post = request.POST
    try:
        shown = _ids(post.getlist("shown"))
        ticked = set(_ids(post.getlist("send")))
        chosen = {pk: set(_ids(post.getlist(f"to-{pk}"))) for pk in shown}
    except ValueError:
        return HttpResponseBadRequest("Steps and contacts are picked by their number.")
    steps = intro_email_steps(user, task_ids=shown) if shown else []
    _require_senders(user, steps)
    contacts = email_contacts(sorted({task.transition.account_id for task in steps}))
    rows = [
        IntroRow(
            task=task,
            contacts=contacts[task.transition.account_id],
            chosen=chosen[task.pk],
            subject=post.get(f"subject-{task.pk}", ""),
            body=post.get(f"body-{task.pk}", ""),
            include=task.pk in ticked,
        )
        for task in steps
    ]
    drafts = [
        services.IntroEmailDraft(
            task_id=row.task.pk,
            contact_ids=tuple(sorted(row.chosen)),
            subject=row.subject,
            body=row.body,
        )
        for row in rows
        if row.include
    ]
    try:
        outbox = services.intro_emails_send(actor=user, drafts=drafts)
    except services.IntroEmailsInvalid as invalid:
        for row in rows:
            row.errors = invalid.by_task.get(row.task.pk, [])
        return _page(request, rows, error=invalid.messages[0], status=INVALID)
    except ValidationError as error:
        return _page(request, rows, error=" ".join(error.messages), status=INVALID)
    accounts = ", ".join(row.transition.account.name for row in rows if row.include)
    messages.success(
        request,
        f"{len(outbox)} introduction email(s) to {len(drafts)} account(s) in the outbox ({accounts}); "
        "their steps are done. Delivery status shows on each handover's step.",
    )
    return redirect("my-transition-tasks")
