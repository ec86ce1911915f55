from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone

from accounts.models import Stage
from core.forms import DATE_INPUT, DATETIME_INPUT
from users.models import Team, User
from users.permissions import can_edit_account

from .models import Account, Channel, ChurnReason, Contact, Coverage, RiskTag, Sentiment, Tag, Tier, TierSource
from .services import ACCOUNT_EDITABLE_FIELDS, CONTACT_EDITABLE_FIELDS

MONTHS = [(number, calendar.month_name[number]) for number in range(1, 13)]
# The tier and who decides it are one control: "let the rules decide", or a tier set by hand.
TIER_FIELDS = ("tier", "tier_source", "tier_reason")


class AccountForm(forms.ModelForm):
    tags = forms.ModelMultipleChoiceField(
        queryset=Tag.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    tier = forms.ChoiceField(
        choices=[("", "Let the rules decide"), *Tier.choices],
        required=False,
        help_text="A tier chosen here is set by hand: the tier rules leave it alone until you let them decide.",
    )

    class Meta:
        model = Account
        fields = [*[name for name in ACCOUNT_EDITABLE_FIELDS if name != "tier_source"], "tags"]
        widgets = {
            "contract_start": DATE_INPUT,
            "renewal_date": DATE_INPUT,
            "fiscal_year_start_month": forms.Select(choices=MONTHS),
            "why_they_bought": forms.Textarea(attrs={"rows": 3}),
            "tech_stack_notes": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"fiscal_year_start_month": "Fiscal year starts in", "arr": "ARR", "tier_reason": "Why this tier"}
        help_texts = {
            "fiscal_year_start_month": "",
            "tier_reason": "When set by hand; kept in the audit trail.",
            "external_id": "Its id in your CRM: imports find the account by it.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        account = self.instance
        if account.pk is None or account.tier_source == TierSource.RULES:
            self.initial["tier"] = ""

    def clean_arr(self):
        # The database refuses it too, but only with the constraint's name; say it in words.
        arr = self.cleaned_data["arr"]
        if arr is not None and arr < 0:
            raise forms.ValidationError("ARR cannot be negative.")
        return arr

    def clean_currency(self) -> str:
        currency = self.cleaned_data["currency"].upper()
        if len(currency) != 3 or not currency.isalpha():
            raise forms.ValidationError("Use a three-letter ISO currency code such as USD or EUR.")
        return currency

    def clean(self):
        cleaned = super().clean()
        start, renewal = cleaned.get("contract_start"), cleaned.get("renewal_date")
        if start and renewal and renewal <= start:
            self.add_error("renewal_date", "The renewal date must come after the contract start.")
        return cleaned

    def service_fields(self) -> dict:
        fields = {name: self.cleaned_data[name] for name in ACCOUNT_EDITABLE_FIELDS if name not in TIER_FIELDS}
        if self.cleaned_data["tier"]:
            fields.update(
                tier=self.cleaned_data["tier"],
                tier_source=TierSource.MANUAL,
                tier_reason=self.cleaned_data["tier_reason"],
            )
        else:
            fields["tier_source"] = TierSource.RULES
        return fields


class CoverageForm(forms.Form):
    coverage = forms.ChoiceField(choices=Coverage.choices, initial=Coverage.ASSIGNED)
    owner = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True, role__in=[User.Role.CSM, User.Role.MANAGER]),
        required=False,
        empty_label="Nobody (pooled account)",
    )
    pool = forms.ModelChoiceField(queryset=Team.objects.all(), required=False, empty_label="No pool")

    def __init__(self, *args, user: User | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        # Set when the new coverage must stay within what `user` may change (a manager adding an account).
        self.user = user

    def clean(self):
        cleaned = super().clean()
        coverage = cleaned.get("coverage")
        if coverage == Coverage.ASSIGNED and not cleaned.get("owner"):
            self.add_error("owner", "Choose the CSM who owns this account.")
        if coverage == Coverage.POOLED and not cleaned.get("pool"):
            self.add_error("pool", "Choose the team whose pool shares this account.")
        if self.user is not None and not self.errors:
            covered = Account(coverage=coverage, owner=cleaned.get("owner"), pool=cleaned.get("pool"))
            if not can_edit_account(self.user, covered):
                raise forms.ValidationError("You can only add accounts to your own team's book.")
        return cleaned


class ReassignForm(CoverageForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), help_text="Recorded in the audit trail.")


class ContactArchiveForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=500,
        widget=forms.TextInput(attrs={"placeholder": "e.g. a duplicate of another contact"}),
        help_text="Recorded in the audit trail.",
    )


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = list(CONTACT_EDITABLE_FIELDS)
        widgets = {"last_verified_at": DATETIME_INPUT, "departed_at": DATE_INPUT}

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        # Not an archived contact, unless this one already reports to them.
        others = account.contacts.filter(Q(archived_at__isnull=True) | Q(pk=self.instance.reports_to_id or 0))
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        self.fields["reports_to"].queryset = others
        self.fields["reports_to"].label = "Reports to"
        self.fields["reports_to"].empty_label = "Nobody (top of the chart)"
        self.fields["deal_role"].choices = [("", "No role in the deal"), *self.fields["deal_role"].choices[1:]]

    def service_fields(self) -> dict:
        return {name: self.cleaned_data[name] for name in CONTACT_EDITABLE_FIELDS}


class NoteForm(forms.Form):
    summary = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Details")
    risk_tag = forms.ChoiceField(choices=[("", "No risk tag"), *RiskTag.choices], required=False, label="Risk tag")


class TouchpointForm(forms.Form):
    channel = forms.ChoiceField(choices=Channel.choices)
    occurred_at = forms.DateTimeField(widget=DATETIME_INPUT, label="When")
    summary = forms.CharField(max_length=200)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Notes")
    sentiment = forms.ChoiceField(choices=[("", "—"), *Sentiment.choices], required=False)
    participants = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["participants"].queryset = account.contacts.current()
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean_occurred_at(self):
        occurred_at = self.cleaned_data["occurred_at"]
        if occurred_at > timezone.now() + dt.timedelta(minutes=5):
            raise forms.ValidationError("A touchpoint cannot be logged in the future.")
        return occurred_at


class StageChangeForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Stage.choices, label="New stage")
    reason = forms.CharField(
        min_length=3, widget=forms.TextInput(attrs={"placeholder": "Why now? (kept in the audit trail)"})
    )
    # Shown only for "churned" (the page hides it otherwise); the churn is recorded as an outcome.
    churn_reason = forms.ChoiceField(
        choices=[("", "Choose why they left"), *ChurnReason.choices], required=False, label="Churn reason"
    )

    def __init__(self, *args, account: Account, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.fields["to_stage"].choices = [choice for choice in Stage.choices if choice[0] != account.stage]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("to_stage") == Stage.CHURNED:
            if not cleaned.get("churn_reason"):
                self.add_error("churn_reason", "Say why the customer left.")
        else:
            cleaned["churn_reason"] = ""
        return cleaned
