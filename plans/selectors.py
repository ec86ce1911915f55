"""Reads of success plans for the Account 360, the handover brief and the API."""

from __future__ import annotations

from django.db.models import Prefetch

from accounts.models import Account

from .models import Objective, SuccessPlan


def account_plans(account: Account) -> list[SuccessPlan]:
    """Every plan of the account, active first, with objectives (and owners) and achievements: 3 queries."""
    return list(
        SuccessPlan.objects.filter(account=account)
        .order_by("status", "name")
        .prefetch_related(
            Prefetch(
                "objectives",
                queryset=Objective.objects.select_related("owner").order_by("due_date", "id"),
            ),
            "achievements",
        )
    )
