"""Numbers in English sentences, for any app's reasons, summaries and log lines.

Templates count with Django's `pluralize` filter; Python text counts through `counted`, so
neither says "1 days".
"""

from __future__ import annotations

from decimal import Decimal


def figure(value: float | Decimal) -> str:
    """A number as a sentence writes it: whole numbers without a ".0", others to one decimal place."""
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


def counted(number: float | Decimal, noun: str, *, grouped: bool = False) -> str:
    """`number` followed by its noun, singular for exactly one: "1 day", "0 days", "2 days", "1.5 points".

    `grouped` writes a whole number's thousands apart ("1,000 accounts"). It is off by default so
    that the reasons on flags already raised read the same when recomputed.
    """
    if isinstance(number, int):
        shown = f"{number:,}" if grouped else str(number)
    else:
        shown = figure(number)
    return f"{shown} {noun if number == 1 else noun + 's'}"
