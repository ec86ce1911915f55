"""A manager overrides an account's health score from its Account 360."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.conftest import *  # noqa: F403  (accounts, people and nothing_written)
from lifecycle.models import ScoreOverride

pytestmark = pytest.mark.django_db


def override(client, account, **data):
    fields = {
        "score": 75,
        "expires_on": (timezone.localdate() + dt.timedelta(days=10)).isoformat(),
        "reason": "Exec sponsor re-engaged",
    }
    fields.update(data)
    return client.post(reverse("health-override-set", args=[account.pk]), fields)


def test_the_team_manager_overrides_the_score_and_goes_back_to_the_account(client, manager, own_account):
    client.force_login(manager)
    response = override(client, own_account)
    assert response.status_code == 302 and response.url == reverse("account-detail", args=[own_account.pk])
    assert ScoreOverride.objects.get(account=own_account).score == 75


def test_an_out_of_range_score_answers_422_with_what_was_typed_and_saves_nothing(client, manager, own_account):
    client.force_login(manager)
    response = override(client, own_account, score=140, reason="Typed reason kept")
    assert response.status_code == 422
    page = response.content.decode()
    assert 'value="140"' in page and "Typed reason kept" in page
    assert "less than or equal to 100" in page
    assert not ScoreOverride.objects.exists()


def test_an_expiry_too_far_ahead_is_refused_by_the_service_and_shown_on_the_form(client, manager, own_account):
    client.force_login(manager)
    response = override(client, own_account, expires_on=(timezone.localdate() + dt.timedelta(days=4000)).isoformat())
    assert response.status_code == 422
    assert "Exec sponsor re-engaged" in response.content.decode()
    assert not ScoreOverride.objects.exists()


def test_clearing_when_there_is_no_override_answers_422_and_says_so(client, manager, own_account):
    client.force_login(manager)
    response = client.post(reverse("health-override-clear", args=[own_account.pk]))
    assert response.status_code == 422
    assert "no override to clear" in response.content.decode()


def test_a_csm_cannot_override_even_their_own_account(client, csm, own_account):
    client.force_login(csm)
    assert override(client, own_account).status_code == 403
    assert not ScoreOverride.objects.exists()
