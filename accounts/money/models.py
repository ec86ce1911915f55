from __future__ import annotations

import copy
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.expressions import OrderBy
from django.utils import timezone


class ExchangeRate(models.Model):
    """How many units of the reporting currency one unit of `currency` is worth, from `effective_on` on.

    A rate stays in force until the next rate of the same currency takes over.
    """

    currency = models.CharField(max_length=3, help_text="ISO 4217 code, e.g. EUR.")
    rate_to_reporting = models.DecimalField(max_digits=18, decimal_places=8)
    effective_on = models.DateField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency", "-effective_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["currency", "effective_on"],
                name="exchange_rate_unique_day",
                violation_error_message="This currency already has a rate from that date.",
            ),
            models.CheckConstraint(condition=Q(rate_to_reporting__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=Q(currency__regex=r"^[A-Z]{3}$"),
                name="exchange_rate_currency_code",
                violation_error_message="A currency is three capital letters.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate_to_reporting} from {self.effective_on:%Y-%m-%d}"


class DescNullsLastIndex(models.Index):
    """An index for ORDER BY <expressions> where a descending column puts its nulls last.

    PostgreSQL walks it only when the index says NULLS LAST too; SQLite refuses the clause in an
    index but already sorts nulls last when descending, so there the plain index serves.
    """

    def create_sql(self, model: Any, schema_editor: Any, using: str = "", **kwargs: Any) -> Any:
        if schema_editor.connection.vendor == "sqlite":
            plain = [copy.copy(expression) for expression in self.expressions]
            for expression in plain:
                if isinstance(expression, OrderBy):
                    expression.nulls_last = False
            return models.Index(*plain, name=self.name).create_sql(model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)
