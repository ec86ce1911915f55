"""The sign-in lock-out and the API's rate limits key on the client's address, behind a proxy only when told so.

With BATON_TRUSTED_PROXY_COUNT=0 (the default) X-Forwarded-For is anyone's
to write and is ignored; with 1, the last hop (the address the proxy saw) is
the client's and whatever the caller put before it is ignored.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.core.cache import cache
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.test import APIClient

from core.client_address import client_ip
from users.tests.factories import CSMFactory

ROOT = Path(__file__).resolve().parent.parent.parent
PROXY = "10.0.0.2"


@pytest.fixture
def proxies(settings):
    def trust(count: int) -> None:
        settings.BATON_TRUSTED_PROXY_COUNT = count
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "NUM_PROXIES": count,
            "DEFAULT_THROTTLE_RATES": {"anon": "60/min", "user": "1200/min", "failed_auth": "3/min"},
        }

    cache.clear()
    yield trust
    cache.clear()


def _sign_in(client, password: str, forwarded_for: str | None, remote_addr: str = PROXY):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return client.post(reverse("login"), {"username": "ana", "password": password}, REMOTE_ADDR=remote_addr, **headers)


def _request(remote_addr: str, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, **headers)


@pytest.mark.parametrize(
    ("count", "forwarded_for", "expected"),
    [
        (0, None, "192.0.2.1"),
        (0, "203.0.113.9", "192.0.2.1"),  # forged, ignored
        (1, None, "192.0.2.1"),  # nothing forwarded: the connection's
        (1, "203.0.113.9", "203.0.113.9"),
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),  # the caller's own entry is ignored
        (1, " 203.0.113.9 ", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.3", "203.0.113.9"),
        (2, "203.0.113.9", "203.0.113.9"),  # fewer hops than proxies: the one there is, as DRF counts
        (1, "2001:db8::1", "2001:db8::1"),
        (1, "not-an-address", "192.0.2.1"),  # axes stores an IP: anything else falls back
        (1, "6.6.6.6, ", "192.0.2.1"),
    ],
)
def test_the_client_address_rule(settings, count, forwarded_for, expected):
    settings.BATON_TRUSTED_PROXY_COUNT = count
    assert client_ip(_request("192.0.2.1", forwarded_for)) == expected


@pytest.mark.django_db
def test_with_no_trusted_proxy_a_forged_forwarded_for_does_not_dodge_the_sign_in_lock_out(client, proxies):
    proxies(0)
    CSMFactory(username="ana")
    for n in range(5):
        _sign_in(client, "guess", forwarded_for=f"203.0.113.{n}")
    locked = _sign_in(client, "pw", forwarded_for="203.0.113.99")
    assert locked.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_lock_out_keys_on_the_last_hop(client, proxies):
    proxies(1)
    CSMFactory(username="ana")
    for _ in range(5):
        # The caller prepends a forged address each time; the proxy appends the real one.
        _sign_in(client, "guess", forwarded_for="6.6.6.6, 198.51.100.7")
    assert _sign_in(client, "pw", forwarded_for="198.51.100.7").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}
    # Another client behind the same proxy is not locked out with the first.
    assert _sign_in(client, "pw", forwarded_for="198.51.100.8").status_code == 302


def _wrong_token(client, n: int, forwarded_for: str):
    return client.get(
        reverse("api:team-list"),
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
        HTTP_AUTHORIZATION=f"Bearer baton_wrong{n:032d}",
    )


@pytest.mark.django_db
def test_with_no_trusted_proxy_a_forged_forwarded_for_does_not_dodge_the_api_rate_limit(proxies):
    proxies(0)
    client = APIClient()
    # Wrong tokens, each call claiming another address: all are counted against the connection's.
    statuses = [_wrong_token(client, n, f"203.0.113.{n}").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


@pytest.mark.django_db
def test_behind_one_trusted_proxy_the_api_rate_limit_keys_on_the_last_hop(proxies):
    proxies(1)
    client = APIClient()
    statuses = [_wrong_token(client, n, f"6.6.6.{n}, 198.51.100.7").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]
    # Another client behind the same proxy has its own allowance.
    assert _wrong_token(client, 5, "198.51.100.8").status_code == 401


def test_the_setting_configures_axes_and_drf_together():
    code = (
        "from django.conf import settings; from rest_framework.settings import api_settings; "
        "print(settings.BATON_TRUSTED_PROXY_COUNT, api_settings.NUM_PROXIES, settings.AXES_CLIENT_IP_CALLABLE)"
    )
    outputs = []
    for value in ("", "1"):
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "csm.settings.test"}
        env.pop("BATON_TRUSTED_PROXY_COUNT", None)
        if value:
            env["BATON_TRUSTED_PROXY_COUNT"] = value
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {code}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.split())
    assert outputs == [
        ["0", "0", "core.client_address.client_ip"],
        ["1", "1", "core.client_address.client_ip"],
    ]
