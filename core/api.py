"""The API's error shape, shared by every app's DRF views, and how a batch of rows is taken and answered."""

from __future__ import annotations

from typing import Any, Protocol

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from core.batches import RowError


def as_drf_error(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as DRF's 400: {"field": ["message", ...]}, model-level errors under non_field_errors."""
    if hasattr(error, "error_dict"):
        return ValidationError(
            {
                # Model-level errors (constraints) arrive under Django's "__all__"; DRF clients expect its own key.
                ("non_field_errors" if field == NON_FIELD_ERRORS else field): [m for e in errors for m in e.messages]
                for field, errors in error.error_dict.items()
            }
        )
    return ValidationError({"non_field_errors": error.messages})


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}], "maxLength": 254}
)
class OptionalEmailField(serializers.EmailField):
    """An email address or "" (none known): OpenAPI's `format: email` alone would call the empty string invalid."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 254)
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_blank", True)
        super().__init__(**kwargs)


# For a view's own `extend_schema(responses={400: VALIDATION_ERROR})` where only it knows the input can be refused
# (the shape is the ValidationError component's: {"field": ["message", ...]}).
VALIDATION_ERROR = OpenApiResponse(
    response=OpenApiTypes.OBJECT, description="The request broke a rule; nothing was changed. {field: [messages]}."
)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Django's 404 handler (csm/urls.py): under /api/ a JSON error like every other API answer, not an HTML page.

    A path no route matches (`/api/accounts/1.5/`, `/api/imports/-3/`) never reaches a DRF view, so without
    this a client that asked for JSON would get Django's HTML page.
    """
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found: no such API address."}, status=status.HTTP_404_NOT_FOUND)
    return page_not_found(request, exception or Http404())


class RowErrorSerializer(serializers.Serializer):
    """One problem of a batch (core.batches.RowError), as the API documents it."""

    index = serializers.IntegerField(help_text="0-based position of the row; -1 for the batch as a whole.")
    field = serializers.CharField()
    message = serializers.CharField()


class BatchErrorSerializer(serializers.Serializer):
    """A rejected batch: what went wrong overall and every row's problem; nothing was written."""

    detail = serializers.CharField()
    # Documents the response's "errors" list; the name shadows Serializer.errors, which this never validates.
    # Absent when the body could not be read at all (not JSON, too deep): then `detail` alone says why.
    errors = RowErrorSerializer(many=True, required=False)  # type: ignore[assignment]


DRY_RUN = OpenApiParameter(
    "dry_run", OpenApiTypes.BOOL, description="Check the batch and report counts; write nothing.", required=False
)


def dry_run_asked(request: Request) -> bool:
    return (request.query_params.get("dry_run") or "").lower() in {"1", "true", "yes", "on"}


def batch_rows(request: Request, *, max_rows: int) -> list[Any] | Response:
    """The request's {"rows": [...]}, or the 400 (not such an object) or 413 (too many rows) that says why not."""
    data = request.data
    rows = data.get("rows") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        return Response(
            {"detail": 'Send {"rows": [...]}: a JSON object with a list of rows.', "errors": []},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if len(rows) > max_rows:
        return Response(
            {"detail": f"At most {max_rows:,} rows per request (got {len(rows):,}); split the batch.", "errors": []},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    return rows


class BatchResult(Protocol):
    errors: list[RowError]

    @property
    def ok(self) -> bool: ...

    @property
    def forbidden(self) -> bool: ...

    def as_dict(self) -> dict[str, Any]: ...


def batch_response(result: BatchResult, *, forbidden: str) -> Response:
    """200 with the batch's counts; else 403 (`forbidden` says why) or 400 with every row's problem."""
    if result.ok:
        return Response(result.as_dict())
    errors = [error.as_dict() for error in result.errors]
    if result.forbidden:
        return Response(
            {"detail": f"{forbidden}; nothing was written.", "errors": errors}, status=status.HTTP_403_FORBIDDEN
        )
    return Response(
        {"detail": f"{len(errors)} problem(s) found; nothing was written.", "errors": errors},
        status=status.HTTP_400_BAD_REQUEST,
    )


# --- the errors every operation documents ----------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "description": "Why the request was refused, in words.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA = {
    "type": "object",
    "description": 'What was wrong with the input: {"field": ["message", ...]}, problems with the input as a whole '
    'under "non_field_errors", or {"detail": "..."} when the body could not be read at all.',
    "additionalProperties": {},
}

_ERRORS = {
    "400": ("The input was malformed or broke a rule; nothing was changed.", "ValidationError"),
    "401": ("No valid credentials (`Authorization: Bearer baton_...`).", "Error"),
    "403": ("Authenticated, but not allowed: the role, the token's scopes, or the object's owner says no.", "Error"),
    "404": ("No such object, or not one this caller may see; on lists, a page or cursor that does not exist.", "Error"),
    "413": ("The request body is larger than the API accepts.", "Error"),
    "415": ("The request body is not in a content type the operation reads (JSON).", "Error"),
    "429": ("Too many requests: wait for the Retry-After header's seconds.", "Error"),
}


def _codes_for(operation: dict[str, Any]) -> list[str]:
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    codes = ["401", "403", "429"]
    # Query parameters (filters, page sizes, dates) and bodies are validated.
    if has_body or any(parameter.get("in") == "query" for parameter in parameters):
        codes.append("400")
    # An id in the path names an object that may not exist; a list's page or cursor may point past the end.
    if any(parameter.get("in") in {"path", "query"} for parameter in parameters):
        codes.append("404")
    if has_body:
        codes += ["413", "415"]
    return codes


def error_responses_hook(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: every operation documents the errors the whole API can answer.

    What every view shares (authentication, scopes, throttling, parsing, validation, missing ids and pages)
    is declared here once rather than on ~170 operations; a view's own `extend_schema(responses=...)` for a code
    (a batch's BatchError, a 409) wins, since only codes an operation does not document yet are added.
    """
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Error", ERROR_SCHEMA)
    schemas.setdefault("ValidationError", VALIDATION_ERROR_SCHEMA)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "put", "patch", "post", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes_for(operation):
                if code not in responses:
                    description, component = _ERRORS[code]
                    responses[code] = {
                        "description": description,
                        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
                    }
    return result
