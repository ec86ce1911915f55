"""Forms for outcomes: the Account 360's "record an outcome", each line of a CSV import, and the import's upload."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone

from accounts.models import Account
from core.csv_files import MAX_CSV_BYTES, CsvFileField
from core.forms import DATE_INPUT

from .models import ChurnReason, Outcome, OutcomeKind
from .selectors import OutcomeEntry, current_term

ISO_DATE = ["%Y-%m-%d"]  # never 03/04/2025, which reads as March in one country and April in the next
DATE_ERRORS = {"invalid": "Use a date like 2025-03-31."}
MONEY_ERRORS = {
    "invalid": "Use a number like 50000 or 50000.00, without thousands separators.",
    "min_value": "ARR cannot be negative.",
    "max_decimal_places": "At most two decimal places.",
    "max_digits": "That is more than Baton can hold.",
    "max_whole_digits": "That is more than Baton can hold.",
}


def _money_field(label: str, *, required: bool = True, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=required,
        help_text=help_text,
        error_messages=MONEY_ERRORS,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )


class OutcomeFieldsForm(forms.Form):
    """An outcome's values, typed: shared by the Account 360's form and each line of a CSV file.

    The rules across fields (a churn needs a reason, a downgrade lowers the ARR, ...) are the
    service's (accounts.outcomes.services.outcome_errors), so every way in says the same.
    """

    kind = forms.ChoiceField(
        choices=OutcomeKind.choices,
        label="What happened",
        error_messages={"invalid_choice": "Use renewed, downgraded or churned (got “%(value)s”)."},
    )
    occurred_on = forms.DateField(
        label="Happened on", input_formats=ISO_DATE, widget=DATE_INPUT, error_messages=DATE_ERRORS
    )
    term_start = forms.DateField(
        label="Term start", input_formats=ISO_DATE, widget=DATE_INPUT, error_messages=DATE_ERRORS
    )
    term_end = forms.DateField(label="Term end", input_formats=ISO_DATE, widget=DATE_INPUT, error_messages=DATE_ERRORS)
    arr_before = _money_field("ARR before")
    arr_after = _money_field("ARR after", required=False)
    currency = forms.CharField(max_length=3, required=False)
    reason = forms.ChoiceField(
        choices=[("", "—"), *ChurnReason.choices],
        required=False,
        error_messages={"invalid_choice": f"Unknown reason “%(value)s”: use one of {', '.join(ChurnReason.values)}."},
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def outcome_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in OutcomeFieldsForm.base_fields}


def describe(outcome: Outcome) -> str:
    """An outcome in a few words, to pick it from a list."""
    day = f"{outcome.occurred_on.day} {outcome.occurred_on:%b %Y}"
    return f"{outcome.get_kind_display()} on {day}: {outcome.currency} {outcome.arr_before:,.0f} → {outcome.arr_after:,.0f}"


class OutcomeForm(OutcomeFieldsForm):
    """Record an outcome on the Account 360, or correct one; pre-filled with the account's current term and ARR.

    The page shows only the fields that fit the chosen kind; a value left in a field the kind
    hides (a new ARR typed before switching to "churned") does not count.
    """

    corrects = forms.TypedChoiceField(coerce=int, empty_value=None, required=False, label="Corrects")

    def __init__(self, *args: Any, account: Account, outcomes: list[OutcomeEntry], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["kind"].widget = forms.RadioSelect(choices=OutcomeKind.choices, attrs={"class": "btn-check"})
        self.fields["kind"].initial = OutcomeKind.RENEWED
        self.fields["arr_after"].label = "New ARR"
        cast(forms.ChoiceField, self.fields["reason"]).choices = [("", "Choose a reason"), *ChurnReason.choices]
        self.fields["note"].widget.attrs["placeholder"] = "What the customer said; what we could have done"
        # Only an outcome nothing corrects yet can be corrected: a chain of corrections stays a line.
        self.correctable = {entry.outcome.pk: entry.outcome for entry in outcomes if entry.effective}
        cast(forms.ChoiceField, self.fields["corrects"]).choices = [
            ("", "Nothing: this is a new outcome"),
            *((pk, describe(outcome)) for pk, outcome in self.correctable.items()),
        ]
        start, end = current_term(account, outcomes=[entry.outcome for entry in outcomes])
        self.initial.update(
            {
                "kind": OutcomeKind.RENEWED,
                "occurred_on": timezone.localdate(),
                "term_start": start,
                "term_end": end,
                "arr_before": account.arr,
                "currency": account.currency,
                **self.initial,
            }
        )

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        kind = cleaned.get("kind")
        if kind == OutcomeKind.CHURNED:
            cleaned["arr_after"] = Decimal(0)
        elif kind == OutcomeKind.RENEWED:
            cleaned["reason"] = ""
        return cleaned

    def service_kwargs(self) -> dict[str, Any]:
        return {**self.outcome_values(), "corrects": self.correctable.get(self.cleaned_data["corrects"])}


class OutcomeRowForm(OutcomeFieldsForm):
    """One line of an outcomes CSV file; the account is resolved for the whole file at once."""

    account = forms.CharField(max_length=200, error_messages={"required": "Name the account by its id or domain."})


class OutcomeImportForm(forms.Form):
    file = CsvFileField(label="CSV file")


class OutcomeImportConfirmForm(forms.Form):
    """The previewed file, sent back as text, and the fingerprint of what the preview said it would record."""

    content = forms.CharField(widget=forms.HiddenInput, strip=False, max_length=MAX_CSV_BYTES)
    digest = forms.CharField(widget=forms.HiddenInput, max_length=64)
