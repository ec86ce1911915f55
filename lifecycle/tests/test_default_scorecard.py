"""The shipped default (Standard health v2): what a new install scores with, from the data an integration sends."""

from __future__ import annotations

import datetime as dt

import pytest

from lifecycle.health.defaults import DEFAULT_MEASURES_V2
from lifecycle.health.facts import AccountFacts
from lifecycle.health.scoring import MISSING, ScorecardConfig, load_scorecards, score_account, scorecard_for

TODAY = dt.date(2026, 11, 23)


def integration_only(**overrides) -> AccountFacts:
    """What a usage feed, a product feed, a survey tool, a help desk and the contract give; nothing a CSM logs."""
    values = dict(
        account_id=1,
        tier="low",
        stage="success",
        owner_id=1,
        pool_id=None,
        stage_entered_on=TODAY - dt.timedelta(days=400),
        contract_start=TODAY - dt.timedelta(days=60),
        renewal_date=TODAY + dt.timedelta(days=305),
        customer_since=TODAY - dt.timedelta(days=2 * 365),
        usage_feed_day=TODAY - dt.timedelta(days=1),
        usage_licences_owned=50,
        active_user_days_28d=28 * 30,  # 30 of 50 licences in use on an average day
        active_user_days_7d=7 * 30,
        active_user_days_prev28=28 * 30,
        product_feed_day=TODAY - dt.timedelta(days=1),
        products_entitled=4,
        products_used=4,
        last_nps=9,
        last_nps_at=dt.datetime(2026, 10, 1, 10, 0, tzinfo=dt.UTC),
        tickets_known=True,
        ticket_weight_90d=3,
    )
    values.update(overrides)
    return AccountFacts(**values)


@pytest.fixture
def default() -> ScorecardConfig:
    cards = load_scorecards()
    card = scorecard_for(cards, tier="low", stage="success")
    assert card is not None and card.label == "Standard health v2"
    return card


@pytest.mark.django_db
def test_a_new_install_scores_every_account_with_the_shipped_default(default):
    assert {
        measure.kind: (measure.weight, measure.zero_at, measure.full_at, measure.validity_days)
        for measure in default.measures
    } == {
        kind: tuple(float(value) for value in values[:3]) + (values[3],) for kind, values in DEFAULT_MEASURES_V2.items()
    }
    assert all(measure.missing_points is None for measure in default.measures)  # missing data is left out


@pytest.mark.django_db
def test_a_healthy_account_reaches_green_with_only_what_an_integration_sends(default):
    result = score_account(default, integration_only(), day=TODAY)
    # Nothing a CSM records is there, and none of it counts against the account.
    for kind in ("engagement_recency", "stakeholder_coverage", "csm_pulse", "checkin_concerns"):
        assert result.measures[kind]["status"] == MISSING and result.measures[kind]["score"] is None
    assert result.band == "green" and result.score >= 80


@pytest.mark.django_db
def test_an_account_using_little_of_what_it_bought_and_unhappy_is_red_on_the_same_data(default):
    struggling = integration_only(
        active_user_days_28d=28 * 4,
        active_user_days_7d=7 * 2,
        active_user_days_prev28=28 * 5,
        products_used=1,
        last_nps=3,
        ticket_weight_90d=18,
    )
    assert score_account(default, struggling, day=TODAY).band == "red"
