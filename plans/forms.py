from __future__ import annotations

from django import forms
from django.utils import timezone

from core.forms import DATE_INPUT
from users.models import User

from .models import Objective, SuccessPlan
from .services import OBJECTIVE_FIELDS, PLAN_FIELDS


class PlanForm(forms.ModelForm):
    class Meta:
        model = SuccessPlan
        fields = list(PLAN_FIELDS)
        widgets = {"summary": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") and cleaned["scope"] != "account" and not cleaned.get("scope_label"):
            self.add_error(
                "scope_label",
                "Say which product, department or location the plan covers.",
            )
        return cleaned


class ObjectiveForm(forms.ModelForm):
    class Meta:
        model = Objective
        fields = list(OBJECTIVE_FIELDS)
        widgets = {"due_date": DATE_INPUT}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER])


class AchievementForm(forms.Form):
    title = forms.CharField(max_length=200)
    achieved_on = forms.DateField(widget=DATE_INPUT, initial=timezone.localdate)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    objective = forms.ModelChoiceField(queryset=Objective.objects.none(), required=False)

    def __init__(self, *args, plan: SuccessPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["objective"].queryset = plan.objectives.all()
