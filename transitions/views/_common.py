from __future__ import annotations

from django.core.exceptions import ValidationError
from django.forms import Form


def add_errors(form: Form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form that fed it."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def first_error(form: Form) -> str:
    return "; ".join(message for errors in form.errors.values() for message in errors)
