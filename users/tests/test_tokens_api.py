"""/api/tokens/: admins only, never the hash, the plaintext only in the answers to create and rotate."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from users.tokens.models import ApiToken, TokenKind

from .tokens_support import bearer, integration, issue

pytestmark = pytest.mark.django_db

LIST = "/api/tokens/"
ME = "/api/users/me/"


def session(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_the_url_is_where_the_docs_say():
    assert reverse("api:api-token-list") == LIST


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_people_other_than_admins_are_refused(request, who):
    client = session(request.getfixturevalue(who))
    assert client.get(LIST).status_code == 403
    assert client.post(LIST, {"name": "Feed", "scopes": ["read"]}, format="json").status_code == 403
    assert not ApiToken.objects.exists()


def test_an_admin_creates_an_integration_token_and_gets_it_once(admin):
    client = session(admin)
    response = client.post(LIST, {"name": "Usage feed", "scopes": ["read", "write:signals"]}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == TokenKind.INTEGRATION and body["scopes"] == ["read", "write:signals"]
    assert "secret_hash" not in body
    assert bearer(body["token"]).get(ME).status_code == 200
    listed = client.get(LIST).json()["results"]
    assert [row["prefix"] for row in listed] == [body["prefix"]]
    assert "token" not in listed[0] and "secret_hash" not in listed[0]
    assert body["token"] not in client.get(reverse("api:api-token-detail", args=[body["id"]])).content.decode()


def test_bad_input_is_a_400_naming_the_field(admin):
    response = session(admin).post(LIST, {"name": "Feed", "scopes": ["root"]}, format="json")
    assert response.status_code == 400
    assert "scopes" in response.json()
    duplicate = session(admin)
    duplicate.post(LIST, {"name": "Feed", "scopes": ["read"]}, format="json")
    again = duplicate.post(LIST, {"name": "Feed", "scopes": ["read"]}, format="json")
    assert again.status_code == 400 and "name" in again.json()


def test_an_admin_rotates_and_revokes_over_the_api(admin):
    issued = integration(admin, "read")
    client = session(admin)
    rotated = client.post(reverse("api:api-token-rotate", args=[issued.token.pk]))
    assert rotated.status_code == 200
    assert bearer(issued.plaintext).get(ME).status_code == 401
    assert bearer(rotated.json()["token"]).get(ME).status_code == 200
    revoked = client.post(reverse("api:api-token-revoke", args=[issued.token.pk]))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert bearer(rotated.json()["token"]).get(ME).status_code == 401
    assert client.post(reverse("api:api-token-revoke", args=[issued.token.pk])).status_code == 400


def test_a_token_never_makes_or_changes_tokens_even_an_admins(admin):
    own = issue(admin)  # every scope
    client = bearer(own.plaintext)
    assert client.get(LIST).status_code == 200
    assert client.post(LIST, {"name": "Escalated", "scopes": ["read"]}, format="json").status_code == 403
    assert client.post(reverse("api:api-token-rotate", args=[own.token.pk])).status_code == 403
    assert ApiToken.objects.count() == 1


def test_an_integration_token_cannot_read_the_token_list(admin):
    assert bearer(integration(admin, "read").plaintext).get(LIST).status_code == 403
