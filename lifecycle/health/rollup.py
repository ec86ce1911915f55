"""The daily roll-up of snapshots (HealthBandDaily): written set-based, a day at a time or every past day at once."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Count, F, QuerySet, Sum

from accounts.models import Stage
from lifecycle.health.models import HealthBandDaily, HealthScore


def _rolled_up(snapshots: QuerySet[HealthScore]) -> list[HealthBandDaily]:
    rows = (
        snapshots.exclude(account__stage=Stage.CHURNED)
        .values("day", "band", owner_id=F("account__owner_id"), pool_id=F("account__pool_id"), tier=F("account__tier"))
        .annotate(n=Count("account_id"), n_scored=Count("score"), total=Sum("score"))
        .order_by()
    )
    return [
        HealthBandDaily(
            day=row["day"],
            owner_id=row["owner_id"],
            pool_id=row["pool_id"],
            tier=row["tier"],
            band=row["band"],
            accounts=row["n"],
            scored=row["n_scored"],
            score_sum=row["total"] or 0,
        )
        for row in rows
    ]


@transaction.atomic
def health_band_daily_write(*, day: dt.date) -> int:
    """Replace `day`'s roll-up with its snapshots added up (one GROUP BY, one insert); the rows written."""
    HealthBandDaily.objects.filter(day=day).delete()
    rows = HealthBandDaily.objects.bulk_create(_rolled_up(HealthScore.objects.filter(day=day)), batch_size=1000)
    return len(rows)


@transaction.atomic
def health_band_daily_backfill(*, since: dt.date | None = None) -> int:
    """Roll up every day that has snapshots (from `since`), replacing what was there; the rows written."""
    snapshots = HealthScore.objects.all() if since is None else HealthScore.objects.filter(day__gte=since)
    (HealthBandDaily.objects.all() if since is None else HealthBandDaily.objects.filter(day__gte=since)).delete()
    rows = HealthBandDaily.objects.bulk_create(_rolled_up(snapshots), batch_size=1000)
    return len(rows)
