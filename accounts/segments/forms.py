from __future__ import annotations

from django import forms

from accounts.models import Industry, Region, Tier

from .services import MAX_AMOUNT

_AMOUNT = {"max_digits": 16, "decimal_places": 2, "min_value": 0, "max_value": MAX_AMOUNT, "required": False}


class TierRuleForm(forms.Form):
    tier = forms.ChoiceField(choices=Tier.choices, widget=forms.Select(attrs={"class": "form-select"}))
    min_arr = forms.DecimalField(
        label="ARR at least", widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}), **_AMOUNT
    )
    max_arr = forms.DecimalField(
        label="ARR below", widget=forms.NumberInput(attrs={"class": "form-control", "step": "any"}), **_AMOUNT
    )
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
