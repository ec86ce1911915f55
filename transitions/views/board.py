from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.csv_export import CHUNK_SIZE, columns_response
from users.models import User
from users.permissions import can_start_bulk_handover

from .. import services
from ..exports import board_export, board_export_columns, my_tasks_export, my_tasks_export_columns
from ..filters import TransitionFilter
from ..models import PlaybookKind, Transition
from ..selectors import (
    DueWindow,
    board_groups,
    board_ordering,
    board_status_counts,
    readiness_for_accounts,
    task_list,
)

BOARD_PAGE_SIZE = 50


def board(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """Manager board: every transition by status with % complete, overdue tasks and readiness, grouped by CSM.

    `?format=csv` exports every transition the filters match, in the board's order (transitions.exports).
    """
    if request.GET.get("format") == "csv":
        rows = board_export(request.GET).iterator(chunk_size=CHUNK_SIZE)
        return columns_response("transitions", board_export_columns(), rows)
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = "active"
    if "kind" not in params:
        # The handover board shows handovers; stage checklists and risk plays are one "Any kind" away.
        params["kind"] = PlaybookKind.HANDOVER
    group_by = "to" if params.get("group") == "to" else "from"
    transition_filter = TransitionFilter(params, queryset=Transition.objects.all())
    filtered = transition_filter.qs
    counts = board_status_counts(
        TransitionFilter(
            {k: v for k, v in params.items() if k != "status"},
            queryset=Transition.objects.all(),
        ).qs
    )
    # Page through plain ids first, then annotate only that page: aggregating every task of
    # every transition before the LIMIT is what would make a big board slow.
    ids = filtered.order_by(*board_ordering(group_by)).values_list("pk", flat=True)
    page = Paginator(ids, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
    page_ids = list(page.object_list)
    by_pk = {t.pk: t for t in Transition.objects.filter(pk__in=page_ids).for_board()}
    transitions = [by_pk[pk] for pk in page_ids]
    readiness = readiness_for_accounts([t.account_id for t in transitions])
    for transition in transitions:
        transition.readiness = readiness.get(transition.account_id)
    query = params.copy()
    query.pop("page", None)
    context = {
        "filter": transition_filter,
        "page": page,
        "groups": board_groups(transitions, group_by=group_by),
        "group_by": group_by,
        "counts": counts,
        "status": params.get("status"),
        "kind": params.get("kind"),
        "query_string": query.urlencode(),
        "today": timezone.localdate(),
        "can_start_bulk_handover": can_start_bulk_handover(request.user),
    }
    template = (
        "transitions/partials/board_table.html"
        if request.htmx and request.htmx.target == "board"
        else "transitions/board.html"
    )
    return render(request, template, context)


GROUPINGS = ("transition", "account")


def _task_list_page(request: HttpRequest, *, error: str = "", status: int = 200) -> HttpResponse:
    due = request.GET.get("due", "")
    group_by = request.GET.get("group", "transition")
    if (due and due not in dict(DueWindow.CHOICES)) or group_by not in GROUPINGS:
        return HttpResponseBadRequest("Filter by due=overdue, today, week or later; group=transition or account.")
    listing = task_list(cast(User, request.user), due=due, group_by=group_by)
    # Counted from the steps already listed: the link opens all of them, whatever the filter.
    intro_emails = sum(
        1 for group in listing.groups for task in group.tasks if task.has_email and task.transition.is_handover
    )
    return render(
        request,
        "transitions/my_tasks.html",
        {
            "listing": listing,
            "intro_emails": intro_emails,
            "due": due,
            "group_by": group_by,
            "windows": [(key, label, listing.window_counts[key]) for key, label in DueWindow.CHOICES],
            "query_string": request.GET.urlencode(),
            "error": error,
        },
        status=status,
    )


def my_tasks(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    """A CSM's open steps grouped by handover or account, filtered by when they are due; `?format=csv` exports them."""
    if request.GET.get("format") == "csv":
        due = request.GET.get("due", "")
        if due and due not in dict(DueWindow.CHOICES):
            return HttpResponseBadRequest("Filter by due=overdue, today, week or later.")
        tasks = my_tasks_export(cast(User, request.user), due=due)
        return columns_response("my-tasks", my_tasks_export_columns(), tasks.iterator(chunk_size=CHUNK_SIZE))
    return _task_list_page(request)


@require_POST
def my_tasks_complete(request: HttpRequest) -> HttpResponse:
    """Complete the ticked steps, or every step of a group: all of them, or none if one is not the user's."""
    field_name = "all_task" if request.POST.get("action") == "all" else "task"
    try:
        task_ids = [int(value) for value in request.POST.getlist(field_name)]
        done = services.tasks_complete(actor=cast(User, request.user), task_ids=task_ids)
    except ValueError:
        return _task_list_page(request, error="Steps are picked by their number.", status=400)
    except ValidationError as error:
        return _task_list_page(request, error=" ".join(error.messages), status=400)
    message = f"{done.done} step(s) done."
    if done.runs_completed:
        message += f" {done.runs_completed} run(s) complete."
    if done.runs_awaiting:
        message += (
            f" {done.runs_awaiting} handover(s) have every required step done but wait for a manager's "
            "confirmation: their readiness is below what the playbook asks for."
        )
    if done.already_closed:
        message += f" {done.already_closed} were already closed."
    messages.success(request, message)
    query = request.GET.urlencode()
    return redirect(reverse("my-transition-tasks") + (f"?{query}" if query else ""))
