from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from lifecycle.health.services import MAX_OVERRIDE_DAYS


class ScoreOverrideForm(forms.Form):
    score = forms.IntegerField(
        min_value=0, max_value=100, help_text="0–100; the band follows the scorecard's cut-offs."
    )
    expires_on = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}),
        label="Expires on",
        help_text=f"At most {MAX_OVERRIDE_DAYS} days ahead.",
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires_on"].initial = timezone.localdate() + dt.timedelta(days=30)

    def expires_at(self) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(self.cleaned_data["expires_on"], dt.time(23, 59)))
