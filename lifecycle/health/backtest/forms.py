"""The "New backtest" form: which version, against what, over which outcomes, how far ahead."""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from core.forms import DATE_INPUT
from lifecycle.health.backtest.services import DEFAULT_HORIZONS, MAX_SEED
from lifecycle.models import Scorecard

DEFAULT_PERIOD_DAYS = 730  # the last two years of outcomes


class VersionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Scorecard) -> str:
        return f"{obj.label} ({obj.get_status_display().lower()})"


def _versions():
    return Scorecard.objects.order_by("name", "-version")


class BacktestForm(forms.Form):
    scorecard = VersionChoiceField(
        queryset=_versions(),
        label="Scorecard version to test",
        help_text="Active, draft or retired: a draft that never ran is scored from the stored signals.",
    )
    baseline = VersionChoiceField(
        queryset=_versions(),
        required=False,
        label="Compare with (optional)",
        help_text="Scored on exactly the same outcomes, side by side.",
    )
    first_day = forms.DateField(widget=DATE_INPUT, label="Outcomes from")
    last_day = forms.DateField(widget=DATE_INPUT, label="Outcomes until", help_text="Both days included.")
    horizons = forms.CharField(
        label="Days ahead",
        help_text="How many days before each outcome to score the account, separated by commas.",
    )
    bootstrap_seed = forms.IntegerField(
        min_value=0,
        max_value=MAX_SEED,
        initial=0,
        label="Random seed",
        help_text="For the confidence interval: the same seed gives the same interval.",
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["first_day"].initial = today - dt.timedelta(days=DEFAULT_PERIOD_DAYS)
        self.fields["last_day"].initial = today
        self.fields["horizons"].initial = ", ".join(str(h) for h in DEFAULT_HORIZONS)

    def clean_horizons(self) -> list[int]:
        text = self.cleaned_data["horizons"]
        parts = [part for part in re.split(r"[\s,;]+", text.strip()) if part]
        if not parts:
            raise ValidationError("Give at least one number of days, e.g. 30, 60, 90.")
        bad = [part for part in parts if not part.isdigit()]
        if bad:
            raise ValidationError(f"Whole numbers of days only; not {', '.join(repr(b) for b in bad[:3])}.")
        return [int(part) for part in parts]
