"""The API's error shape, shared by every app's DRF views."""

from __future__ import annotations

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError


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
