"""Token pages: admins keep integration tokens on /settings/tokens/, everyone their own on /me/tokens/.

A new or rotated token's plaintext is rendered straight into the POST's
answer (never a redirect, the session or a URL), marked no-store, and is not
shown again.
"""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST

from core.forms import add_service_errors, form_status
from users.models import User
from users.permissions import can_manage_integration_tokens, can_manage_token, personal_token_scopes

from . import selectors, services
from .forms import TokenForm
from .models import ApiToken, TokenKind


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)  # every page here is behind the login middleware


def _admin(request: HttpRequest) -> User:
    if not can_manage_integration_tokens(_user(request)):
        raise PermissionDenied("Only admins manage integration tokens.")
    return _user(request)


def _render(request: HttpRequest, template: str, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    if context.get("issued") is not None:
        add_never_cache_headers(response)  # the plaintext must not be kept by the browser or a proxy
    return response


def _integration_page(
    request: HttpRequest,
    *,
    form: TokenForm | None = None,
    issued: services.IssuedToken | None = None,
    status: int = 200,
) -> HttpResponse:
    return _render(
        request,
        "users/tokens/integration_tokens.html",
        {
            "tokens": selectors.integration_tokens(),
            "personal_tokens": selectors.everyones_live_personal_tokens(),
            "form": form or TokenForm(),
            "issued": issued,
        },
        status=status,
    )


def _personal_page(
    request: HttpRequest,
    *,
    form: TokenForm | None = None,
    issued: services.IssuedToken | None = None,
    status: int = 200,
) -> HttpResponse:
    user = _user(request)
    return _render(
        request,
        "users/tokens/personal_tokens.html",
        {
            "tokens": selectors.personal_tokens(user),
            "form": form or TokenForm(allowed=personal_token_scopes(user)),
            "issued": issued,
        },
        status=status,
    )


def _create(request: HttpRequest, *, kind: str, form: TokenForm) -> services.IssuedToken | None:
    if not form.is_valid():
        return None
    try:
        return services.token_create(
            actor=_user(request),
            kind=kind,
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data["expires_at"],
        )
    except ValidationError as error:
        add_service_errors(error, form)
        return None


def integration_tokens(request: HttpRequest) -> HttpResponse:
    _admin(request)
    if request.method != "POST":
        return _integration_page(request)
    form = TokenForm(request.POST)
    issued = _create(request, kind=TokenKind.INTEGRATION, form=form)
    if issued is None:
        return _integration_page(request, form=form, status=form_status(form))
    return _integration_page(request, issued=issued, status=201)


def personal_tokens(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    allowed = personal_token_scopes(user)
    if not allowed:
        raise PermissionDenied("This user may not hold API tokens.")
    if request.method != "POST":
        return _personal_page(request)
    form = TokenForm(request.POST, allowed=allowed)
    issued = _create(request, kind=TokenKind.PERSONAL, form=form)
    if issued is None:
        return _personal_page(request, form=form, status=form_status(form))
    return _personal_page(request, issued=issued, status=201)


def _managed_token(request: HttpRequest, pk: int) -> ApiToken:
    """The token, if the user may rotate or revoke it (403 otherwise)."""
    token = get_object_or_404(ApiToken.objects.select_related("user"), pk=pk)
    if not can_manage_token(_user(request), kind=token.kind, token_user_id=token.user_id):
        if token.kind == TokenKind.PERSONAL:
            raise PermissionDenied("This token is not yours.")
        raise PermissionDenied("Only admins manage integration tokens.")
    return token


def _back(request: HttpRequest, token: ApiToken) -> HttpResponse:
    if token.kind == TokenKind.PERSONAL and token.user_id == _user(request).pk:
        return redirect("personal-tokens")
    return redirect("integration-tokens")


@require_POST
def token_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    token = _managed_token(request, pk)
    try:
        issued = services.token_rotate(actor=_user(request), token=token)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, token)
    if token.kind == TokenKind.PERSONAL and token.user_id == _user(request).pk:
        return _personal_page(request, issued=issued)
    return _integration_page(request, issued=issued)


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = _managed_token(request, pk)
    try:
        services.token_revoke(actor=_user(request), token=token)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"“{token.name}” revoked: it no longer works.")
    return _back(request, token)
