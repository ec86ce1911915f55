"""/settings/tokens/ (admins: integration tokens) and /me/tokens/ (anyone: their own): shown once, changed by whom."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from users.tokens.models import ApiToken, TokenKind

from .tokens_support import bearer, integration, issue

pytestmark = pytest.mark.django_db

SETTINGS = "/settings/tokens/"
MINE = "/me/tokens/"


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_urls_are_where_the_menus_point():
    assert reverse("integration-tokens") == SETTINGS
    assert reverse("personal-tokens") == MINE


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_people_other_than_admins_cannot_open_the_integration_tokens(request, who):
    client = signed_in(request.getfixturevalue(who))
    assert client.get(SETTINGS).status_code == 403
    assert client.post(SETTINGS, {"name": "Feed", "scopes": ["read"]}).status_code == 403
    assert not ApiToken.objects.exists()


def test_signed_out_visitors_are_sent_to_log_in():
    response = Client().get(MINE)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_an_admin_creates_an_integration_token_and_sees_it_once(admin):
    client = signed_in(admin)
    response = client.post(SETTINGS, {"name": "Usage feed", "scopes": ["read", "write:signals"]})
    assert response.status_code == 201
    assert "no-store" in response["Cache-Control"]
    plaintext = response.context["issued"].plaintext
    page = response.content.decode()
    assert plaintext in page and "You won't see it again" in page
    token = ApiToken.objects.get()
    assert (token.kind, token.name, token.scope_labels) == (
        TokenKind.INTEGRATION,
        "Usage feed",
        ["read", "write:signals"],
    )
    again = client.get(SETTINGS).content.decode()
    assert plaintext not in again
    assert f"baton_{token.prefix}_…" in again
    assert bearer(plaintext).get("/api/users/me/").status_code == 200


def test_a_bad_form_is_answered_422_and_writes_nothing(admin):
    response = signed_in(admin).post(SETTINGS, {"name": "", "scopes": []})
    assert response.status_code == 422
    assert not ApiToken.objects.exists()


def test_the_list_shows_scopes_maker_last_use_and_revoked_state(admin):
    used = integration(admin, "read", name="CRM sync")
    bearer(used.plaintext, address="192.0.2.55").get("/api/users/me/")
    stopped = integration(admin, "write:signals", name="Old feed").token
    signed_in(admin).post(reverse("token-revoke", args=[stopped.pk]))
    page = signed_in(admin).get(SETTINGS).content.decode()
    assert "CRM sync" in page and "192.0.2.55" in page and "revoked" in page
    assert str(admin) in page


def test_the_integration_page_costs_the_same_queries_whatever_the_number_of_tokens(
    admin, csm, django_assert_num_queries
):
    client = signed_in(admin)
    integration(admin, "read", name="One")
    issue(csm, "read", name="Mine")
    client.get(SETTINGS)
    # session, user, the bell's unread count, integration tokens, people's tokens
    with django_assert_num_queries(5):
        client.get(SETTINGS)
    for n in range(4):
        integration(admin, "read", name=f"Feed {n}")
        issue(csm, "read", name=f"Script {n}")
    with django_assert_num_queries(5):
        client.get(SETTINGS)


def test_anyone_makes_rotates_and_revokes_their_own_token(csm):
    client = signed_in(csm)
    created = client.post(MINE, {"name": "My script", "scopes": ["read"]})
    assert created.status_code == 201
    first = created.context["issued"].plaintext
    token = ApiToken.objects.get()
    assert (token.kind, token.user) == (TokenKind.PERSONAL, csm)
    rotated = client.post(reverse("token-rotate", args=[token.pk]))
    assert rotated.status_code == 200
    second = rotated.context["issued"].plaintext
    assert second != first and second in rotated.content.decode()
    assert bearer(first).get("/api/users/me/").status_code == 401
    assert bearer(second).get("/api/users/me/").status_code == 200
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 302
    assert bearer(second).get("/api/users/me/").status_code == 401


def test_the_personal_page_lists_only_ones_own_tokens_in_fixed_queries(csm, teammate, django_assert_num_queries):
    issue(teammate, "read", name="Sam export")
    issue(csm, "read", name="Alex export")
    client = signed_in(csm)
    page = client.get(MINE).content.decode()
    assert "Alex export" in page and "Sam export" not in page
    for n in range(3):
        issue(csm, "read", name=f"Script {n}")
    with django_assert_num_queries(5):  # session, user, the bell's unread count, the frame's team name, the tokens
        client.get(MINE)


def test_no_one_changes_another_persons_token_but_an_admin(csm, teammate, admin):
    token = issue(teammate, "read").token
    client = signed_in(csm)
    assert client.post(reverse("token-rotate", args=[token.pk])).status_code == 403
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 403
    assert signed_in(admin).post(reverse("token-revoke", args=[token.pk])).status_code == 302
    assert ApiToken.objects.get().revoked_by == admin


def test_a_csm_cannot_rotate_or_revoke_an_integration_token(csm, admin):
    token = integration(admin, "read").token
    client = signed_in(csm)
    assert client.post(reverse("token-rotate", args=[token.pk])).status_code == 403
    assert client.post(reverse("token-revoke", args=[token.pk])).status_code == 403
    assert ApiToken.objects.get().revoked_at is None


def test_an_admin_rotates_an_integration_token_and_sees_the_new_one_once(admin):
    token = integration(admin, "read").token
    response = signed_in(admin).post(reverse("token-rotate", args=[token.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    assert response.context["issued"].plaintext in response.content.decode()


def test_the_menus_link_the_token_pages(admin, csm):
    admin_page = signed_in(admin).get(MINE).content.decode()
    assert f'href="{SETTINGS}"' in admin_page and f'href="{MINE}"' in admin_page
    csm_page = signed_in(csm).get(MINE).content.decode()
    assert f'href="{SETTINGS}"' not in csm_page and f'href="{MINE}"' in csm_page
