from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from accounts.access import account_for_edit
from core.forms import add_service_errors, form_status
from users.permissions import can_edit_account

from . import services
from .forms import AchievementForm, ObjectiveForm, PlanForm
from .models import Objective, SuccessPlan
from .services import OBJECTIVE_FIELDS, PLAN_FIELDS


def _plan_for_edit(user, pk: int) -> SuccessPlan:
    plan = get_object_or_404(SuccessPlan.objects.select_related("account__owner"), pk=pk)
    if not can_edit_account(user, plan.account):
        raise PermissionDenied("You cannot change this account's success plans.")
    return plan


def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = get_object_or_404(SuccessPlan.objects.select_related("account__owner"), pk=pk)
    can_edit = can_edit_account(request.user, plan.account)
    return render(
        request,
        "plans/plan_detail.html",
        {
            "plan": plan,
            "account": plan.account,
            "objectives": list(plan.objectives.select_related("owner")),
            "achievements": list(plan.achievements.select_related("objective", "recorded_by")),
            "can_edit": can_edit,
            "objective_form": ObjectiveForm(initial={"owner": plan.account.owner_id}) if can_edit else None,
            "achievement_form": AchievementForm(plan=plan) if can_edit else None,
        },
    )


def plan_create(request: HttpRequest, pk: int) -> HttpResponse:
    account = account_for_edit(request.user, pk)
    form = PlanForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            plan = services.plan_create(
                actor=request.user,
                account=account,
                fields={n: form.cleaned_data[n] for n in PLAN_FIELDS},
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"Success plan “{plan}” created. Add its objectives below.")
            return redirect("plan-detail", pk=plan.pk)
    return render(
        request,
        "plans/form.html",
        {"form": form, "account": account, "title": "New success plan"},
        status=form_status(form),
    )


def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for_edit(request.user, pk)
    form = PlanForm(request.POST or None, instance=SuccessPlan.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.plan_update(
                actor=request.user,
                plan=plan,
                fields={n: form.cleaned_data[n] for n in PLAN_FIELDS},
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Success plan saved.")
            return redirect("plan-detail", pk=plan.pk)
    return render(
        request,
        "plans/form.html",
        {"form": form, "account": plan.account, "plan": plan, "title": f"Edit {plan}"},
        status=form_status(form),
    )


def objective_create(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for_edit(request.user, pk)
    form = ObjectiveForm(request.POST or None, initial={"owner": plan.account.owner_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_create(
                actor=request.user,
                plan=plan,
                fields={n: form.cleaned_data[n] for n in OBJECTIVE_FIELDS},
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Objective added.")
            return redirect("plan-detail", pk=plan.pk)
    return render(
        request,
        "plans/form.html",
        {"form": form, "plan": plan, "account": plan.account, "title": "New objective"},
        status=form_status(form),
    )


def objective_edit(request: HttpRequest, pk: int) -> HttpResponse:
    objective = get_object_or_404(Objective.objects.select_related("plan"), pk=pk)
    plan = _plan_for_edit(request.user, objective.plan_id)
    form = ObjectiveForm(request.POST or None, instance=Objective.objects.get(pk=pk))
    if request.method == "POST" and form.is_valid():
        try:
            services.objective_update(
                actor=request.user,
                objective=objective,
                fields={n: form.cleaned_data[n] for n in OBJECTIVE_FIELDS},
            )
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Objective saved.")
            return redirect("plan-detail", pk=plan.pk)
    return render(
        request,
        "plans/form.html",
        {
            "form": form,
            "plan": plan,
            "account": plan.account,
            "title": f"Edit {objective}",
        },
        status=form_status(form),
    )


def achievement_add(request: HttpRequest, pk: int) -> HttpResponse:
    plan = _plan_for_edit(request.user, pk)
    form = AchievementForm(request.POST or None, plan=plan)
    if request.method == "POST" and form.is_valid():
        try:
            services.achievement_record(actor=request.user, plan=plan, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, "Achievement recorded.")
            return redirect("plan-detail", pk=plan.pk)
    return render(
        request,
        "plans/form.html",
        {"form": form, "plan": plan, "account": plan.account, "title": "Record an achievement"},
        status=form_status(form),
    )
