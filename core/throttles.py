"""API rate limits, kept in the cache (Redis in production, so every worker counts together).

Signed-in callers (session or token) are counted per user, anonymous ones
per address; a caller over the rate gets a 429 with Retry-After. Guessing
tokens is slow too: an address whose token or credentials failed more than
`failed_auth` times in a minute is answered 429, right token or not, until
the minute has passed.

Rates are read at each request (DRF reads them once, at import), so tests
and deployments change them through settings.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from django.core.cache.backends.base import BaseCache
from django.core.exceptions import ObjectDoesNotExist
from django.db import DataError
from rest_framework import exceptions, throttling
from rest_framework.request import Request
from rest_framework.settings import api_settings

logger = logging.getLogger(__name__)


class _FailOpenCache:
    """The cache as the throttles use it (get and set), answering "no history" when the cache cannot be reached.

    With Redis down, a rate limit that raises would turn every API call into a 500. Counting is the
    part that can wait: calls go through unlimited, with a warning logged, until the cache is back.
    """

    def get(self, key: str, default: Any = None) -> Any:
        from django.core.cache import cache

        try:
            return cache.get(key, default)
        except Exception as error:  # whatever the cache backend raises when it is unreachable
            logger.warning("API rate limits not enforced: the cache is unreachable (%s)", type(error).__name__)
            return default

    def set(self, key: str, value: Any, timeout: float | None = None) -> None:
        from django.core.cache import cache

        try:
            cache.set(key, value, timeout)
        except Exception as error:  # as above
            logger.warning("API rate limits not counted: the cache is unreachable (%s)", type(error).__name__)


# Typed as the cache it stands in for: the throttles call only get and set.
FAIL_OPEN_CACHE = cast(BaseCache, _FailOpenCache())


def _rate(scope: str | None) -> str | None:
    rate = api_settings.DEFAULT_THROTTLE_RATES.get(scope or "")
    return str(rate) if rate else None


class AnonRateThrottle(throttling.AnonRateThrottle):
    cache = FAIL_OPEN_CACHE

    def get_rate(self) -> str | None:
        return _rate(self.scope)


class UserRateThrottle(throttling.UserRateThrottle):
    cache = FAIL_OPEN_CACHE

    def get_rate(self) -> str | None:
        return _rate(self.scope)


class _FailedAuthCounter(throttling.SimpleRateThrottle):
    """Failed authentications per address: counted by the exception handler, checked by the gate."""

    scope = "failed_auth"
    cache = FAIL_OPEN_CACHE

    def get_rate(self) -> str | None:
        return _rate(self.scope)

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked(self, request: Any) -> float | None:
        """Seconds to wait if this address failed too often lately, else None."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        allowed, duration = self.parse_rate(self.rate)
        while self.history and self.history[-1] <= self.now - (duration or 0):
            self.history.pop()
        return self.wait() if allowed is not None and len(self.history) >= allowed else None

    def record(self, request: Any) -> None:
        if self.rate is None:
            return
        self.blocked(request)
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history, self.parse_rate(self.rate)[1])


class FailedAuthenticationGate:
    """First of the authentication classes: refuses, with a 429, credentials from an address that failed too often.

    It authenticates nobody itself (returns None) and answers the 401's
    WWW-Authenticate as the next class does.
    """

    def authenticate(self, request: Request) -> None:
        if not request.META.get("HTTP_AUTHORIZATION"):
            return None
        wait = _FailedAuthCounter().blocked(request)
        if wait is not None:
            raise exceptions.Throttled(
                wait=wait, detail="Too many failed authentications from this address; wait before trying again."
            )
        return None

    def authenticate_header(self, request: Request) -> str | None:
        following: list[Any] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES[1:])
        return following[0]().authenticate_header(request) if following else None


def exception_handler(exc: Exception, context: dict[str, Any]) -> Any:
    """DRF's handler, plus: a failed authentication counts against the caller's address, a number the database
    cannot hold (an id or filter value past 64 bits) is the caller's 400, and a row deleted by another request
    while this one was served is a 404, not a 500."""
    if isinstance(exc, OverflowError | DataError):
        logger.warning("Refused an out-of-range value: %s", exc)
        exc = exceptions.ValidationError({"detail": "A number in the request is out of range."})
    if isinstance(exc, ObjectDoesNotExist):
        # A row the view had found was deleted by another request before a service locked it (a contact whose
        # account was deleted meanwhile): the caller asked for something that is no longer there.
        logger.warning("A row went away while the request was served: %s", exc)
        exc = exceptions.NotFound("Not found: it was deleted while the request was being served.")
    # Imported here: this module is loaded while DRF's views module (which reads the authentication setting) loads.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, exceptions.AuthenticationFailed):
        request = context.get("request")
        if request is not None:
            _FailedAuthCounter().record(request)
    response = drf_exception_handler(exc, context)
    if isinstance(exc, exceptions.Throttled) and response is not None:
        seconds = getattr(exc, "wait", None)
        if seconds is None:
            response["Retry-After"] = "60"
        if str(exc.detail).startswith(str(exceptions.Throttled.default_detail)):
            wait = f"{seconds} second{'s' if seconds != 1 else ''}" if seconds is not None else "a minute"
            response.data = {"detail": f"Too many requests: slow down and try again in {wait}."}
    return response
