"""ARR as the pages show it: in the reporting currency, with the amount as written beside it."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import Account
from accounts.money.selectors import reporting_currency

register = template.Library()


@register.inclusion_tag("accounts/money/partials/arr.html")
def arr_shown(account: Account, stacked: bool = True) -> dict[str, Any]:
    """Converted ARR first; the original amount and currency beside it, or a warning when no rate converts it."""
    return {"account": account, "reporting": reporting_currency(), "stacked": stacked}
