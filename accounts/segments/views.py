"""The tier rules page: everyone reads the rules; admins add, change, reorder and delete them and apply them to the book.

Admins and managers see the preview of the accounts the rules would move.
"""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.models import TierRule
from accounts.money.selectors import reporting_currency
from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_configure

from . import services
from .access import sees_tier_preview
from .forms import TierApplyForm, TierRuleForm
from .rules import tier_rules

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every page here is behind the login middleware


def _admin(request: HttpRequest) -> User:
    if not can_configure(_user(request)):
        raise PermissionDenied("Only admins change the tier rules.")
    return _user(request)


def _page(request: HttpRequest, *, form: TierRuleForm | None = None, status: int = 200) -> HttpResponse:
    user = _user(request)
    return render(
        request,
        "accounts/segments/tier_rules.html",
        {
            "rules": tier_rules(),
            "reporting_currency": reporting_currency(),
            "can_configure": can_configure(user),
            "sees_preview": sees_tier_preview(user),
            "form": form or TierRuleForm(),
        },
        status=status,
    )


def rule_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    actor = _admin(request)
    form = TierRuleForm(request.POST)
    if form.is_valid():
        try:
            rule = services.tier_rule_create(actor=actor, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"Rule {rule.position} added: it moves no account until the rules are applied.")
            return redirect("tier-rule-list")
    return _page(request, form=form, status=form_status(form))


def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    rule = get_object_or_404(TierRule, pk=pk)
    initial = {name: getattr(rule, name) for name in services.RULE_FIELDS}
    form = TierRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.tier_rule_update(actor=actor, rule=rule, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(request, f"Rule {rule.position} saved: it moves no account until the rules are applied.")
            return redirect("tier-rule-list")
    return render(
        request,
        "accounts/segments/tier_rule_form.html",
        {"form": form, "rule": rule, "reporting_currency": reporting_currency()},
        status=form_status(form),
    )


@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    rule = get_object_or_404(TierRule, pk=pk)
    services.tier_rule_delete(actor=actor, rule=rule)
    messages.success(request, f"Rule {rule.position} deleted.")
    return redirect("tier-rule-list")


@require_POST
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _admin(request)
    rule = get_object_or_404(TierRule, pk=pk)
    services.tier_rule_move(actor=actor, rule=rule, up=request.POST.get("direction") != "down")
    return redirect("tier-rule-list")


def _preview_page(request: HttpRequest, *, apply_form: TierApplyForm | None = None, status: int = 200) -> HttpResponse:
    user = _user(request)
    if not sees_tier_preview(user):
        raise PermissionDenied("Only admins and managers see which accounts the tier rules would move.")
    preview = services.tiers_preview()
    page = Paginator(preview.accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    accounts = [(account, preview.to_label(account), preview.reason(account)) for account in page.object_list]
    no_rate = [(account, preview.reason(account)) for account in preview.no_rate_accounts[:PAGE_SIZE]]
    return render(
        request,
        "accounts/segments/tier_preview.html",
        {
            "preview": preview,
            "page": page,
            "accounts": accounts,
            "no_rate": no_rate,
            "can_configure": can_configure(user),
            "apply_form": apply_form or TierApplyForm(initial={"expected": preview.moving}),
        },
        status=status,
    )


def tiers_preview_page(request: HttpRequest) -> HttpResponse:
    return _preview_page(request)


@require_POST
def tiers_apply_view(request: HttpRequest) -> HttpResponse:
    actor = _admin(request)
    form = TierApplyForm(request.POST)
    if form.is_valid():
        try:
            result = services.tiers_apply(actor=actor, expected=form.cleaned_data["expected"])
        except ValidationError as error:
            add_service_errors(error, form)
        else:
            messages.success(
                request, f"{result.moved:,} account{'s' if result.moved != 1 else ''} moved to their new tier."
            )
            return redirect("tier-preview")
    return _preview_page(request, apply_form=form, status=form_status(form))
