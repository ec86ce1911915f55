from __future__ import annotations

from django import forms

from .services import MAX_ROWS


class ExchangeRateForm(forms.Form):
    currency = forms.CharField(
        max_length=3, help_text="ISO 4217 code, e.g. EUR.", widget=forms.TextInput(attrs={"class": "form-control"})
    )
    rate_to_reporting = forms.DecimalField(
        label="Rate",
        max_digits=18,
        decimal_places=8,
        min_value=0,
        help_text="One unit is worth this much.",
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )
    effective_on = forms.DateField(
        label="In force from", widget=forms.DateInput(attrs={"type": "date", "class": "form-control"})
    )


class ExchangeRateEditForm(forms.Form):
    """A rate's value and first day; its currency stays (a rate for another currency is a new rate)."""

    rate_to_reporting = ExchangeRateForm.base_fields["rate_to_reporting"]
    effective_on = ExchangeRateForm.base_fields["effective_on"]


class ExchangeRateImportForm(forms.Form):
    file = forms.FileField(
        widget=forms.ClearableFileInput(attrs={"class": "form-control", "accept": ".csv,text/csv"}),
        help_text=f"CSV with the columns currency, rate, effective_on (YYYY-MM-DD); up to {MAX_ROWS:,} rows.",
    )
    dry_run = forms.BooleanField(
        required=False,
        initial=True,
        label="Check only (write nothing)",
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
