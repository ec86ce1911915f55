"""The API's JSON parser: a size limit, and a 400 for what the database or the code below could not take.

DRF's own parser reads the whole body, however large (Django's
DATA_UPLOAD_MAX_MEMORY_SIZE guards forms, not the stream DRF reads), and
passes on what JSON allows but nothing here expects: a NUL character
(PostgreSQL refuses it in text), integers of thousands of digits, `1e999`
(infinity), NaN, and nesting deep enough to exhaust the stack. Each is now
refused before a view sees it: 413 over the size limit, 400 for the rest,
with a message that says which.

Batch endpoints ({"rows": [...]}, up to 10,000 rows) use BatchJSONParser,
whose limit is larger.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser

MAX_DEPTH = 32
# The widest integer a database column (bigint) holds.
MAX_INT = 2**63 - 1


class RequestTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "request_too_large"


def _parse_int(text: str) -> int:
    # Checked on the text before int() is asked to convert thousands of digits.
    if len(text.lstrip("-")) > 19 or abs(int(text)) > MAX_INT:
        raise ValueError(f"the number {text[:20]}{'…' if len(text) > 20 else ''} is out of range")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _check(data: Any) -> None:
    """Raises ParseError for nesting deeper than MAX_DEPTH or a NUL character in any key or string."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise ParseError("JSON parse error - text may not contain the NUL character (\\u0000).")
        elif isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.")
            if isinstance(value, dict):
                stack.extend((key, depth) for key in value)
                stack.extend((item, depth + 1) for item in value.values())
            else:
                stack.extend((item, depth + 1) for item in value)


class JSONParser(DRFJSONParser):
    """DRF's JSON parser with a body size limit (413) and a 400 for NUL, huge numbers, NaN and deep nesting."""

    setting = "BATON_API_MAX_BODY_BYTES"
    default_limit = 2 * 1024 * 1024

    def limit(self) -> int:
        return int(getattr(settings, self.setting, self.default_limit))

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        limit = self.limit()
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise RequestTooLarge(
                f"The request body is larger than {limit:,} bytes; send less (split a batch into several requests)."
            )
        try:
            data = json.loads(
                raw.decode(encoding),
                parse_int=_parse_int,
                parse_float=_parse_float,
                parse_constant=_parse_constant,
            )
        except RecursionError as error:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_DEPTH} levels.") from error
        except (ValueError, UnicodeDecodeError) as error:
            raise ParseError(f"JSON parse error - {error}") from error
        _check(data)
        return data


class BatchJSONParser(JSONParser):
    """For endpoints that take up to 10,000 rows at once: the same checks, a larger size limit."""

    setting = "BATON_API_MAX_BATCH_BYTES"
    default_limit = 20 * 1024 * 1024
