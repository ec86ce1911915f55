"""What an API token may do, and which scope each API view asks of it.

Reads (GET, HEAD, OPTIONS) need `read`. A write needs the scope its view
declares in `csm/api_router.py`; a view declared with `None` only reads for
tokens (its writes are made in Baton itself), and a view not declared at all
refuses tokens outright, so a new endpoint is closed to tokens until someone
decides. Session users (the browser) are never asked for a scope.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models


class Scope(models.TextChoices):
    READ = "read", "Read"
    WRITE_SIGNALS = "write:signals", "Write signals"
    WRITE_ACCOUNTS = "write:accounts", "Write accounts"


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_writes: dict[type, Scope | None] = {}


def declare(writes: Mapping[type, Scope | None]) -> None:
    """Name, for each view class, the scope a token needs to write through it (None: tokens only read it)."""
    _writes.update(writes)


def is_declared(view_class: type) -> bool:
    # The class itself, not its bases: a subclass of a declared view is a new endpoint and is decided anew.
    return view_class in _writes


class NotOpenToTokens(Exception):
    """The view refuses tokens for this method whatever their scopes."""


def required_scope(view_class: type, method: str) -> Scope:
    if view_class not in _writes:
        raise NotOpenToTokens("This endpoint is not open to API tokens.")
    if method.upper() in SAFE_METHODS:
        return Scope.READ
    scope = _writes[view_class]
    if scope is None:
        raise NotOpenToTokens("API tokens only read here; make this change in Baton.")
    return scope
