"""Splitting a book of business across incoming CSMs.

Pure functions over plain values, so the split is easy to test and the
preview page can show exactly what will be started.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import models


class Strategy(models.TextChoices):
    MANUAL = "manual", "By hand"
    COUNT = "count", "Balanced by account count"
    ARR = "arr", "Balanced by ARR"
    LOAD = "load", "Balanced by current load (accounts, ARR, open tasks)"


@dataclass(frozen=True)
class Candidate:
    user_id: int
    accounts: int = 0
    arr: Decimal = Decimal(0)
    open_tasks: int = 0


@dataclass(frozen=True)
class Item:
    account_id: int
    arr: Decimal


def split(items: list[Item], candidates: list[Candidate], strategy: str) -> dict[int, int]:
    """Assign each account id to one candidate's user id.

    Greedy "largest first, to the lightest": accounts sorted by ARR (largest
    first) each go to whoever would be lightest after taking it. For `load`,
    a CSM's weight is their share of all accounts, ARR and open tasks
    (existing plus assigned), so someone already carrying a heavy book gets
    fewer new accounts. `manual` starts everyone on the first candidate.
    """
    if not candidates:
        raise ValueError("Choose at least one incoming CSM.")
    if strategy == Strategy.MANUAL:
        return {item.account_id: candidates[0].user_id for item in items}
    ordered = sorted(items, key=lambda item: (-item.arr, item.account_id))
    counts = {c.user_id: 0 for c in candidates}
    arrs = {c.user_id: Decimal(0) for c in candidates}
    if strategy == Strategy.LOAD:
        for c in candidates:
            counts[c.user_id] = c.accounts
            arrs[c.user_id] = c.arr
    tasks = {c.user_id: c.open_tasks for c in candidates}
    total_accounts = max(sum(counts.values()) + len(items), 1)
    total_arr = max(sum(arrs.values()) + sum(item.arr for item in items), Decimal(1))
    total_tasks = max(sum(tasks.values()), 1)

    def weight(user_id: int, extra: Item | None) -> tuple:
        n = counts[user_id] + (1 if extra else 0)
        arr = arrs[user_id] + (extra.arr if extra else 0)
        if strategy == Strategy.COUNT:
            return (n, arr, user_id)
        if strategy == Strategy.ARR:
            return (arr, n, user_id)
        share = Decimal(n) / total_accounts + arr / total_arr + Decimal(tasks[user_id]) / total_tasks
        return (share, n, user_id)

    assignment = {}
    for item in ordered:
        user_id = min(counts, key=lambda uid: weight(uid, item))
        assignment[item.account_id] = user_id
        counts[user_id] += 1
        arrs[user_id] += item.arr
    return assignment
