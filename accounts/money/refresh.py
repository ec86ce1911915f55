"""The set-based refresh of accounts' ARR in the reporting currency.

Apart from the rate services (which import the audit helpers of accounts.services) so that the
account services, which call it whenever an ARR or a currency changes, can import it too.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Case, DecimalField, ExpressionWrapper, F, When
from django.db.models.functions import Round

from accounts.models import Account

from .selectors import rate_in_force_subquery, reporting_currency


def converted_arr_refresh(*, account_ids: Iterable[int] | None = None, currencies: Iterable[str] | None = None) -> int:
    """Set every account's (or the given accounts' or currencies') ARR in the reporting currency.

    One UPDATE whatever the number of accounts: the reporting currency converts at 1, any other
    at the rate in force today (a correlated subquery), and a currency without one gets null.
    Returns the number of accounts written.
    """
    accounts = Account.objects.all()
    if account_ids is not None:
        accounts = accounts.filter(pk__in=list(account_ids))
    if currencies is not None:
        accounts = accounts.filter(currency__in=list(currencies))
    output = DecimalField(max_digits=16, decimal_places=2)
    converted = ExpressionWrapper(Round(F("arr") * rate_in_force_subquery(), 2), output_field=output)
    return accounts.update(
        arr_reporting=Case(When(currency=reporting_currency(), then=F("arr")), default=converted, output_field=output)
    )
