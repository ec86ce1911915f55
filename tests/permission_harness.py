"""How the permission matrix walks the URLs, signs each role in and sorts an answer into an outcome.

Kept apart from the table (tests/test_permission_matrix.py) so the table reads as a table.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import resolve_url
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Outcomes. OK: the role got through (2xx, or a redirect other than to a sign-in page). BAD: through the access
# checks, then the request itself was refused (400, 409, 422: a form or body that does not validate, or a state
# that does not allow it). LOGIN: sent to a sign-in page (the site's, or the Django admin's).
OK, BAD, LOGIN = "ok", "bad", "login"
E401, E403, E404, E405 = "401", "403", "404", "405"

ROLES = (
    "anonymous",
    "csm_owner",
    "csm_other_team",
    "csm_pooled",
    "manager",
    "manager_other_team",
    "admin",
    "revoked_token",
)

READ_METHODS = ("GET",)
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Route:
    """One URL pattern: `key` names it in the table (its namespaced name, or its pattern when it has none)."""

    key: str
    name: str | None
    pattern: str
    params: tuple[str, ...]
    methods: tuple[str, ...]
    is_api: bool


def _methods(callback: Any, *, is_api: bool) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset route: exactly the methods it maps to actions
        return tuple(sorted((method.upper() for method in actions), key=_method_order))
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if is_api and view_class is not None:
        names = [
            m for m in view_class.http_method_names if m not in ("options", "head", "trace") and hasattr(view_class, m)
        ]
        return tuple(sorted((m.upper() for m in names), key=_method_order))
    # Function views and Django's admin: a GET and a POST for everyone; a view that refuses one says 405.
    return ("GET", "POST")


def _method_order(method: str) -> int:
    return (*READ_METHODS, *WRITE_METHODS).index(method)


def _walk(patterns: list, prefix: str, namespace: str) -> Iterator[tuple[str, str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace])) if pattern.namespace else namespace
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        else:
            yield prefix + str(pattern.pattern), namespace, pattern


def all_routes() -> list[Route]:
    """Every URL pattern the site answers, once: DRF's `.json`-style format-suffix twins of a route are the same
    view with the same checks, so they share its entry."""
    routes: dict[str, Route] = {}
    for full, namespace, pattern in _walk(get_resolver().url_patterns, "", ""):
        name = f"{namespace}:{pattern.name}" if namespace and pattern.name else pattern.name
        regex = pattern.pattern.regex
        params = tuple(p for p in regex.groupindex if p != "format")
        if "format" in regex.groupindex and name in routes:
            continue
        if "format" in regex.groupindex and name == "api:api-root":
            continue
        key = name or full
        is_api = full.startswith("api/")
        routes.setdefault(
            key,
            Route(
                key=key,
                name=name,
                pattern=full,
                params=params,
                methods=_methods(pattern.callback, is_api=is_api),
                is_api=is_api,
            ),
        )
    return sorted(routes.values(), key=lambda route: route.key)


def url_for(route: Route, kwargs: dict[str, Any]) -> str:
    if route.name:
        return reverse(route.name, kwargs=kwargs)
    # An unnamed pattern (the admin's bare object URL): fill its groups by hand.
    path = route.pattern.replace("^", "").replace("$", "")
    for param, value in kwargs.items():
        path = re.sub(rf"<(?:\w+:)?{param}>|\(\?P<{param}>[^)]*\)", str(value), path)
    return "/" + path


def outcome_of(response: HttpResponse) -> str:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        target = urlsplit(response["Location"]).path
        return LOGIN if target in (resolve_url(settings.LOGIN_URL), reverse("admin:login")) else OK
    if 200 <= status < 300:
        return OK
    if status in (400, 409, 413, 415, 422):
        return BAD
    return str(status)


class Caller:
    """Sends each request as one role, rolled back afterwards, so a write leaves the book as it found it.

    One test client for every request: a client loads the middleware once, and WhiteNoise's (with the
    finders on in tests) walks every static file as it loads. Its cookies are set afresh for each request, so
    nothing one request leaves behind (a sign-in ended by signing out, a message) reaches the next.
    """

    def __init__(self, signed_in: dict[str, dict[str, str]], revoked_token: str) -> None:
        self.client = Client(raise_request_exception=False)
        # Each role's cookies once signed in.
        self.signed_in = signed_in
        self.revoked_token = revoked_token

    def send(self, role: str, method: str, url: str, body: dict[str, Any] | None, *, is_api: bool) -> HttpResponse:
        client = self.client
        client.cookies.clear()
        headers = {}
        if role in self.signed_in:
            for name, value in self.signed_in[role].items():
                client.cookies[name] = value
        elif role == "revoked_token":
            headers["Authorization"] = f"Bearer {self.revoked_token}"
        with transaction.atomic():
            if method == "GET":
                response = client.get(url, headers=headers)
            elif is_api:
                payload = json.dumps(body or {})
                response = client.generic(method, url, payload, content_type="application/json", headers=headers)
            elif method == "POST":
                response = client.post(url, body or {}, headers=headers)
            else:
                response = client.generic(method, url, headers=headers)
            transaction.set_rollback(True)
        return response


class NoNetwork:
    """Nothing a request does may reach past this machine (a webhook test, a chat post): names resolve only if
    they are local, so an outbound call fails fast instead of waiting on the network."""

    LOCAL = {"localhost", "127.0.0.1", "::1", "testserver", None}

    def __init__(self, monkeypatch) -> None:
        real = socket.getaddrinfo

        def local_only(host, *args, **kwargs):
            if host not in self.LOCAL:
                raise socket.gaierror(f"the permission matrix does not reach {host}")
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", local_only)
