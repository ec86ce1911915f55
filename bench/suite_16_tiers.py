"""Tier rules at scale: what the rules would move across the whole book, and moving it."""

from __future__ import annotations

import statistics
import time

from django.db import transaction

from accounts.models import Account, TierRule
from accounts.segments.services import tiers_apply, tiers_preview
from bench.core import Result, at_most
from users.models import User

PREVIEW_SECONDS = 1
APPLY_SECONDS = 30
RUNS = 3


class _RolledBack(Exception):
    pass


def _preview() -> None:
    preview = tiers_preview()
    list(preview.accounts[:50])  # the first page, as the preview page draws it
    list(preview.no_rate_accounts[:50])


def _apply_rolled_back(admin: User) -> tuple[float, int]:
    """Seconds the apply takes in its transaction, rolled back so every run moves the same accounts."""
    try:
        with transaction.atomic():
            started = time.perf_counter()
            moved = tiers_apply(actor=admin).moved
            elapsed = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        return elapsed, moved


def run() -> list[Result]:
    accounts = Account.objects.count()
    if not TierRule.objects.exists():
        return []  # the demo seeds the default rules; without them there is nothing to measure
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        _preview()
        timings.append(time.perf_counter() - started)
    results = [at_most(statistics.median(timings), PREVIEW_SECONDS, "s", f"tier preview ({accounts:,} accounts)")]
    elapsed, moved = _apply_rolled_back(admin)
    results.append(at_most(elapsed, APPLY_SECONDS, "s", f"tier apply: move {moved:,} of {accounts:,} accounts"))
    return results
