from __future__ import annotations

from django import forms

from accounts.models import Industry, Region, Tier

from .services import MAX_AMOUNT


def _amount(label: str) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=16,
        decimal_places=2,
        min_value=0,
        max_value=MAX_AMOUNT,
        required=False,
        widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}),
    )


class TierRuleForm(forms.Form):
    tier = forms.ChoiceField(choices=Tier.choices, widget=forms.Select(attrs={"class": "form-select"}))
    min_arr = _amount("ARR at least")
    max_arr = _amount("ARR below")
    industry = forms.ChoiceField(
        choices=[("", "Any industry"), *Industry.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    region = forms.ChoiceField(
        choices=[("", "Any region"), *Region.choices],
        required=False,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


class TierApplyForm(forms.Form):
    expected = forms.IntegerField(min_value=0, widget=forms.HiddenInput)
