"""Tier rules at scale: what the rules would move across the whole book, and moving it.

The seeded rules move a few thousand accounts; a change of thresholds can move half the book at
once, from the same page and inside the same web request, so the apply is also timed with one
more rule, read first, that moves every account at or above the median converted ARR.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import Count

from accounts.models import Account, Tier, TierRule
from accounts.segments.rules import ruled
from accounts.segments.services import tier_rule_create, tier_rules_reorder, tiers_apply, tiers_preview
from bench.core import Result, at_most
from users.models import User

PREVIEW_SECONDS = 1
# A web worker is stopped after 30 s (gunicorn's default timeout); the apply runs in the request.
APPLY_SECONDS = 30
RUNS = 3


class _RolledBack(Exception):
    pass


def _preview() -> None:
    preview = tiers_preview()
    list(preview.accounts[:50])  # the first page, as the preview page draws it
    list(preview.no_rate_accounts[:50])


def _apply_rolled_back(admin: User, prepare: Callable[[], None] = lambda: None) -> tuple[float, int]:
    """Seconds the apply takes in its request, rolled back so every run moves the same accounts.

    After `prepare` (untimed). Timed with what the commit would add: the deferred foreign-key checks
    of the rows written (run now with SET CONSTRAINTS ALL IMMEDIATE) and the handlers the apply's
    event runs once it commits (run here inside the transaction, so whatever they queue is rolled back).
    """
    try:
        with transaction.atomic():
            prepare()
            queued = len(connection.run_on_commit)
            started = time.perf_counter()
            moved = tiers_apply(actor=admin).moved
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            after_commit = connection.run_on_commit[queued:]
            del connection.run_on_commit[queued:]
            for _, handler, _ in after_commit:
                handler()
            elapsed = time.perf_counter() - started
            raise _RolledBack
    except _RolledBack:
        return elapsed, moved


def _rule_moving_upper_half(admin: User) -> Callable[[], None]:
    """A first rule sending every account at or above the median converted ARR to the tier fewest of them are in."""

    def prepare() -> None:
        converted = ruled().exclude(arr_reporting=None)
        median = converted.order_by("arr_reporting").values_list("arr_reporting", flat=True)[converted.count() // 2]
        upper = converted.filter(arr_reporting__gte=median).order_by().values("tier").annotate(count=Count("pk"))
        held = {row["tier"]: row["count"] for row in upper}
        tier = min(Tier.values, key=lambda value: held.get(value, 0))
        existing = list(TierRule.objects.in_order().values_list("pk", flat=True))
        rule = tier_rule_create(actor=admin, tier=tier, min_arr=median)
        tier_rules_reorder(actor=admin, rule_ids=[rule.pk, *existing])

    return prepare


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
    elapsed, moved = _apply_rolled_back(admin, _rule_moving_upper_half(admin))
    results.append(
        at_most(elapsed, APPLY_SECONDS, "s", f"tier apply, upper half re-tiered: move {moved:,} of {accounts:,}")
    )
    return results
