from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from core.forms import INVALID, add_service_errors, form_status
from users.permissions import can_configure

from .. import services
from ..forms import PlaybookForm, PlaybookStepFormSet
from ..models import EMAIL_PLACEHOLDERS, STEP_FIELDS_FOR_FORMS, Playbook, PlaybookStep, Transition


def playbook_list(request: HttpRequest) -> HttpResponse:
    # Counted in subqueries: counting both over joins multiplied the steps by the runs and the runs by the steps.
    playbooks = Playbook.objects.annotate(
        step_count=Coalesce(
            Subquery(
                PlaybookStep.objects.filter(playbook=OuterRef("pk"))
                .order_by()
                .values("playbook")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        ),
        run_count=Coalesce(
            Subquery(
                Transition.objects.filter(playbook=OuterRef("pk"))
                .order_by()
                .values("playbook")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        ),
    ).order_by("archived", "kind", "name")
    return render(
        request,
        "transitions/playbook_list.html",
        {"playbooks": playbooks, "can_configure": can_configure(request.user)},
    )


def playbook_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """Admins edit a playbook and its ordered steps; saving bumps the version, running handovers keep theirs."""
    if not can_configure(request.user):
        raise PermissionDenied("Only admins configure playbooks.")
    playbook = get_object_or_404(Playbook, pk=pk) if pk else None
    initial_steps = (
        [{name: getattr(step, name) for name in STEP_FIELDS_FOR_FORMS} for step in playbook.steps.all()]
        if playbook
        else []
    )
    form = PlaybookForm(request.POST or None, instance=Playbook.objects.get(pk=pk) if pk else None)
    steps = PlaybookStepFormSet(request.POST or None, initial=initial_steps, prefix="steps")
    if request.method == "POST" and form.is_valid() and steps.is_valid():
        step_data = [
            {name: f.cleaned_data[name] for name in STEP_FIELDS_FOR_FORMS}
            for f in steps.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
        try:
            if playbook:
                playbook = services.playbook_update(
                    actor=request.user,
                    playbook=playbook,
                    fields=fields,
                    steps=step_data,
                )
            else:
                playbook = services.playbook_create(actor=request.user, fields=fields, steps=step_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(
                request,
                f"{playbook.name} saved as version {playbook.version}. Handovers already running keep their steps.",
            )
            return redirect("playbook-list")
    return render(
        request,
        "transitions/playbook_form.html",
        {
            "form": form,
            "steps": steps,
            "playbook": playbook,
            "placeholders": EMAIL_PLACEHOLDERS,
        },
        status=INVALID if form_status(form, *steps.forms) == INVALID or steps.non_form_errors() else 200,
    )
