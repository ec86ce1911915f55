"""A team's chat webhook URL is a secret: written by admins, never read back, and only to public addresses."""

import pytest
from django.test import override_settings
from django.urls import reverse
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

PUBLIC = "https://93.184.216.34/services/T000/B000/secret"


@pytest.fixture
def api():
    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


def test_nobody_reads_a_teams_chat_webhook_url_back(api, admin, csm, team):
    team.chat_webhook_url = PUBLIC
    team.save()
    for caller in (csm, admin):
        listed = api(caller).get(reverse("api:team-list")).json()["results"]
        detail = api(caller).get(reverse("api:team-detail", args=[team.pk])).json()
        for row in [*listed, detail]:
            assert "chat_webhook_url" not in row
            assert "secret" not in str(row)
        assert detail["chat_webhook"] == {"set": True, "host": "93.184.216.34"}


def test_an_admin_sets_the_url_and_the_answer_does_not_echo_it(api, admin, team):
    response = api(admin).patch(reverse("api:team-detail", args=[team.pk]), {"chat_webhook_url": PUBLIC})
    assert response.status_code == 200, response.content
    assert "secret" not in response.content.decode()
    team.refresh_from_db()
    assert team.chat_webhook_url == PUBLIC
    cleared = api(admin).patch(reverse("api:team-detail", args=[team.pk]), {"chat_webhook_url": ""})
    assert cleared.json()["chat_webhook"] == {"set": False, "host": ""}


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.0.0.5/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "http://93.184.216.34/hook",  # plain http carries customer data in clear
    ],
)
def test_a_private_or_plain_http_chat_url_is_refused(api, admin, team, url):
    response = api(admin).patch(reverse("api:team-detail", args=[team.pk]), {"chat_webhook_url": url})
    assert response.status_code == 400
    assert "chat_webhook_url" in response.json()
    team.refresh_from_db()
    assert team.chat_webhook_url == ""


@override_settings(BATON_WEBHOOKS_ALLOW_PRIVATE=True)
def test_an_install_that_allows_private_addresses_may_save_one(api, admin, team):
    response = api(admin).patch(reverse("api:team-detail", args=[team.pk]), {"chat_webhook_url": "http://10.0.0.5/h"})
    assert response.status_code == 200
    team.refresh_from_db()
    assert team.chat_webhook_url == "http://10.0.0.5/h"
