"""Bearer tokens on the API: stored hashed, refused at once when wrong, revoked, rotated or expired, and cheap."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.request import Request
from rest_framework.test import APIClient, APIRequestFactory

from users.api.views import UserViewSet
from users.tokens import keys, services
from users.tokens.authentication import ApiTokenAuthentication
from users.tokens.models import ApiToken

from .tokens_support import bearer, integration, issue

pytestmark = pytest.mark.django_db

ME = "/api/users/me/"


def test_only_a_hash_of_the_secret_is_stored(csm):
    issued = issue(csm, "read")
    prefix, secret = keys.split(issued.plaintext)
    token = ApiToken.objects.get()
    assert token.prefix == prefix
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ApiToken._meta.db_table}")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert secret not in stored
    assert issued.plaintext not in stored


def test_the_token_reads_baton_prefix_secret(csm):
    plaintext = issue(csm, "read").plaintext
    head, prefix, secret = plaintext.split("_", 2)
    assert head == "baton" and len(prefix) == 8 and len(secret) == 40
    assert issue(csm, "read", name="Another").plaintext != plaintext


@pytest.mark.parametrize("keyword", ["Bearer", "bearer", "Token"])
def test_a_token_authenticates_as_its_user(csm, keyword):
    response = bearer(issue(csm, "read").plaintext, keyword=keyword).get(ME)
    assert response.status_code == 200
    assert response.json()["username"] == "alex"


def test_a_legacy_key_still_works_during_its_deprecation(csm):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=csm).key}")
    assert client.get(ME).status_code == 200


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: "baton_zzzzzzzz_" + t.split("_")[2],  # unknown prefix
        lambda t: t + "x",  # too long
        lambda t: "baton_" + t,  # malformed
    ],
    ids=["wrong-secret", "unknown-prefix", "too-long", "malformed"],
)
def test_a_wrong_token_is_refused_with_401(csm, mangle):
    response = bearer(mangle(issue(csm, "read").plaintext)).get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"] == "Invalid token."


def test_a_request_without_credentials_is_answered_401_with_the_scheme():
    response = APIClient().get(ME)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_revoked_token_stops_working_at_once(csm):
    issued = issue(csm, "read")
    client = bearer(issued.plaintext)
    assert client.get(ME).status_code == 200
    services.token_revoke(actor=csm, token=issued.token)
    response = client.get(ME)
    assert response.status_code == 401
    assert response.json()["detail"] == "This token was revoked."


def test_rotation_stops_the_old_string_and_starts_the_new_one(csm):
    old = issue(csm, "read")
    assert bearer(old.plaintext).get(ME).status_code == 200
    new = services.token_rotate(actor=csm, token=old.token)
    assert new.plaintext != old.plaintext
    assert bearer(old.plaintext).get(ME).status_code == 401
    assert bearer(new.plaintext).get(ME).status_code == 200
    assert ApiToken.objects.count() == 1
    assert ApiToken.objects.get().scope_labels == ["read"]


def test_an_expired_token_is_refused(csm):
    issued = services.token_create(
        actor=csm, kind="personal", name="Short", scopes=["read"], expires_at=timezone.now() + dt.timedelta(hours=1)
    )
    assert bearer(issued.plaintext).get(ME).status_code == 200
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1, seconds=1)):
        response = bearer(issued.plaintext).get(ME)
    assert response.status_code == 401
    assert response.json()["detail"] == "This token has expired."


def test_the_token_of_a_switched_off_user_is_refused(csm):
    issued = issue(csm, "read")
    csm.is_active = False
    csm.save()
    assert bearer(issued.plaintext).get(ME).status_code == 401


def test_an_integration_token_stops_with_its_revocation_even_if_its_identity_were_switched_on_again(admin):
    issued = integration(admin, "read")
    services.token_revoke(actor=admin, token=issued.token)
    issued.token.user.is_active = True
    issued.token.user.save()
    assert bearer(issued.plaintext).get(ME).status_code == 401


def test_last_use_records_time_and_address_at_most_once_a_minute(csm):
    issued = issue(csm, "read")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        bearer(issued.plaintext, address="198.51.100.4").get(ME)
    token = ApiToken.objects.get()
    assert (token.last_used_at, token.last_used_ip) == (start, "198.51.100.4")
    with time_machine.travel(start + dt.timedelta(seconds=59), tick=False):
        bearer(issued.plaintext, address="198.51.100.5").get(ME)
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (start, "198.51.100.4")
    later = start + dt.timedelta(seconds=61)
    with time_machine.travel(later, tick=False):
        bearer(issued.plaintext, address="2001:db8::1").get(ME)
    token.refresh_from_db()
    assert (token.last_used_at, token.last_used_ip) == (later, "2001:db8::1")


def _authenticate(plaintext: str):
    request = APIRequestFactory().get(reverse("api:user-me"), HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    drf_request = Request(request, parser_context={"view": UserViewSet(action="me")})
    return ApiTokenAuthentication().authenticate(drf_request)


def test_authenticating_costs_one_query_plus_at_most_one_conditional_update(csm, django_assert_num_queries):
    issued = issue(csm, "read")
    with django_assert_num_queries(2):  # find the token and its user; mark it used
        user, token = _authenticate(issued.plaintext)
    assert (user, token.pk) == (csm, issued.token.pk)
    with django_assert_num_queries(1):  # used a moment ago: nothing to write
        _authenticate(issued.plaintext)


def test_a_whole_request_with_a_token_costs_one_query_to_authenticate(csm, django_assert_num_queries):
    issued = issue(csm, "read")
    client = bearer(issued.plaintext)
    client.get(ME)  # the first use writes last_used_at
    with django_assert_num_queries(1):
        assert client.get(reverse("api:user-me")).status_code == 200
