"""Thin Celery tasks: take ids, call a service, own retries."""

from __future__ import annotations

from celery import shared_task

from accounts.money.refresh import converted_arr_refresh


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def converted_arr_refresh_daily() -> int:
    """Reconvert every account's ARR at the rates in force today, so a rate dated ahead takes over on its day.

    One UPDATE; running it twice the same day changes nothing the second time.
    """
    return converted_arr_refresh()
