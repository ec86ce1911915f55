from __future__ import annotations

from django.forms import Form


def first_error(form: Form) -> str:
    return "; ".join(message for errors in form.errors.values() for message in errors)
