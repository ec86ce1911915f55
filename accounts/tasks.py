"""Thin Celery tasks: take ids, call a service, own retries."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from accounts.events import ConvertedArrChanged
from accounts.models import ExchangeRate
from accounts.money.refresh import converted_arr_refresh
from core import events


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def converted_arr_refresh_daily() -> int:
    """Reconvert every account's ARR at the rates in force today, so a rate dated ahead takes over on its day.

    One UPDATE; running it twice the same day changes nothing the second time. The currencies
    whose rate took over today are announced, so the next-best rank follows their new ARR.
    """
    written = converted_arr_refresh()
    taking_over = frozenset(
        ExchangeRate.objects.filter(effective_on=timezone.localdate()).values_list("currency", flat=True)
    )
    if taking_over:
        events.announce(ConvertedArrChanged(currencies=taking_over))
    return written


# The import's tasks live with the import (accounts/imports/); importing them here lets the worker find them.
from accounts.imports.tasks import import_dry_run_task, import_execute_task  # noqa: E402, F401
