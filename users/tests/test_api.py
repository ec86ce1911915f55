"""/api/users/ and /api/teams/: everyone signed in reads, only admins change people and teams."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from users.models import Team, User
from users.tests.factories import CSMFactory, TeamFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    def make(user=None, *, auth="session"):
        client = APIClient()
        if user is not None and auth == "token":
            client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        elif user is not None:
            client.force_login(user)
        return client

    return make


@pytest.mark.parametrize("url_name", ["api:user-list", "api:team-list", "api:user-me"])
def test_anonymous_callers_are_refused(api, url_name):
    response = api().get(reverse(url_name))
    assert response.status_code in {401, 403}


@pytest.mark.parametrize("auth", ["session", "token"])
def test_a_csm_lists_users_filtered_by_role_and_team(api, auth, csm, teammate, manager, other_csm):
    response = api(csm, auth=auth).get(reverse("api:user-list"), {"role": "csm", "team": csm.team_id})
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert {row["username"] for row in response.json()["results"]} == {"alex", "sam"}
    first = response.json()["results"][0]
    assert first["full_name"] == "Alex Ward"
    assert "password" not in first


def test_users_are_paginated(api, csm, team):
    CSMFactory.create_batch(60, team=team)
    response = api(csm).get(reverse("api:user-list"), {"page_size": 25, "page": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 61
    assert len(body["results"]) == 11
    assert body["next"] is None and body["previous"]


def test_an_unknown_filter_value_is_a_400_with_the_field_named(api, csm):
    response = api(csm).get(reverse("api:user-list"), {"role": "emperor"})
    assert response.status_code == 400
    assert "role" in response.json()


def test_me_returns_the_caller(api, manager):
    response = api(manager, auth="token").get(reverse("api:user-me"))
    assert response.status_code == 200
    assert response.json()["username"] == "maria"
    assert response.json()["role"] == "manager"


def test_retrieve_a_team(api, csm, team):
    response = api(csm).get(reverse("api:team-detail", args=[team.pk]))
    assert response.status_code == 200
    assert response.json() == {
        "id": team.pk,
        "name": "Enterprise",
        "segment": "Enterprise",
        "chat_webhook": {"set": False, "host": ""},
    }


def test_teams_filter_by_segment(api, csm, team, other_team):
    response = api(csm).get(reverse("api:team-list"), {"segment": "Mid-market"})
    assert [row["name"] for row in response.json()["results"]] == ["Mid-market"]


@pytest.mark.parametrize("role", ["csm", "manager"])
def test_only_admins_create_or_change_people_and_teams(api, request, role, team):
    caller = request.getfixturevalue(role)
    client = api(caller)
    users, teams = User.objects.count(), Team.objects.count()
    assert client.post(reverse("api:team-list"), {"name": "Rogue"}).status_code == 403
    assert client.patch(reverse("api:team-detail", args=[team.pk]), {"name": "Renamed"}).status_code == 403
    assert client.post(reverse("api:user-list"), {"username": "mallory", "role": "admin"}).status_code == 403
    assert client.patch(reverse("api:user-detail", args=[caller.pk]), {"role": "admin"}).status_code == 403
    caller.refresh_from_db()
    team.refresh_from_db()
    assert caller.role == role and team.name == "Enterprise"
    assert (User.objects.count(), Team.objects.count()) == (users, teams)


def test_an_admin_creates_a_team_and_a_user_and_moves_them(api, admin, other_team):
    client = api(admin, auth="token")
    created = client.post(reverse("api:team-list"), {"name": "SMB", "segment": "SMB"})
    assert created.status_code == 201
    team = Team.objects.get(name="SMB")
    user = client.post(
        reverse("api:user-list"),
        {"username": "nina", "first_name": "Nina", "email": "nina@baton.test", "role": "csm", "team": team.pk},
    )
    assert user.status_code == 201
    nina = User.objects.get(username="nina")
    assert nina.team == team
    moved = client.patch(reverse("api:user-detail", args=[nina.pk]), {"team": other_team.pk, "role": "manager"})
    assert moved.status_code == 200
    nina.refresh_from_db()
    assert (nina.team, nina.role) == (other_team, "manager")


def test_bad_input_for_a_team_or_user_is_a_400_and_writes_nothing(api, admin, team):
    client = api(admin)
    users, teams = User.objects.count(), Team.objects.count()
    duplicate = client.post(reverse("api:team-list"), {"name": "Enterprise"})
    assert duplicate.status_code == 400 and "name" in duplicate.json()
    bad_role = client.post(reverse("api:user-list"), {"username": "x", "role": "emperor"})
    assert bad_role.status_code == 400 and "role" in bad_role.json()
    bad_url = client.patch(reverse("api:team-detail", args=[team.pk]), {"chat_webhook_url": "not a url"})
    assert bad_url.status_code == 400 and "chat_webhook_url" in bad_url.json()
    assert (User.objects.count(), Team.objects.count()) == (users, teams)
    team.refresh_from_db()
    assert team.chat_webhook_url == ""


def test_users_cannot_be_deleted_through_the_api(api, admin, csm):
    response = api(admin).delete(reverse("api:user-detail", args=[csm.pk]))
    assert response.status_code == 405
    assert User.objects.filter(pk=csm.pk).exists()


def test_a_missing_team_is_a_404(api, csm):
    assert api(csm).get(reverse("api:team-detail", args=[99999])).status_code == 404


def test_a_team_that_still_pools_accounts_cannot_be_deleted(api, admin, team):
    from accounts.models import Coverage
    from accounts.tests.factories import AccountFactory

    AccountFactory(coverage=Coverage.POOLED, owner=None, pool=team)
    response = api(admin).delete(reverse("api:team-detail", args=[team.pk]))
    assert response.status_code == 409
    assert "pool" in response.json()["detail"]
    assert Team.objects.filter(pk=team.pk).exists()


def test_an_admin_deletes_an_empty_team(api, admin):
    empty = TeamFactory(name="Sunset")
    assert api(admin).delete(reverse("api:team-detail", args=[empty.pk])).status_code == 204
    assert not Team.objects.filter(pk=empty.pk).exists()
