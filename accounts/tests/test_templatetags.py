"""The list pages' template filters."""

from decimal import Decimal

import pytest

from accounts.templatetags.baton import trend


@pytest.mark.parametrize(
    ("change", "shown"),
    [
        (Decimal("-0.4"), '<span class="text-muted">= 0</span>'),
        (Decimal("-0.5"), '<span class="text-danger">▼ 1</span>'),
        (Decimal("-0.6"), '<span class="text-danger">▼ 1</span>'),
        (Decimal("0"), '<span class="text-muted">= 0</span>'),
        (Decimal("0.4"), '<span class="text-muted">= 0</span>'),
        (Decimal("0.5"), '<span class="text-success">▲ 1</span>'),
        (Decimal("1.0"), '<span class="text-success">▲ 1</span>'),
        (Decimal("-1.0"), '<span class="text-danger">▼ 1</span>'),
        (Decimal("-12.3"), '<span class="text-danger">▼ 12</span>'),
        (-0.4, '<span class="text-muted">= 0</span>'),
    ],
)
def test_a_change_shows_an_arrow_only_when_it_rounds_to_a_whole_point(change, shown):
    assert trend(change) == shown


@pytest.mark.parametrize("change", [None, ""])
def test_an_unknown_change_shows_a_dash(change):
    assert trend(change) == '<span class="text-muted">—</span>'
