"""Form errors in views, shared by every app (no domain app owns this module): a service's ValidationError on its forms, and the status to answer.

Invalid submissions answer 422 so htmx (see base.html) swaps them in place and
scripts can tell them from success.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.forms import BaseForm

# The browser's own pickers, with the value formats they send back; Django copies a widget per field.
DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


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


INVALID = 422


def form_status(*forms: BaseForm) -> int:
    """422 when a submitted form has errors, else 200."""
    return INVALID if any(form.is_bound and form.errors for form in forms) else 200
