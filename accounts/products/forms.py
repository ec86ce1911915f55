"""Forms for the catalogue and for an account's entitlements. The rules across fields are the service's
(accounts.products.services), so the pages, the API and the bulk upsert say the same."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from accounts.models import Product
from core.forms import DATE_INPUT

from .services import KEY_MAX_LENGTH, MAX_SEATS, NAME_MAX_LENGTH, product_key_normalise

ISO_DATE = ["%Y-%m-%d"]
DATE_ERRORS = {"invalid": "Use a date like 2025-03-31."}


class ProductForm(forms.Form):
    key = forms.CharField(
        max_length=KEY_MAX_LENGTH,
        help_text="As usage rows name the product (e.g. reports). Stored lower-case; changing it changes what "
        "usage rows must send.",
    )
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_key(self) -> str:
        return product_key_normalise(self.cleaned_data["key"])


class EntitlementForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"),
        empty_label="Choose a product",
        error_messages={"invalid_choice": "That product is not in the catalogue (any more)."},
    )
    seats = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SEATS,
        help_text="Blank where the product is not sold by seat.",
        error_messages={"min_value": "At least 1 seat; leave it blank where the product is not sold by seat."},
    )
    starts_on = forms.DateField(label="From", input_formats=ISO_DATE, widget=DATE_INPUT, error_messages=DATE_ERRORS)
    ends_on = forms.DateField(
        label="Until",
        required=False,
        input_formats=ISO_DATE,
        widget=DATE_INPUT,
        error_messages=DATE_ERRORS,
        help_text="The last day in force; blank: until further notice.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("starts_on", timezone.localdate())


class EntitlementEndForm(forms.Form):
    ends_on = forms.DateField(
        label="Last day in force", input_formats=ISO_DATE, widget=DATE_INPUT, error_messages=DATE_ERRORS
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initial.setdefault("ends_on", timezone.localdate())
