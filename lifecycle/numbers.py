"""Rounding shared by the Python scoring and its PostgreSQL twin.

Python's round() works on the binary value and breaks ties to even (0.25 →
0.2); PostgreSQL's round(numeric) reads a double to 15 significant digits and
breaks ties away from zero (0.25 → 0.3, as people expect). Both recompute
paths round through this rule so they store the very same numbers.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal


def round_half_up(value: float | Decimal, places: int = 1) -> float:
    exact = value if isinstance(value, Decimal) else Decimal(f"{value:.15g}")
    # "+ 0.0" turns a rounded -0.0 into 0.0, as PostgreSQL has no negative zero in numeric.
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)) + 0.0
