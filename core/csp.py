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

One exception: Django REST framework's browsable API is DRF's markup, not
Baton's. Its templates carry `style=` attributes (a button's float, a search
box's width) and, when Pygments is installed, inline Pygments' fixed
stylesheet in a `<style>` block without our nonce. Its HTML responses get the
same policy with style attributes allowed (they cannot run script) and that
one stylesheet allowed by its hash; scripts and everything else stay as
strict. JSON from the same views and every Baton page keep
`style-src-attr 'none'`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import secrets
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.html import conditional_escape
from rest_framework.compat import pygments_css
from rest_framework.renderers import BrowsableAPIRenderer

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


def policy(nonce: str, *, browsable_api: bool = False) -> str:
    directives = dict(getattr(settings, "BATON_CSP", DEFAULT_POLICY))
    if browsable_api:
        directives["style-src-attr"] = "'unsafe-inline'"
        stylesheet = _browsable_api_stylesheet_hash()
        if stylesheet and "style-src-elem" in directives:
            directives["style-src-elem"] += f" {stylesheet}"
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
            response[HEADER] = policy(nonce, browsable_api=is_browsable_api(response))
        return response


def is_browsable_api(response: HttpResponse) -> bool:
    """DRF's HTML pages: content negotiation leaves the renderer it chose on the response, so JSON is not one."""
    return isinstance(getattr(response, "accepted_renderer", None), BrowsableAPIRenderer)


@functools.cache
def _browsable_api_stylesheet_hash() -> str | None:
    """The CSP source for the `<style>{{ code_style }}</style>` DRF's base template writes; None without Pygments."""
    css = pygments_css(BrowsableAPIRenderer.code_style)
    if css is None:
        return None
    # The template autoescapes the stylesheet; the browser hashes the text as it arrives.
    digest = hashlib.sha256(str(conditional_escape(css)).encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"
