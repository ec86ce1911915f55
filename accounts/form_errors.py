"""Showing a service's ValidationError on the forms that fed it; shared by every app's views."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.forms import BaseForm


def add_service_errors(error: ValidationError, form: BaseForm, *others: BaseForm) -> None:
    """Put each field's errors on the form that has the field (else on `form`, as non-field errors)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.error_dict.items():
        target = next((f for f in (form, *others) if field in f.fields), None)
        if target is None:
            form.add_error(None, errors)
        else:
            target.add_error(field, errors)
