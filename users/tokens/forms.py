from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from django import forms

from core.forms import DATETIME_INPUT

from .scopes import Scope

SCOPE_HELP = {
    Scope.READ: "read everything the token's user may see",
    Scope.WRITE_SIGNALS: "send usage, tickets, surveys and invoices",
    Scope.WRITE_ACCOUNTS: "create and change accounts, contacts, timeline, outcomes, products and entitlements",
}


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “Product usage feed”.")
    scopes = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple)
    expires_at = forms.DateTimeField(
        required=False, widget=DATETIME_INPUT, label="Expires (optional)", help_text="Leave empty for no expiry."
    )

    def __init__(self, *args: object, allowed: Iterable[Scope] = tuple(Scope), **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        allowed = set(allowed)
        cast(forms.MultipleChoiceField, self.fields["scopes"]).choices = [
            (scope.value, f"{scope.value}: {SCOPE_HELP[scope]}") for scope in Scope if scope in allowed
        ]
        self.fields["name"].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["expires_at"].widget.attrs["class"] = "form-control form-control-sm"
