from __future__ import annotations

from django import forms

from .services import MAX_ROWS


class ExchangeRateForm(forms.Form):
    currency = forms.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    rate_to_reporting = forms.DecimalField(
        label="Rate", max_digits=18, decimal_places=8, min_value=0, help_text="One unit is worth this much."
    )
    effective_on = forms.DateField(label="In force from", widget=forms.DateInput(attrs={"type": "date"}))


class ExchangeRateImportForm(forms.Form):
    file = forms.FileField(
        help_text=f"CSV with the columns currency, rate, effective_on (YYYY-MM-DD); up to {MAX_ROWS:,} rows."
    )
    dry_run = forms.BooleanField(required=False, initial=True, label="Check only (write nothing)")
