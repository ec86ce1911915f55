"""Every chart's data twice: as the table beside it (and its CSV), and as the JSON the chart script draws."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounts.money.selectors import reporting_currency
from core.csv_export import csv_lines

from .health import BAND_LABELS, TEST_NAME, UNSCORED, Grouping
from .selectors import Portfolio

Cell = str | int | float | Decimal | dt.date | None
CENT = Decimal("0.01")

BAND_COLOURS = {"green": "#2f9e44", "yellow": "#f59f00", "red": "#e03131", UNSCORED: "#ced4da"}
# Lines and bars that are not bands: one calm palette, in the order series appear.
SERIES_COLOURS = ["#3b5bdb", "#0ca678", "#f76707", "#ae3ec9", "#1098ad", "#e8590c", "#5c940d", "#c2255c", "#495057"]
HIGHLIGHT = "#e03131"
PLAIN = "#748ffc"


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]

    def display_rows(self) -> list[list[str]]:
        return [[display(cell) for cell in row] for row in self.rows]

    def csv_lines(self) -> Iterator[str]:
        """The table through the shared CSV writer: a byte-order mark, formula cells neutralised, numbers as numbers."""
        return csv_lines(self.headers, ([_plain(cell) for cell in row] for row in self.rows))


def _plain(cell: Cell) -> Cell:
    # Money to the cent but still a number (a negative amount as text would be neutralised like a formula).
    if isinstance(cell, Decimal):
        return cell.quantize(CENT)
    return cell


def display(cell: Cell) -> str:
    if cell is None:
        return "—"
    if isinstance(cell, bool):
        return "yes" if cell else ""
    if isinstance(cell, Decimal):
        return f"{cell:,.0f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    if isinstance(cell, float):
        return f"{cell:,.1f}"
    if isinstance(cell, dt.date):
        return cell.strftime("%-d %b %Y")
    return str(cell)


def _p(value: float | None) -> str | None:
    if value is None:
        return None
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _short(amount: Decimal) -> str:
    """1,234,567 as "1.2M", 48,000 as "48k": for a chart's axis, where the table has the whole figure."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if amount >= size:
            return f"{amount / size:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{amount:.0f}"


def tables(p: Portfolio) -> dict[str, Table]:
    currency = reporting_currency()
    result = [
        Table(
            "health_today",
            "Health today",
            ["Band", "Accounts", "Share", f"ARR ({currency})", "Accounts without a rate"],
            [[b.label, b.accounts, _percent(b.share), b.arr, b.unconverted] for b in p.cube.bands],
        ),
        Table(
            "health_trend",
            "Health trend",
            ["Day", *(BAND_LABELS[band] for band in BAND_LABELS), "Average score"],
            [[point.day, *(point.counts[band] for band in BAND_LABELS), point.average] for point in p.trend],
        ),
        Table(
            "stage_funnel",
            "Stage funnel",
            ["Stage", "Accounts", "Median days in stage (so far)"],
            [[row.label, row.accounts, row.median_days] for row in p.funnel],
        ),
        Table(
            "renewals",
            "Renewals in the next 90 days",
            [
                "Renewing in",
                *(BAND_LABELS[band] for band in BAND_LABELS),
                f"ARR ({currency})",
                f"ARR at risk ({currency})",
                "Accounts without a rate",
            ],
            [
                [
                    w.label,
                    *(w.counts[band] for band in BAND_LABELS),
                    sum(w.arr.values(), Decimal(0)),
                    w.arr_at_risk,
                    w.unconverted,
                ]
                for w in p.renewals
            ],
        ),
        Table(
            "flags_by_rule",
            "Flags raised by rule",
            ["Week of", *p.flags.rules],
            [[week, *(p.flags.counts[rule][week] for rule in p.flags.rules)] for week in p.flags.weeks],
        ),
        *(_grouping_table(grouping) for grouping in p.cube.groupings),
        Table(
            "workload",
            "Workload per CSM",
            [
                "CSM",
                "Accounts",
                f"ARR ({currency})",
                "Accounts without a rate",
                "Open tasks",
                "Open flags",
                "Touchpoints (30 days)",
            ],
            [
                [w.name, w.accounts, w.arr, w.unconverted, w.open_tasks, w.open_flags, w.touchpoints]
                for w in p.workload.rows
            ],
        ),
        Table(
            "low_arr_touchpoints",
            "Low-ARR accounts taking a large share of touchpoints",
            ["Account", f"ARR ({currency})", "Covered by", "Touchpoints (30 days)", "Share of all touchpoints"],
            [[a.name, a.arr, a.owner, a.touchpoints, _percent(a.share)] for a in p.workload.low_arr],
        ),
    ]
    return {table.name: table for table in result}


def _grouping_table(grouping: Grouping) -> Table:
    return Table(
        f"health_by_{grouping.name}",
        f"Health by {grouping.label.lower()}",
        [
            grouping.label,
            "Accounts",
            "Scored",
            "Mean score",
            "Rest's mean",
            "Difference",
            f"p ({TEST_NAME})",
            "Significantly below",
        ],
        [
            [
                g.label,
                g.accounts,
                g.moments.n,
                g.mean,
                g.rest_mean,
                g.difference,
                _p(g.p_adjusted) if g.tested else "not tested (too few)",
                "yes" if g.highlighted else "",
            ]
            for g in grouping.groups
        ],
    )


def chart_data(p: Portfolio) -> dict[str, Any]:
    """What static/js/portfolio.js draws: Chart.js datasets, already coloured."""
    currency = reporting_currency()
    bands = list(BAND_LABELS)
    data: dict[str, Any] = {
        "health_today": {
            "type": "doughnut",
            "labels": [f"{b.label}: {b.accounts:,}" for b in p.cube.bands],
            "datasets": [
                {
                    "data": [b.accounts for b in p.cube.bands],
                    "backgroundColor": [BAND_COLOURS[b.band] for b in p.cube.bands],
                }
            ],
        },
        "health_trend": {
            "type": "bar",
            "stacked": True,
            "labels": [point.day.strftime("%-d %b") for point in p.trend],
            "datasets": [
                {
                    "label": BAND_LABELS[band],
                    "data": [point.counts[band] for point in p.trend],
                    "backgroundColor": BAND_COLOURS[band],
                }
                for band in bands
            ],
        },
        "stage_funnel": {
            "type": "bar",
            "horizontal": True,
            "labels": [
                f"{row.label} · median {row.median_days:.0f} d" if row.median_days is not None else row.label
                for row in p.funnel
            ],
            "datasets": [
                {"label": "Accounts", "data": [row.accounts for row in p.funnel], "backgroundColor": SERIES_COLOURS[0]}
            ],
            "notes": [
                f"median {row.median_days:.0f} d in stage" if row.median_days is not None else "" for row in p.funnel
            ],
        },
        "renewals": {
            "type": "bar",
            "stacked": True,
            "labels": [[w.label, f"{currency} {_short(w.arr_at_risk)} at risk"] for w in p.renewals],
            "datasets": [
                {
                    "label": BAND_LABELS[band],
                    "data": [w.counts[band] for w in p.renewals],
                    "backgroundColor": BAND_COLOURS[band],
                }
                for band in bands
            ],
        },
        "flags_by_rule": {
            "type": "bar",
            "stacked": True,
            "labels": [week.strftime("%-d %b") for week in p.flags.weeks],
            "datasets": [
                {
                    "label": rule,
                    "data": [p.flags.counts[rule][week] for week in p.flags.weeks],
                    "backgroundColor": SERIES_COLOURS[index % len(SERIES_COLOURS)],
                }
                for index, rule in enumerate(p.flags.rules)
            ],
        },
        "workload": {
            "type": "bar",
            "horizontal": True,
            "labels": [w.name for w in p.workload.rows],
            "datasets": [
                {"label": label, "data": [getattr(w, attribute) for w in p.workload.rows], "backgroundColor": colour}
                for label, attribute, colour in (
                    ("Accounts", "accounts", SERIES_COLOURS[0]),
                    ("Open tasks", "open_tasks", SERIES_COLOURS[1]),
                    ("Open flags", "open_flags", BAND_COLOURS["red"]),
                    ("Touchpoints (30 d)", "touchpoints", SERIES_COLOURS[2]),
                )
            ],
        },
    }
    for grouping in p.cube.groupings:
        shown = [g for g in grouping.groups if g.mean is not None]
        data[f"health_by_{grouping.name}"] = {
            "type": "bar",
            "labels": [g.label for g in shown],
            "datasets": [
                {
                    "label": "Mean score",
                    "data": [g.mean for g in shown],
                    "backgroundColor": [HIGHLIGHT if g.highlighted else PLAIN for g in shown],
                }
            ],
            "scoreAxis": True,
            "reference": round(p.cube.population.mean, 1) if p.cube.population.n else None,
        }
    return data


CHART_NAMES = [
    "health_today",
    "health_trend",
    "stage_funnel",
    "renewals",
    "flags_by_rule",
    "health_by_segment",
    "health_by_industry",
    "health_by_region",
    "health_by_tier",
    "workload",
]
# Everything with a CSV: the charts and the low-ARR list.
TABLE_NAMES = [*CHART_NAMES, "low_arr_touchpoints"]
