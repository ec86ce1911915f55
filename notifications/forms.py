from __future__ import annotations

from django import forms

from accounts.models import Tier
from lifecycle.models import AlertRule

from .models import Subscription


class SubscriptionForm(forms.ModelForm):
    rules = forms.ModelMultipleChoiceField(
        queryset=AlertRule.objects.filter(active=True),
        required=False,
        widget=forms.SelectMultiple(attrs={"class": "form-select form-select-sm", "size": 6}),
        help_text="None selected: every rule.",
    )

    class Meta:
        model = Subscription
        fields = ["scope", "rules", "tier", "min_severity", "email_each_flag", "daily_digest"]
        labels = {"min_severity": "At least", "email_each_flag": "Email me each flag", "daily_digest": "Daily digest"}
        widgets = {
            "scope": forms.Select(attrs={"class": "form-select form-select-sm"}),
            "tier": forms.Select(attrs={"class": "form-select form-select-sm"}),
            "min_severity": forms.Select(attrs={"class": "form-select form-select-sm"}),
            "email_each_flag": forms.CheckboxInput(attrs={"class": "form-check-input"}),
            "daily_digest": forms.CheckboxInput(attrs={"class": "form-check-input"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tier"].choices = [("", "Any tier"), *Tier.choices]

    def service_fields(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "rules"}
