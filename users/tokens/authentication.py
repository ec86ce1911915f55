"""`Authorization: Bearer baton_<prefix>_<secret>` for the API (`Token baton_…` is accepted too).

One query per request finds the token and its user by prefix; the secret is
compared in constant time; a revoked or expired token, or one whose user is
switched off, is refused with 401 at once, as nothing caches a token's
validity beyond the request. The token's scopes are checked here against the
view's declaration (scopes.py), so no view can leave them out by naming its
own permission classes; a missing scope is a 403. `request.auth` is the
ApiToken, which a throttle can key on.

Legacy keys (`Token <40 hex>`, Django REST framework's authtoken) are not
ours: they fall through to the next authentication class.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from users.models import User

from . import keys
from .models import LAST_USED_EVERY, ApiToken
from .scopes import NotOpenToTokens, required_scope

KEYWORDS = ("bearer", "token")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if len(header) != 2 or header[0].decode("latin-1").lower() not in KEYWORDS:
            return None
        try:
            raw = header[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        parts = keys.split(raw)
        if parts is None:
            if header[0].lower() == b"token" and not raw.startswith(f"{keys.TOKEN_PREFIX}_"):
                return None  # a legacy key: the legacy class answers for it
            raise exceptions.AuthenticationFailed("Invalid token.")
        token = ApiToken.objects.select_related("user").filter(prefix=parts.prefix).first()
        if token is None or not keys.secret_matches(parts.secret, token.secret_hash):
            raise exceptions.AuthenticationFailed("Invalid token.")
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked.")
        if token.is_expired(now):
            raise exceptions.AuthenticationFailed("This token has expired.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("The user of this token is inactive.")
        # Marked before the scope check: a refused call is still this token in use, and worth seeing on its page.
        self._mark_used(request, token, now)
        self._check_scope(request, token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Being the first class, this also makes DRF answer 401 (not 403) to requests without credentials.
        return 'Bearer realm="api"'

    @staticmethod
    def _check_scope(request: Request, token: ApiToken) -> None:
        context: dict[str, Any] = getattr(request, "parser_context", None) or {}
        view = context.get("view")
        if view is None:
            raise exceptions.PermissionDenied("This endpoint is not open to API tokens.")
        try:
            scope = required_scope(type(view), request.method or "GET")
        except NotOpenToTokens as refused:
            raise exceptions.PermissionDenied(str(refused)) from refused
        if scope not in token.scopes:
            raise exceptions.PermissionDenied(f"This token lacks the {scope.value} scope.")

    @staticmethod
    def _mark_used(request: Request, token: ApiToken, now: dt.datetime) -> None:
        """At most one write a minute per token; the condition makes concurrent requests write once between them."""
        if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
            return
        ip = request.META.get("REMOTE_ADDR") or None
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY), pk=token.pk
        ).update(last_used_at=now, last_used_ip=ip)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """Shows the scheme in the API docs (their Authorize button takes the token)."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return build_bearer_security_scheme_object("Authorization", "Bearer", "baton_<prefix>_<secret>")
