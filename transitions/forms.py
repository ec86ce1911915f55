from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone

from accounts.models import Account, Contact
from core.forms import DATE_INPUT, DATETIME_INPUT

from . import emails
from .balancing import Strategy
from .models import Playbook, PlaybookKind, PlaybookStep, TransitionReason
from .selectors import incoming_candidates


def _handover_playbooks():
    return Playbook.objects.filter(kind=PlaybookKind.HANDOVER, archived=False)


class _Dates(forms.Form):
    start_date = forms.DateField(widget=DATE_INPUT)
    target_date = forms.DateField(widget=DATE_INPUT)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["start_date"].initial = today
        self.fields["target_date"].initial = today + dt.timedelta(days=14)

    def clean(self):
        cleaned = super().clean()
        start, target = cleaned.get("start_date"), cleaned.get("target_date")
        if start and target and target < start:
            self.add_error("target_date", "The target date cannot be before the start date.")
        return cleaned


class TransitionStartForm(_Dates):
    to_csm = forms.ModelChoiceField(queryset=incoming_candidates(), label="Incoming CSM")
    reason = forms.ChoiceField(choices=TransitionReason.choices)
    playbook = forms.ModelChoiceField(queryset=_handover_playbooks(), empty_label=None)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Note for the team",
    )
    field_order = ["to_csm", "reason", "playbook", "start_date", "target_date", "note"]

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        if account.owner_id:
            self.fields["to_csm"].queryset = incoming_candidates().exclude(pk=account.owner_id)
        default = _handover_playbooks().filter(is_default=True).first()
        if default:
            self.fields["playbook"].initial = default.pk


class BulkSettingsForm(_Dates):
    incoming = forms.ModelMultipleChoiceField(
        queryset=incoming_candidates(),
        widget=forms.CheckboxSelectMultiple,
        label="Incoming CSMs",
    )
    strategy = forms.ChoiceField(
        choices=Strategy.choices,
        initial=Strategy.ARR,
        widget=forms.RadioSelect,
        label="Split",
    )
    reason = forms.ChoiceField(choices=TransitionReason.choices)
    playbook = forms.ModelChoiceField(queryset=_handover_playbooks(), empty_label=None)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        label="Note for the team",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = _handover_playbooks().filter(is_default=True).first()
        if default:
            self.fields["playbook"].initial = default.pk
        for name, css in (
            ("reason", "form-select"),
            ("playbook", "form-select"),
            ("start_date", "form-control"),
            ("target_date", "form-control"),
            ("note", "form-control"),
            ("incoming", "form-check-input"),
            ("strategy", "form-check-input"),
        ):
            self.fields[name].widget.attrs["class"] = css
        self.fields["note"].widget.attrs["rows"] = 1


class CancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why is it cancelled?")


class CompleteForm(forms.Form):
    """Completing a handover whose steps are done; below its readiness bar a manager says why."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Why may it complete at this readiness?",
    )


class RescheduleForm(forms.Form):
    target_date = forms.DateField(widget=DATE_INPUT, label="New target date")
    shift_tasks = forms.BooleanField(
        required=False,
        initial=True,
        label="Shift open tasks by the same number of days",
    )


class EmailForm(forms.Form):
    contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(), widget=forms.CheckboxSelectMultiple, label="To"
    )
    call_date = forms.DateTimeField(widget=DATETIME_INPUT, required=False, label="Proposed call date")
    subject = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 12}))

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = (
            account.contacts.current().exclude(email="").order_by("last_name", "first_name")
        )
        self.fields["contacts"].label_from_instance = lambda c: (
            f"{c.full_name} <{c.email}>{' · ' + c.get_deal_role_display() if c.deal_role else ''}"
        )

    def _placeholders_checked(self, name: str) -> str:
        text = self.cleaned_data[name]
        try:
            emails.validate_template(text, field=name)
        except forms.ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        return text

    def clean_subject(self) -> str:
        return self._placeholders_checked("subject")

    def clean_body(self) -> str:
        return self._placeholders_checked("body")


class PlaybookForm(forms.ModelForm):
    class Meta:
        model = Playbook
        fields = [
            "name",
            "kind",
            "trigger_stage",
            "description",
            "is_default",
            "archived",
            "min_readiness",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 2})}


class PlaybookStepForm(forms.ModelForm):
    class Meta:
        model = PlaybookStep
        fields = [
            "title",
            "assignee_role",
            "due_offset_days",
            "required",
            "guidance",
            "email_subject",
            "email_body",
        ]
        widgets = {
            "guidance": forms.Textarea(attrs={"rows": 2}),
            "email_body": forms.Textarea(attrs={"rows": 4}),
        }

    def clean(self):
        cleaned = super().clean()
        for name in ("email_subject", "email_body"):
            if cleaned.get(name):
                try:
                    emails.validate_template(cleaned[name], field=name)
                except forms.ValidationError as error:
                    self.add_error(name, error.messages)
        if cleaned.get("email_subject") and not cleaned.get("email_body"):
            self.add_error("email_body", "An email needs a body as well as a subject.")
        return cleaned


PlaybookStepFormSet = forms.formset_factory(PlaybookStepForm, extra=1, can_delete=True, can_order=False)
