"""The scorecard editor's forms: the scorecard's own settings, and one row per measure Baton knows."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.forms.models import model_to_dict

from lifecycle.health.defaults import SUGGESTED_MEASURES
from lifecycle.health.scorecards.services import MAX_WEIGHT, MIN_WEIGHT, MeasureSpec
from lifecycle.models import MeasureKind, Scorecard, WhenMissing

# What each measure's raw value is, in the unit its thresholds are written in.
MEASURE_UNITS: dict[str, str] = {
    MeasureKind.USAGE_TREND: (
        "% change in daily active users (or key events), last 7 days against the 28 before; a day without a row"
        " counts as no use"
    ),
    MeasureKind.LICENCE_UTILISATION: "% of owned licences in use",
    MeasureKind.ENGAGEMENT_RECENCY: "days since the last touchpoint (capped at the validity window; none in a year: missing)",
    MeasureKind.CHECKIN_CADENCE: "% of the expected check-in calls held (adoption stage only)",
    MeasureKind.SUPPORT_BURDEN: "open tickets weighted by severity (low 1 … urgent 4)",
    MeasureKind.NPS: "the latest NPS answer, 0–10",
    MeasureKind.OPEN_RED_FLAGS: "open red flags",
    MeasureKind.STAKEHOLDER_COVERAGE: "% of champion and decision maker known (50 each)",
    MeasureKind.CSM_PULSE: "the CSM's gut-feel rating, 1–6",
    MeasureKind.CHECKIN_CONCERNS: "concerns raised at the last check-in",
    MeasureKind.USAGE_LEVEL: (
        "% mean daily active users per owned licence (or seat bought) over the last 28 days (where none are"
        " reported, mean daily key events per 100 licences); 0 when dormant"
    ),
    MeasureKind.SURVEY_SENTIMENT: "latest NPS (×10) and CSAT ((answer − 1) × 25) within the validity window, 0–100",
    MeasureKind.SUPPORT_LOAD: (
        "tickets opened in the last 90 days, closed or not, weighted by severity (low 1 … urgent 4), plus a point"
        " per hour of support time"
    ),
    MeasureKind.TENURE: "days since the first contract started",
    MeasureKind.ADOPTION_BREADTH: "% of the products held that were used in the last 28 days",
}


SCORECARD_FORM_FIELDS = ["name", "description", "tier", "stage", "green_min", "yellow_min"]


class ScorecardForm(forms.Form):
    """A scorecard's own settings. A plain form: the service checks them together and says what is wrong."""

    def __init__(self, *args, instance: Scorecard | None = None, **kwargs) -> None:
        if instance is not None:
            kwargs["initial"] = model_to_dict(instance, fields=SCORECARD_FORM_FIELDS)
        super().__init__(*args, **kwargs)


# Declared from the model's fields after the class: a form's metaclass would replace them in its body.
ScorecardForm.base_fields = forms.fields_for_model(
    Scorecard,
    fields=SCORECARD_FORM_FIELDS,
    labels={"green_min": "Green from", "yellow_min": "Yellow from"},
    help_texts={
        "tier": "Blank: every tier. The most specific active scorecard scores an account.",
        "stage": "Blank: every stage.",
        "green_min": "Scores at or above are green.",
        "yellow_min": "Scores at or above, and below green, are yellow; the rest are red.",
    },
    widgets={"description": forms.Textarea(attrs={"rows": 2})},
)


class MeasureRowForm(forms.Form):
    kind = forms.ChoiceField(choices=MeasureKind.choices, widget=forms.HiddenInput)
    include = forms.BooleanField(required=False)
    weight = forms.DecimalField(
        min_value=MIN_WEIGHT, max_value=MAX_WEIGHT, decimal_places=2, max_digits=5, required=False, initial=1
    )
    zero_at = forms.DecimalField(max_digits=12, decimal_places=2, required=False, label="Scores 0 at")
    full_at = forms.DecimalField(max_digits=12, decimal_places=2, required=False, label="Scores 100 at")
    validity_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, initial=30, label="Valid for (days)"
    )
    when_missing = forms.ChoiceField(choices=WhenMissing.choices, initial=WhenMissing.SKIP, label="When missing")

    def clean(self) -> dict:
        data = super().clean() or {}
        if data.get("include"):
            for name in ("weight", "zero_at", "full_at", "validity_days"):
                if data.get(name) is None and name not in self.errors:
                    self.add_error(name, "Needed for a measure in use.")
        return data

    @property
    def number_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in ("weight", "zero_at", "full_at", "validity_days")]

    @property
    def _kind(self) -> str:
        return str(self.data.get(self.add_prefix("kind")) or (self.initial or {}).get("kind") or "")

    @property
    def kind_label(self) -> str:
        kind = self._kind
        return MeasureKind(kind).label if kind in MeasureKind.values else kind

    @property
    def unit(self) -> str:
        return MEASURE_UNITS.get(self._kind, "")

    def spec(self) -> MeasureSpec:
        data = self.cleaned_data
        return MeasureSpec(
            kind=data["kind"],
            weight=data["weight"],
            zero_at=data["zero_at"],
            full_at=data["full_at"],
            validity_days=data["validity_days"],
            when_missing=data["when_missing"],
        )


class BaseMeasureRows(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        kinds = [form.cleaned_data.get("kind") for form in self.forms if form.cleaned_data]
        if sorted(kinds) != sorted(MeasureKind.values):
            raise forms.ValidationError("Send one row per measure kind.")

    def specs(self) -> list[MeasureSpec]:
        return [form.spec() for form in self.forms if form.cleaned_data.get("include")]


MeasureRows = forms.formset_factory(
    MeasureRowForm,
    formset=BaseMeasureRows,
    extra=0,
    min_num=len(MeasureKind.values),
    max_num=len(MeasureKind.values),
    absolute_max=len(MeasureKind.values),
    validate_max=True,
)


# Where a measure not yet in a scorecard starts when someone ticks it: the shipped scorecard's settings,
# or for a measure it does not use, the suggested ones.
def measure_rows_initial(card: Scorecard | None, defaults: dict[str, tuple]) -> list[dict]:
    used = {measure.kind: measure for measure in card.measures.all()} if card else {}
    rows = []
    for kind in MeasureKind.values:
        measure = used.get(kind)
        if measure is not None:
            rows.append(
                {
                    "kind": kind,
                    "include": True,
                    "weight": measure.weight,
                    "zero_at": measure.zero_at,
                    "full_at": measure.full_at,
                    "validity_days": measure.validity_days,
                    "when_missing": measure.when_missing,
                }
            )
        else:
            weight, zero_at, full_at, validity = defaults.get(kind) or SUGGESTED_MEASURES.get(kind, (1, 0, 100, 30))
            rows.append(
                {
                    "kind": kind,
                    "include": False,
                    "weight": Decimal(str(weight)),
                    "zero_at": Decimal(str(zero_at)),
                    "full_at": Decimal(str(full_at)),
                    "validity_days": validity,
                    "when_missing": WhenMissing.SKIP,
                }
            )
    return rows


class CloneForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The clone is a new scorecard of its own, starting as a draft.")


class ActivateForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Why this version goes live",
        help_text="Kept with the version: whoever reads a score later can see why it was computed this way.",
    )


class RetireForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why it retires")
