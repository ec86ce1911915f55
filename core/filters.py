"""Filters shared by pages and the API."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms

# The largest id a bigint column holds: a larger one is a bad filter (400 or ignored), never a database error.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An id given as a number: whole, positive and within the database's range, or refused as invalid."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)
