"""Counts in sentences: singular for exactly one, plural for everything else."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.text import counted, figure


@pytest.mark.parametrize(
    "number, noun, said",
    [
        (0, "day", "0 days"),
        (1, "day", "1 day"),
        (2, "day", "2 days"),
        (1.0, "point", "1 point"),
        (1.5, "point", "1.5 points"),
        (Decimal("1"), "point", "1 point"),
        (1, "new flag", "1 new flag"),
        (2, "new flag", "2 new flags"),
    ],
)
def test_a_count_is_singular_only_for_exactly_one(number: float, noun: str, said: str) -> None:
    assert counted(number, noun) == said


def test_a_large_count_is_grouped_by_thousands_only_when_asked() -> None:
    assert counted(1200, "day") == "1200 days"
    assert counted(1200, "account", grouped=True) == "1,200 accounts"
    assert counted(1, "account", grouped=True) == "1 account"


@pytest.mark.parametrize("value, said", [(3, "3"), (3.0, "3"), (12.34, "12.3"), (Decimal("7.50"), "7.5")])
def test_a_figure_drops_a_whole_number_s_decimals_and_keeps_one_otherwise(value: float, said: str) -> None:
    assert figure(value) == said
