"""Reads of backtests for the pages and the API: the list with each one's headline, and a report shaped for reading."""

from __future__ import annotations

from django.db.models import F, QuerySet

from lifecycle.models import Backtest

ROC_SIZE = 200  # the ROC chart's side, in SVG units


def backtest_list() -> QuerySet[Backtest]:
    """Newest first, with who ran them and the versions compared; the reports stay in the database.

    `headline_auc` is the tested version's AUC at the shortest horizon, read out of the report by the database.
    """
    return (
        Backtest.objects.select_related("scorecard", "baseline", "requested_by")
        .defer("report")
        .annotate(headline_auc=F("report__horizons__0__cards__0__auc"))
        .order_by("-requested_at", "-pk")
    )


def backtest_with_report() -> QuerySet[Backtest]:
    return Backtest.objects.select_related("scorecard", "baseline", "requested_by")


def roc_polyline(points: list, size: int = ROC_SIZE) -> str:
    """ROC points (false-positive rate, true-positive rate) as an SVG polyline, origin at the bottom left."""
    return " ".join(f"{fpr * size:.1f},{(1 - tpr) * size:.1f}" for fpr, tpr in points)


def report_for_page(backtest: Backtest) -> list[dict]:
    """Each horizon of the report, with what the page draws added (the ROC polylines)."""
    horizons = []
    for entry in (backtest.report or {}).get("horizons", []):
        # Each version's measures in the same order (by name), so a measure sits on the same row in every table.
        cards = [
            {
                **card,
                "roc_polyline": roc_polyline(card.get("roc") or []),
                "measures": sorted(card.get("measures") or [], key=lambda row: str(row.get("label", row.get("kind")))),
            }
            for card in entry["cards"]
        ]
        horizons.append({**entry, "cards": cards, "tested": cards[0] if cards else None})
    return horizons
