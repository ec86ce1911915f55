"""Rounding shared by the Python scoring and its PostgreSQL twin.

Scores round to one decimal, half up, with the same IEEE operations in both
places: floor(x × 10 + 0.5) / 10. Python's round() breaks ties to even on the
binary value, and PostgreSQL's round(numeric) first converts a double to
decimal text, which cost more than the rest of the scoring; this rule is
cheap in both and gives bit-identical results, so the two recompute paths
store the very same numbers. Decimals (averages read from the database) are
rounded half up exactly, as PostgreSQL's round(numeric) does.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal


def round_half_up(value: float | Decimal, places: int = 1) -> float:
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    scale = 10.0**places
    return math.floor(value * scale + 0.5) / scale


def round_half_up_sql(expression: str) -> str:
    """The same rule on a double precision SQL expression, to one decimal."""
    return f"(FLOOR(({expression}) * 10 + 0.5) / 10)"
