"""The portfolio's filters: team, tier, segment and the period its over-time charts cover."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django import forms
from django.utils import timezone

from accounts.models import Tier
from users.models import Team, User

DEFAULT_DAYS = 90
# Longer periods only thin out the weekly points; a cap keeps the trend's snapshot read bounded.
MAX_DAYS = 366
FARTHEST_DAYS = 20 * 365


@dataclass(frozen=True)
class PortfolioFilters:
    """What the page is narrowed to; `since`..`until` is the period of the over-time charts (trend, flags)."""

    until: dt.date
    since: dt.date
    team: Team | None = None
    tiers: tuple[str, ...] = field(default_factory=tuple)
    segment: str = ""

    @classmethod
    def default(cls, *, today: dt.date | None = None) -> PortfolioFilters:
        until = today or timezone.localdate()
        return cls(until=until, since=until - dt.timedelta(days=DEFAULT_DAYS - 1))


class PortfolioFilterForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label="All teams")
    tier = forms.MultipleChoiceField(choices=Tier.choices, required=False, widget=forms.CheckboxSelectMultiple)
    segment = forms.ChoiceField(required=False)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="From")
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="To")

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        teams = Team.objects.order_by("name")
        if not user.is_admin:
            # A manager's page is their team's book and a CSM's their own: other teams would only come up empty.
            teams = teams.filter(pk=user.team_id) if user.team_id else teams.none()
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        segments = Team.objects.exclude(segment="").order_by("segment").values_list("segment", flat=True).distinct()
        self.fields["segment"].choices = [("", "All segments"), *((s, s) for s in segments)]  # type: ignore[attr-defined]
        for name in ("team", "segment"):
            self.fields[name].widget.attrs["class"] = "form-select form-select-sm"
        for name in ("since", "until"):
            self.fields[name].widget.attrs["class"] = "form-control form-control-sm"
        self.fields["tier"].widget.attrs["class"] = "form-check-input"

    def clean(self) -> dict:
        data = super().clean() or {}
        until = data.get("until") or timezone.localdate()
        since = data.get("since") or until - dt.timedelta(days=DEFAULT_DAYS - 1)
        today = timezone.localdate()
        reach = dt.timedelta(days=FARTHEST_DAYS)
        if not (today - reach <= since and until <= today + reach):
            # Far-off days would overflow the date arithmetic below them; nothing real lies there anyway.
            raise forms.ValidationError("Choose days within twenty years of today.")
        if since > until:
            raise forms.ValidationError("The period's start comes after its end.")
        if (until - since).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        data["since"], data["until"] = since, until
        return data

    def filters(self) -> PortfolioFilters:
        data = self.cleaned_data
        return PortfolioFilters(
            until=data["until"],
            since=data["since"],
            team=data.get("team"),
            tiers=tuple(data.get("tier") or ()),
            segment=data.get("segment") or "",
        )
