"""Content Security Policy: pages run only Baton's own scripts and styles (Django 5.2 has no CSP of its own).

Scripts come from Baton's static files, or from an inline block that
carries this response's nonce (`<script nonce="{{ request.csp_nonce }}">`);
no inline event handler (`onclick=`) runs. Style sheets come from static
files too (or a `<style>` block with the nonce); no `style=` attribute
applies, so what a page's markup needs (a progress bar's width, say) is a
class in `static/css/baton.css`. Scripts may still set `element.style` (the
CSSOM), which the policy does not govern. Emails are not pages: their inline
styles are for mail clients and no policy reads them. Nothing is framed,
forms post only here.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

DEFAULT_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self' {nonce}",
    "script-src-attr": "'none'",
    "style-src": "'self'",
    "style-src-elem": "'self' {nonce}",
    "style-src-attr": "'none'",
    "img-src": "'self' data:",
    "font-src": "'self' data:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
}


def policy(nonce: str) -> str:
    directives = getattr(settings, "BATON_CSP", DEFAULT_POLICY)
    source = f"'nonce-{nonce}'"
    return "; ".join(f"{name} {value.format(nonce=source)}" for name, value in directives.items())


class ContentSecurityPolicyMiddleware:
    """Gives each request a nonce (`request.csp_nonce`) and each response the policy that names it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        if getattr(settings, "BATON_CSP", DEFAULT_POLICY) and HEADER not in response:
            response[HEADER] = policy(nonce)
        return response
