from __future__ import annotations

from typing import Any

from django import forms

from .models import SUBSCRIBABLE_EVENTS, WebhookEndpoint

# What each event is for, beside its checkbox (the payload fields are in the README).
EVENT_HELP = {
    "flag.raised": "An alert rule raised a red flag on an account, or a snoozed flag woke up.",
    "flag.cleared": "A red flag's rule stopped firing, so the nightly or near-real-time run cleared it.",
    "flag.resolved": "A person resolved a red flag, with a note.",
    "band.changed": "An account's health band moved (green, yellow, red), by a recompute or a score override.",
    "stage.changed": "An account moved to another lifecycle stage.",
    "transition.completed": "A handover (the new owner takes over) or a playbook run was completed.",
    "outcome.recorded": "A renewal, downgrade or churn was recorded, or an earlier one corrected.",
}


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        widget=forms.URLInput(attrs={"class": "form-control", "placeholder": "https://example.com/baton-events"}),
    )
    events = forms.MultipleChoiceField(
        choices=[(event.value, event.label) for event in SUBSCRIBABLE_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        help_text="Each event is posted once to this URL, signed with its secret.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events"]
        widgets = {
            "description": forms.TextInput(attrs={"class": "form-control", "placeholder": "What receives these"}),
        }

    def event_options(self) -> list[dict[str, Any]]:
        chosen = set(self["events"].value() or [])
        return [
            {
                "value": event.value,
                "label": event.label,
                "help": EVENT_HELP[event.value],
                "checked": event.value in chosen,
            }
            for event in SUBSCRIBABLE_EVENTS
        ]

    def service_fields(self) -> dict[str, Any]:
        return dict(self.cleaned_data)
