from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django import forms
from django.utils import timezone


class SnoozeForm(forms.Form):
    until = forms.DateField(
        label="Snooze until",
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}),
    )

    @staticmethod
    def initial_until() -> dt.date:
        return timezone.localdate() + dt.timedelta(days=7)


class ResolveForm(forms.Form):
    note = forms.CharField(
        label="What was done",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "class": "form-control form-control-sm"}),
    )


class FloodGuardForm(forms.Form):
    flood_share = forms.DecimalField(
        label="Flood share",
        max_digits=4,
        decimal_places=3,
        min_value=Decimal("0.001"),
        max_value=Decimal("1"),
        help_text="A share of the book, above 0 and at most 1: 0.2 warns when one rule raises new flags on more "
        "than 20% of the accounts in one night.",
    )
