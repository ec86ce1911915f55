from __future__ import annotations

import datetime as dt

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
