"""The API's error shape, shared by every app's DRF views, and how a batch of rows is taken and answered."""

from __future__ import annotations

from typing import Any, Protocol

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
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


class RowErrorSerializer(serializers.Serializer):
    """One problem of a batch (core.batches.RowError), as the API documents it."""

    index = serializers.IntegerField(help_text="0-based position of the row; -1 for the batch as a whole.")
    field = serializers.CharField()
    message = serializers.CharField()


class BatchErrorSerializer(serializers.Serializer):
    """A rejected batch: what went wrong overall and every row's problem; nothing was written."""

    detail = serializers.CharField()
    # Documents the response's "errors" list; the name shadows Serializer.errors, which this never validates.
    errors = RowErrorSerializer(many=True)  # type: ignore[assignment]


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
