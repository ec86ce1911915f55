"""The scorecard editor: everyone reads how health is computed; admins draft, preview, activate and retire."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.forms import INVALID, add_service_errors, form_status
from lifecycle.health.defaults import DEFAULT_MEASURES, DEFAULT_MEASURES_V2
from lifecycle.health.scorecards import services
from lifecycle.health.scorecards.forms import (
    MEASURE_UNITS,
    SCORECARD_FORM_FIELDS,
    ActivateForm,
    BaseMeasureRows,
    CloneForm,
    MeasureRows,
    RetireForm,
    ScorecardForm,
    measure_rows_initial,
)
from lifecycle.health.scorecards.preview import scorecard_preview
from lifecycle.health.scorecards.selectors import (
    normalisation_chart,
    scorecard_lineages,
    scorecard_versions,
    scorecard_with_measures,
)
from lifecycle.models import Scorecard
from users.models import User
from users.permissions import can_configure


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every page here is behind the login middleware


def _admin_only(request: HttpRequest) -> User:
    """The signed-in admin, or 403."""
    if not can_configure(_user(request)):
        raise PermissionDenied("Only admins change scorecards.")
    return _user(request)


def _card(pk: int) -> Scorecard:
    try:
        return scorecard_with_measures(pk)
    except Scorecard.DoesNotExist:
        return get_object_or_404(Scorecard, pk=pk)  # the 404 page, said the usual way


def scorecard_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "lifecycle/scorecards/list.html",
        {"lineages": scorecard_lineages(), "can_configure": can_configure(_user(request)), "clone_form": CloneForm()},
    )


def _detail_context(request: HttpRequest, card: Scorecard, **extra) -> dict:
    cards = list(card.measures.all())
    total = sum(float(measure.weight) for measure in cards) or 1.0
    measures = [
        {
            "measure": measure,
            "chart": normalisation_chart(measure),
            "unit": MEASURE_UNITS.get(measure.kind, ""),
            "share": round(100 * float(measure.weight) / total),
            "weight": f"{measure.weight.normalize():f}",
        }
        for measure in cards
    ]
    return {
        "card": card,
        "measures": measures,
        "versions": scorecard_versions(card),
        "can_configure": can_configure(_user(request)),
        "activate_form": extra.pop("activate_form", ActivateForm()),
        "retire_form": extra.pop("retire_form", RetireForm()),
        "clone_form": extra.pop("clone_form", None)
        or (CloneForm(initial={"name": _free_copy_name(card)}) if can_configure(_user(request)) else None),
        **extra,
    }


def _free_copy_name(card: Scorecard) -> str:
    """ "Name (copy)", or "Name (copy 2)" and on when that is taken: the clone form's suggestion."""
    base = re.sub(r" \(copy(?: \d+)?\)$", "", card.name)
    taken = {name.lower() for name in Scorecard.objects.filter(name__istartswith=base).values_list("name", flat=True)}
    return next(
        name
        for name in (f"{base} (copy)", *(f"{base} (copy {n})" for n in range(2, len(taken) + 3)))
        if name.lower() not in taken
    )


def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "lifecycle/scorecards/detail.html", _detail_context(request, _card(pk)))


def scorecard_create(request: HttpRequest) -> HttpResponse:
    actor = _admin_only(request)
    return _edit_page(request, None, actor=actor)


def scorecard_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a draft in place; asking to edit a live version starts (or reopens) its lineage's draft."""
    actor = _admin_only(request)
    card = _card(pk)
    if not card.is_draft:
        draft = Scorecard.objects.filter(lineage=card.lineage, status="draft").first()
        if draft is None:
            if request.method != "POST":
                return render(request, "lifecycle/scorecards/new_version.html", {"card": card})
            draft = services.scorecard_new_version(actor=actor, source=card)
            messages.success(request, f"{draft.label} is a draft copy of {card.label}; {card.label} stays live.")
        return redirect("scorecard-edit", pk=draft.pk)
    return _edit_page(request, card, actor=actor)


def _edit_page(request: HttpRequest, card: Scorecard | None, *, actor: User) -> HttpResponse:
    initial_rows = measure_rows_initial(card, {**DEFAULT_MEASURES, **DEFAULT_MEASURES_V2})
    form = ScorecardForm(request.POST or None, instance=card)
    rows = cast(BaseMeasureRows, MeasureRows(request.POST or None, initial=initial_rows, prefix="measures"))
    if request.method == "POST" and form.is_valid() and rows.is_valid():
        fields = {name: form.cleaned_data[name] for name in SCORECARD_FORM_FIELDS}
        try:
            if card is None:
                card = services.scorecard_create(actor=actor, fields=fields, measures=rows.specs())
            else:
                card = services.scorecard_update_draft(actor=actor, draft=card, fields=fields, measures=rows.specs())
        except ValidationError as error:
            add_service_errors(error, form)
            if hasattr(error, "error_dict") and "measures" in error.error_dict:
                form.add_error(None, error.error_dict["measures"])
        else:
            messages.success(request, f"Saved {card.label}. Preview it on today's book before activating.")
            return redirect("scorecard-detail", pk=card.pk)
    return render(
        request,
        "lifecycle/scorecards/form.html",
        {"card": card, "form": form, "rows": rows},
        # A valid submission has redirected by now.
        status=INVALID if request.method == "POST" else 200,
    )


def _version_action(
    request: HttpRequest,
    pk: int,
    *,
    form_class: type[forms.Form],
    form_name: str,
    act: Callable[[User, Scorecard, dict], tuple[Scorecard, str, str]],
) -> HttpResponse:
    """A form posted from a version's page: the service's answer redirects, or the page comes back with the errors.

    `act(actor, card, cleaned_data)` returns the scorecard, the success message and where to go next.
    """
    actor = _admin_only(request)
    card = _card(pk)
    form = form_class(request.POST)
    if form.is_valid():
        try:
            result, message, next_page = act(actor, card, form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, message)
            return redirect(next_page, pk=result.pk)
    return render(
        request,
        "lifecycle/scorecards/detail.html",
        _detail_context(request, card, **{form_name: form}),
        status=form_status(form),
    )


@require_POST
def scorecard_clone(request: HttpRequest, pk: int) -> HttpResponse:
    def clone(actor: User, source: Scorecard, data: dict) -> tuple[Scorecard, str, str]:
        copy = services.scorecard_clone(actor=actor, source=source, name=data["name"])
        return copy, f"{copy.label} is a draft copy of {source.label}. Change it, then preview.", "scorecard-edit"

    return _version_action(request, pk, form_class=CloneForm, form_name="clone_form", act=clone)


@require_POST
def scorecard_activate(request: HttpRequest, pk: int) -> HttpResponse:
    def activate(actor: User, draft: Scorecard, data: dict) -> tuple[Scorecard, str, str]:
        live = services.scorecard_activate(actor=actor, draft=draft, note=data["note"])
        return live, f"{live.label} is live. Today's scores are being recomputed with it.", "scorecard-detail"

    return _version_action(request, pk, form_class=ActivateForm, form_name="activate_form", act=activate)


@require_POST
def scorecard_retire(request: HttpRequest, pk: int) -> HttpResponse:
    def retire(actor: User, card: Scorecard, data: dict) -> tuple[Scorecard, str, str]:
        retired = services.scorecard_retire(actor=actor, scorecard=card, reason=data["reason"])
        message = f"{retired.label} is retired; its accounts fall to the next scorecard that fits."
        return retired, message, "scorecard-detail"

    return _version_action(request, pk, form_class=RetireForm, form_name="retire_form", act=retire)


@require_POST
def scorecard_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin_only(request)
    card = _card(pk)
    try:
        services.scorecard_delete_draft(actor=actor, draft=card)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("scorecard-detail", pk=card.pk)
    messages.success(request, f"Draft {card.label} deleted.")
    return redirect(reverse("scorecard-list"))


def scorecard_preview_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The draft scored on today's book next to what is live; computed on request, nothing kept."""
    _admin_only(request)
    card = _card(pk)
    if not card.is_draft:
        messages.info(request, f"{card.label} is {card.get_status_display().lower()}; a preview compares a draft.")
        return redirect("scorecard-detail", pk=card.pk)
    return render(
        request,
        "lifecycle/scorecards/preview.html",
        {"card": card, "preview": scorecard_preview(card), "activate_form": ActivateForm()},
    )
