"""The CSM pulse: a 1–6 gut feel with reasons, which goes stale after 90 days (30 for the extremes)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.tests.conftest import csm, own_account, team, teammate, teammate_account  # noqa: F401
from lifecycle.health.models import PendingRecompute
from lifecycle.models import PulseRating
from lifecycle.signals.services import pulse_latest, pulse_rate

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("rating", "days"), [(1, 30), (2, 90), (3, 90), (4, 90), (5, 90), (6, 30)])
def test_a_rating_expires_after_90_days_and_the_extremes_after_30(csm, own_account, rating, days):
    with time_machine.travel(NOON, tick=False):
        pulse = pulse_rate(actor=csm, account=own_account, rating=rating, reasons=["value"], comment=" Fine ")
    assert (pulse.rated_at, pulse.expires_at) == (NOON, NOON + dt.timedelta(days=days))
    assert (pulse.rated_by, pulse.reasons, pulse.comment) == (csm, ["value"], "Fine")
    assert PendingRecompute.objects.filter(account=own_account).exists()

    with time_machine.travel(NOON + dt.timedelta(days=days) - dt.timedelta(seconds=1), tick=False):
        assert pulse_latest(own_account).expired is False
    with time_machine.travel(NOON + dt.timedelta(days=days), tick=False):
        assert pulse_latest(own_account).expired is True


def test_the_latest_rating_is_the_current_one(csm, own_account):
    with time_machine.travel(NOON, tick=False):
        pulse_rate(actor=csm, account=own_account, rating=5)
    with time_machine.travel(NOON + dt.timedelta(days=10), tick=False):
        pulse_rate(actor=csm, account=own_account, rating=2, reasons=["budget", "competition", "budget"])
        current = pulse_latest(own_account)
    assert (current.rating.rating, current.label, current.reason_labels) == (2, "Negative", ["Budget", "Competition"])


@pytest.mark.parametrize(
    ("rating", "reasons", "field"),
    [(0, [], "rating"), (7, [], "rating"), (True, [], "rating"), (3, ["vibes"], "reasons")],
)
def test_an_out_of_range_rating_or_unknown_reason_is_refused(csm, own_account, rating, reasons, field):
    with pytest.raises(ValidationError) as error:
        pulse_rate(actor=csm, account=own_account, rating=rating, reasons=reasons)
    assert set(error.value.message_dict) == {field}
    assert not PulseRating.objects.exists()


# --- Pages ---------------------------------------------------------------------------------------------


def test_rating_through_htmx_returns_the_partial_with_the_new_pulse(client, csm, own_account):
    client.force_login(csm)
    response = client.post(
        reverse("pulse", args=[own_account.pk]),
        {"pulse-rating": "6", "pulse-reasons": ["relationship", "executive"], "pulse-comment": "Champion loves us"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "6 · Very positive" in body and "Relationship, Executive sponsorship" in body
    pulse = PulseRating.objects.get()
    assert pulse.expires_at - pulse.rated_at == dt.timedelta(days=30)


def test_a_missing_rating_is_shown_on_the_form_and_nothing_is_saved(client, csm, own_account):
    client.force_login(csm)
    response = client.post(reverse("pulse", args=[own_account.pk]), {"pulse-comment": "?"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    assert not PulseRating.objects.exists()


def test_an_expired_pulse_is_shown_as_expired(client, csm, own_account):
    PulseRating.objects.create(
        account=own_account,
        rated_by=csm,
        rating=4,
        rated_at=timezone.now() - dt.timedelta(days=100),
        expires_at=timezone.now() - dt.timedelta(days=10),
    )
    client.force_login(csm)
    body = client.get(reverse("pulse", args=[own_account.pk])).content.decode()
    assert "Expired" in body and "rate this account again" in body


def test_the_pulse_page_has_a_pinned_query_count(client, csm, own_account, django_assert_num_queries):
    for rating in (2, 3, 5):
        pulse_rate(actor=csm, account=own_account, rating=rating, reasons=["value"])
    client.force_login(csm)
    # session, user, account, latest pulse, history; plus the layout's two (unread notifications, the team)
    with django_assert_num_queries(7):
        assert client.get(reverse("pulse", args=[own_account.pk])).status_code == 200


def test_only_someone_who_may_change_the_account_rates_it(client, csm, teammate_account):
    client.force_login(csm)
    url = reverse("pulse", args=[teammate_account.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"pulse-rating": "3"}).status_code == 403
    assert not PulseRating.objects.exists()
