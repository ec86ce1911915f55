from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.models import Account, DealRole
from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_complete_transition_task, can_confirm_unready_handover, can_manage_transition

from .. import emails, services
from ..access import task_for_work, transition_for_manage
from ..forms import CancelForm, CompleteForm, EmailForm, RescheduleForm, TransitionStartForm
from ..models import OutboundEmail, TaskStatus, Transition
from ..selectors import account_readiness, transition_detail, transition_history


def _detail_page(
    request: HttpRequest,
    pk: int,
    *,
    cancel_form: CancelForm | None = None,
    reschedule_form: RescheduleForm | None = None,
    complete_form: CompleteForm | None = None,
) -> HttpResponse:
    """The transition page; a submitted form that failed comes back in place, with what was typed and why (422)."""
    try:
        transition = transition_detail(pk)
    except Transition.DoesNotExist as missing:
        raise Http404("No such transition.") from missing
    account = transition.account
    user = cast(User, request.user)
    can_manage = can_manage_transition(user, account)
    offered = can_manage and transition.is_active
    readiness = account_readiness(account)
    threshold = transition.playbook.min_readiness
    below = transition.is_handover and readiness.percent < threshold
    works_on_it = any(
        can_complete_transition_task(user, assignee_id=csm_id, account=account)
        for csm_id in (transition.to_csm_id, transition.from_csm_id)
    )
    # Offered once every required step is done: to the handover's CSMs when readiness reaches the bar,
    # below it only to those who may confirm it (with a reason).
    may_complete = transition.awaiting_confirmation and (
        can_confirm_unready_handover(user, account) if below else works_on_it
    )
    context: dict[str, Any] = {
        "transition": transition,
        "account": account,
        "tasks": list(transition.tasks.all()),
        "readiness": readiness,
        "threshold": threshold if transition.is_handover else None,
        "below_threshold": below,
        "complete_form": complete_form or (CompleteForm() if may_complete else None),
        "history": transition_history(transition),
        "can_manage": can_manage,
        "cancel_form": cancel_form or (CancelForm() if offered else None),
        "reschedule_form": reschedule_form
        or (RescheduleForm(initial={"target_date": transition.target_date}) if offered else None),
    }
    for task in context["tasks"]:
        task.can_work = (
            task.status == TaskStatus.OPEN
            and transition.is_active
            and can_complete_transition_task(user, assignee_id=task.assignee_id, account=account)
        )
    forms = [form for form in (cancel_form, reschedule_form, complete_form) if form is not None]
    return render(request, "transitions/transition_detail.html", context, status=form_status(*forms))


def transition_view(request: HttpRequest, pk: int) -> HttpResponse:
    return _detail_page(request, pk)


def transition_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Start one handover from the account."""
    account = get_object_or_404(Account.objects.with_list_columns(), pk=pk)
    if not can_manage_transition(request.user, account):
        raise PermissionDenied("Only the team's manager or an admin can start a handover.")
    form = TransitionStartForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            transition = services.transition_start(actor=request.user, account=account, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"Handover of {account} to {transition.to_csm} started.")
            return redirect("transition-detail", pk=transition.pk)
    return render(
        request,
        "transitions/transition_new.html",
        {"form": form, "account": account, "readiness": account_readiness(account)},
        status=form_status(form),
    )


@require_POST
def transition_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    transition = transition_for_manage(request.user, pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.transition_cancel(
                actor=request.user,
                transition=transition,
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(
                request,
                f"Handover cancelled. {transition.account.covered_by_label} keeps {transition.account}."
                if transition.is_handover
                else f"{transition.title} cancelled; its open steps are closed.",
            )
            return redirect("transition-detail", pk=pk)
    return _detail_page(request, pk, cancel_form=form)


@require_POST
def transition_complete(request: HttpRequest, pk: int) -> HttpResponse:
    """Complete a handover whose steps are done; below its readiness bar only a manager may, saying why."""
    transition = get_object_or_404(Transition, pk=pk)
    form = CompleteForm(request.POST)
    if form.is_valid():
        try:
            services.transition_complete(
                actor=cast(User, request.user), transition=transition, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            transition.refresh_from_db()
            messages.success(request, f"Handover complete: {transition.to_csm} now owns {transition.account}.")
            return redirect("transition-detail", pk=pk)
    return _detail_page(request, pk, complete_form=form)


@require_POST
def transition_reschedule(request: HttpRequest, pk: int) -> HttpResponse:
    transition = transition_for_manage(request.user, pk)
    form = RescheduleForm(request.POST)
    if form.is_valid():
        try:
            _, shifted = services.transition_reschedule(actor=request.user, transition=transition, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            suffix = (
                f"; {shifted} open task(s) moved with it"
                if form.cleaned_data["shift_tasks"]
                else "; tasks left as they were"
            )
            messages.success(request, f"Target date moved{suffix}.")
            return redirect("transition-detail", pk=pk)
    return _detail_page(request, pk, reschedule_form=form)


def _after_task_change(request: HttpRequest, task_pk: int, message: str) -> HttpResponse:
    task = task_for_work(request.user, task_pk)
    if request.POST.get("next") == "my-tasks":
        messages.success(request, message)
        return redirect("my-transition-tasks")
    messages.success(request, message)
    return redirect("transition-detail", pk=task.transition_id)


@require_POST
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = task_for_work(request.user, pk)
    skip = request.POST.get("action") == "skip"
    try:
        services.task_complete(actor=request.user, task=task, skip=skip)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("transition-detail", pk=task.transition_id)
    transition = task.transition
    transition.refresh_from_db(fields=["status"])
    if transition.status == "completed":
        return _after_task_change(
            request,
            pk,
            f"Handover complete: {transition.to_csm} now owns {transition.account}."
            if transition.is_handover
            else f"{task.title} done; the {transition.noun} is complete.",
        )
    if transition.is_handover and task.required and not transition.tasks.open().filter(required=True).exists():
        return _after_task_change(
            request,
            pk,
            f"“{task.title}” done. Every required step is done, but readiness is below what the playbook asks for: "
            "the handover waits for a manager's confirmation.",
        )
    return _after_task_change(request, pk, f"“{task.title}” {'skipped' if skip else 'done'}.")


def _default_contacts(form: EmailForm) -> list[int]:
    contacts = list(form.fields["contacts"].queryset)
    key = [c.pk for c in contacts if c.deal_role in (DealRole.CHAMPION, DealRole.DECISION_MAKER)]
    return key or [c.pk for c in contacts[:1]]


def _previews(task, form: EmailForm) -> list[dict]:
    """The email each chosen contact would receive, rendered from the current text."""
    if not form.is_valid():
        return []
    previews = []
    for contact in form.cleaned_data["contacts"]:
        context = services.email_context(task, contact, form.cleaned_data.get("call_date"))
        previews.append(
            {
                "contact": contact,
                "subject": emails.render(form.cleaned_data["subject"], context),
                "body": emails.render(form.cleaned_data["body"], context),
            }
        )
    return previews


def task_email(request: HttpRequest, pk: int) -> HttpResponse:
    """Compose the step's customer email, see it rendered per contact, send it through the outbox."""
    task = task_for_work(request.user, pk)
    account = task.transition.account
    if not task.has_email:
        raise PermissionDenied("This step has no email.")
    if request.method == "POST":
        form = EmailForm(request.POST, account=account)
        if form.is_valid():
            try:
                outbox = services.task_email_send(actor=request.user, task=task, **form.cleaned_data)
            except ValidationError as error:
                add_service_errors(error, form)
            else:
                messages.success(
                    request,
                    f"{len(outbox)} email(s) in the outbox; “{task.title}” done. Delivery status shows on the step.",
                )
                return redirect("transition-detail", pk=task.transition_id)
    else:
        form = EmailForm(account=account)
        form = EmailForm(
            {
                "contacts": _default_contacts(form),
                "call_date": (timezone.localtime() + timezone.timedelta(days=7))
                .replace(hour=15, minute=0, second=0, microsecond=0)
                .strftime("%Y-%m-%dT%H:%M"),
                "subject": task.email_subject,
                "body": task.email_body,
            },
            account=account,
        )
    return render(
        request,
        "transitions/task_email.html",
        {
            "task": task,
            "transition": task.transition,
            "account": account,
            "form": form,
            "previews": _previews(task, form),
            "sent": list(task.emails.order_by("-created_at")),
        },
        # On GET the form is bound to the step's defaults only to render the previews: not a failed submission.
        status=form_status(form) if request.method == "POST" else 200,
    )


def task_email_preview(request: HttpRequest, pk: int) -> HttpResponse:
    task = task_for_work(request.user, pk)
    form = EmailForm(request.GET, account=task.transition.account)
    return render(
        request,
        "transitions/partials/email_previews.html",
        {"form": form, "previews": _previews(task, form)},
    )


@require_POST
def email_retry(request: HttpRequest, pk: int) -> HttpResponse:
    email = get_object_or_404(OutboundEmail.objects.select_related("task"), pk=pk)
    try:
        services.outbound_email_retry(actor=request.user, email=email)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Email to {email.to_email} queued again.")
    if email.task_id:
        return redirect("transition-detail", pk=email.task.transition_id)
    return redirect("account-detail", pk=email.account_id)
