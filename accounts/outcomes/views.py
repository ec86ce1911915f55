"""The outcomes import page: upload a CSV file, read the dry run, import exactly that.

Recording one outcome is a form on the Account 360, whose errors re-render that page: it lives in desk.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from core.forms import INVALID
from users.models import User
from users.permissions import can_import_outcomes

from .csv_files import COLUMNS, MAX_ROWS, REQUIRED_COLUMNS, OutcomeImport, outcomes_csv_import, outcomes_csv_preview
from .forms import OutcomeImportConfirmForm, OutcomeImportForm
from .models import ChurnReason, OutcomeKind

PREVIEW_ROWS = 200  # a file of thousands of rows shows the first ones and the summary of all
PREVIEW_ERRORS = 200
CONFLICT = 409

COLUMN_HELP = {
    "account": "The account's id, or its domain",
    "kind": ", ".join(OutcomeKind.values),
    "occurred_on": "The day it happened, YYYY-MM-DD",
    "term_start": "Start of the contract term it closed",
    "term_end": "End of that term (the renewal date)",
    "arr_before": "ARR during that term, e.g. 48000.00",
    "arr_after": "ARR from now on; blank or 0 for a churn",
    "currency": "Three letters; blank: the account's",
    "reason": "Needed for a churn: " + ", ".join(ChurnReason.values),
    "note": "Free text",
}


def outcome_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (a dry run: every problem by line and column, or what would be recorded) → import.

    Nothing is written unless every line is valid; the import reads the previewed text again
    and writes only what the preview showed.
    """
    if not can_import_outcomes(request.user):
        raise PermissionDenied("Only managers and admins import outcomes.")
    actor = cast(User, request.user)  # signed in: LoginRequiredMiddleware
    upload_form = OutcomeImportForm()
    confirm_form = None
    result: OutcomeImport | None = None
    if request.method == "POST" and "content" in request.POST:
        confirm = OutcomeImportConfirmForm(request.POST)
        if not confirm.is_valid():
            messages.error(request, "The previewed file did not come back intact: upload it again.")
            return redirect("outcome-import")
        text = confirm.cleaned_data["content"]
        result = outcomes_csv_import(actor=actor, text=text, digest=confirm.cleaned_data["digest"])
        if result.written:
            summary = result.summary()
            messages.success(
                request,
                f"Recorded {summary.outcomes:,} outcome{'s' if summary.outcomes != 1 else ''} for "
                f"{summary.accounts:,} account{'s' if summary.accounts != 1 else ''}.",
            )
            return redirect("outcome-import")
        if result.stale:
            confirm_form = OutcomeImportConfirmForm(initial={"content": text, "digest": result.digest})
    elif request.method == "POST":
        upload_form = OutcomeImportForm(request.POST, request.FILES)
        if upload_form.is_valid():
            text = upload_form.cleaned_data["file"]
            result = outcomes_csv_preview(actor=actor, text=text)
            if result.ok:
                confirm_form = OutcomeImportConfirmForm(initial={"content": text, "digest": result.digest})
            upload_form = OutcomeImportForm()
    if (upload_form.is_bound and upload_form.errors) or (result is not None and not result.ok):
        status = INVALID
    elif result is not None and result.stale:
        status = CONFLICT
    else:
        status = 200
    context = {
        "upload_form": upload_form,
        "confirm_form": confirm_form,
        "result": result,
        "summary": result.summary() if result is not None and result.ok else None,
        "planned": result.planned[:PREVIEW_ROWS] if result is not None else [],
        "errors": result.errors[:PREVIEW_ERRORS] if result is not None else [],
        "columns": [(column, column in REQUIRED_COLUMNS, COLUMN_HELP[column]) for column in COLUMNS],
        "max_rows": MAX_ROWS,
    }
    return render(request, "accounts/outcomes/import.html", context, status=status)
