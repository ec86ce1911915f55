"""API rate limits: a caller over the rate gets a 429 with Retry-After and a message; guessing tokens is slow."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from users.tests.factories import CSMFactory
from users.tokens.services import token_create

pytestmark = pytest.mark.django_db

PRODUCTION_RATES = {"anon": "60/min", "user": "5/min", "failed_auth": "30/min"}


@pytest.fixture(autouse=True)
def rates(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": PRODUCTION_RATES}
    cache.clear()
    yield
    cache.clear()


def test_the_production_rates_are_the_documented_defaults():
    from csm.settings import base

    assert base.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] == {
        "anon": "60/min",
        "user": "1200/min",
        "failed_auth": "30/min",
    }
    assert api_settings.DEFAULT_THROTTLE_RATES == PRODUCTION_RATES  # read per request, so settings change them


def test_a_signed_in_caller_over_the_rate_gets_a_429_with_retry_after():
    client = APIClient()
    client.force_authenticate(CSMFactory(username="busy"))
    url = reverse("api:team-list")
    assert [client.get(url).status_code for _ in range(5)] == [200] * 5
    refused = client.get(url)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"].startswith("Too many requests")
    # Another user has their own allowance.
    other = APIClient()
    other.force_authenticate(CSMFactory(username="calm"))
    assert other.get(url).status_code == 200


def test_wrong_tokens_from_one_address_are_refused_after_30_then_even_a_right_one_waits():
    user = CSMFactory(username="owner")
    plaintext = token_create(actor=user, kind="personal", name="Script", scopes=["read"]).plaintext
    client = APIClient()
    url = reverse("api:team-list")
    statuses = [client.get(url, HTTP_AUTHORIZATION=f"Bearer baton_wrong{n:032d}").status_code for n in range(30)]
    assert set(statuses) == {401}
    guessed = client.get(url, HTTP_AUTHORIZATION="Bearer baton_wrong-again")
    assert guessed.status_code == 429 and "failed authentications" in guessed.json()["detail"]
    assert int(guessed["Retry-After"]) > 0
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {plaintext}").status_code == 429
    # Another address is not held up by this one's guesses, and the right token works there.
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {plaintext}", REMOTE_ADDR="203.0.113.9").status_code == 200


def test_a_request_without_credentials_is_still_a_401_with_a_bearer_challenge():
    response = APIClient().get(reverse("api:team-list"))
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_with_the_cache_unreachable_the_api_answers_unlimited_rather_than_failing(monkeypatch, caplog):
    from django.core.cache import caches
    from redis.exceptions import ConnectionError as RedisConnectionError

    def unreachable(*args, **kwargs):
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    # What the cache's Redis being down looks like to its callers.
    monkeypatch.setattr(caches["default"], "get", unreachable)
    monkeypatch.setattr(caches["default"], "set", unreachable)
    client = APIClient()
    client.force_authenticate(CSMFactory(username="redis-down"))
    url = reverse("api:team-list")

    assert [client.get(url).status_code for _ in range(7)] == [200] * 7  # the rate is 5/min
    assert APIClient().get(url, HTTP_AUTHORIZATION="Bearer baton_wrong").status_code == 401
    assert "API rate limits not enforced: the cache is unreachable (ConnectionError)" in caplog.text
