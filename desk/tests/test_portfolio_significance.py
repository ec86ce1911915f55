"""The "significantly below the rest" highlight: called out on a group that is clearly unhappier, never on noise."""

from __future__ import annotations

import math
import random
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Industry, Region, Tier
from accounts.tests.factories import AccountFactory
from desk.portfolio.health import health_cube
from desk.portfolio.selectors import book_rows
from desk.portfolio.stats import Moments, holm, regularized_incomplete_beta, student_t_two_sided_p, welch_t_test
from lifecycle.health.models import AccountHealth

pytestmark = pytest.mark.django_db


def _book(owner, rows: list[tuple[str, str, str, float]]) -> None:
    """Accounts (industry, region, tier, score) in one insert, each scored."""
    accounts = Account.objects.bulk_create(
        AccountFactory.build(owner=owner, industry=industry, region=region, tier=tier)
        for industry, region, tier, _ in rows
    )
    today = timezone.localdate()
    AccountHealth.objects.bulk_create(
        AccountHealth(account=account, day=today, score=Decimal(f"{score:.1f}"), band="yellow")
        for account, (*_, score) in zip(accounts, rows, strict=True)
    )


def _highlighted(cube) -> list[tuple[str, str]]:
    return [(grouping.name, group.key) for grouping, group in cube.highlighted]


# --- the arithmetic, against published values ---------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [(2.0, 10, 0.0734), (3.0, 5, 0.0301), (0.5, 30, 0.6207), (1.96, 1e6, 0.0500), (2.576, 1e6, 0.0100), (0.0, 12, 1.0)],
)
def test_the_two_sided_p_value_of_students_t(t, df, p):
    assert student_t_two_sided_p(t, df) == pytest.approx(p, abs=5e-5)


def test_the_incomplete_beta_at_known_points():
    assert regularized_incomplete_beta(0.5, 1, 1) == pytest.approx(0.5)
    assert regularized_incomplete_beta(0.3, 2, 3) == pytest.approx(0.3483, abs=1e-4)
    assert regularized_incomplete_beta(0.0, 2, 3) == 0.0 and regularized_incomplete_beta(1.0, 2, 3) == 1.0


def test_welch_from_count_sum_and_squares_matches_the_textbook_example():
    a = [27.5, 21.0, 19.0, 23.6, 17.0, 17.9, 16.9, 20.1, 21.9, 22.6, 23.1, 19.6, 19.0, 21.7, 21.4]
    b = [27.1, 22.0, 20.8, 23.4, 23.4, 23.5, 25.8, 22.0, 24.8, 20.2, 21.9, 22.1, 22.9, 20.5, 24.4]
    result = welch_t_test(
        Moments(len(a), sum(a), sum(x * x for x in a)), Moments(len(b), sum(b), sum(x * x for x in b))
    )
    # Welch (1947)'s first data set as worked in the literature: t = -2.46, df = 24.99, p = 0.021.
    assert result.t == pytest.approx(-2.46, abs=0.01)
    assert result.df == pytest.approx(24.99, abs=0.01)
    assert result.p == pytest.approx(0.021, abs=0.001)


def test_holm_adjusts_step_down_and_stays_monotone():
    assert holm([0.01, 0.04, 0.03, 0.5]) == pytest.approx([0.04, 0.09, 0.09, 0.5])
    assert holm([]) == []


# --- the highlight --------------------------------------------------------------------------------------


def test_a_clearly_unhappier_industry_is_highlighted_and_the_test_named(client, manager, csm):
    rng = random.Random(7)
    rows = []
    for industry in (Industry.SOFTWARE, Industry.HEALTHCARE, Industry.EDUCATION, Industry.MEDIA):
        rows += [(industry, Region.EMEA, Tier.LOW_TOUCH, rng.gauss(72, 8)) for _ in range(20)]
    rows += [(Industry.RETAIL, Region.EMEA, Tier.LOW_TOUCH, rng.gauss(45, 8)) for _ in range(20)]
    _book(csm, rows)

    cube = health_cube(book_rows(Account.objects.all()))
    assert _highlighted(cube) == [("industry", Industry.RETAIL)]
    retail = next(g for g in cube.groupings[1].groups if g.key == Industry.RETAIL)
    assert retail.p_adjusted < 0.001 and retail.difference < -20

    client.force_login(manager)
    content = client.get(reverse("portfolio")).content.decode()
    assert 'id="unhappy-traits"' in content
    assert "Unhappy customers share a trait" in content
    assert "Industry: Retail" in content
    assert "Welch's t-test, Holm-corrected, p &lt; 0.001" in content


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_noise_is_not_highlighted(csm, seed):
    """Six industries, four regions and three tiers drawn from one distribution: whatever differences the draw
    makes, none survives the correction and the five-point floor together."""
    rng = random.Random(seed)
    industries = list(Industry)[:6]
    rows = [
        (rng.choice(industries), rng.choice(list(Region)), rng.choice(list(Tier)), min(100, max(0, rng.gauss(62, 18))))
        for _ in range(300)
    ]
    _book(csm, rows)
    cube = health_cube(book_rows(Account.objects.all()))
    tested = [g for grouping in cube.groupings for g in grouping.groups if g.tested]
    assert len(tested) >= 12  # the groups were big enough to be tested, not skipped
    assert _highlighted(cube) == []


def test_a_small_group_is_not_tested_however_low(csm):
    rows = [(Industry.SOFTWARE, Region.EMEA, Tier.LOW_TOUCH, 75.0 + i % 5) for i in range(40)]
    rows += [(Industry.RETAIL, Region.EMEA, Tier.LOW_TOUCH, 10.0 + i) for i in range(9)]
    _book(csm, rows)
    cube = health_cube(book_rows(Account.objects.all()))
    retail = next(g for g in cube.groupings[1].groups if g.key == Industry.RETAIL)
    assert not retail.tested and not retail.highlighted


def test_a_significant_but_small_difference_is_not_highlighted(csm):
    """Two points lower on hundreds of very consistent accounts is significant, but not worth calling out."""
    rows = [(Industry.SOFTWARE, Region.EMEA, Tier.LOW_TOUCH, 70.0 + (i % 3 - 1) * 0.5) for i in range(300)]
    rows += [(Industry.RETAIL, Region.EMEA, Tier.LOW_TOUCH, 68.0 + (i % 3 - 1) * 0.5) for i in range(300)]
    _book(csm, rows)
    cube = health_cube(book_rows(Account.objects.all()))
    retail = next(g for g in cube.groupings[1].groups if g.key == Industry.RETAIL)
    assert retail.p_adjusted < 0.001
    assert not retail.highlighted


def test_moments_from_sums_match_the_direct_computation(csm):
    scores = [12.5, 40.0, 55.5, 61.0, 99.0, 73.5]
    _book(csm, [(Industry.SOFTWARE, Region.EMEA, Tier.LOW_TOUCH, s) for s in scores])
    population = health_cube(book_rows(Account.objects.all())).population
    mean = sum(scores) / len(scores)
    assert population.n == 6
    assert population.mean == pytest.approx(mean)
    assert population.variance == pytest.approx(sum((s - mean) ** 2 for s in scores) / 5)
    assert math.isfinite(population.variance)
