from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from users.permissions import can_start_bulk_handover

from ..filters import TransitionFilter
from ..models import PlaybookKind, Transition
from ..selectors import (
    board_groups,
    board_ordering,
    board_status_counts,
    readiness_for_accounts,
    tasks_for_cockpit,
)

BOARD_PAGE_SIZE = 50


def board(request: HttpRequest) -> HttpResponse:
    """Manager board: every transition by status with % complete, overdue tasks and readiness, grouped by CSM."""
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


def my_tasks(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "transitions/my_tasks.html",
        {"cockpit_tasks": tasks_for_cockpit(request.user, limit=200)},
    )
