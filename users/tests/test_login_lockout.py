"""Guessing passwords on the sign-in page: five wrong ones lock that username at that address, with a clear page."""

import pytest
from axes.models import AccessAttempt
from axes.utils import reset
from django.urls import reverse

from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db


def _sign_in(client, username, password, address="198.51.100.7"):
    return client.post(reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address)


def test_five_wrong_passwords_lock_the_user_at_that_address_even_for_the_right_one(client):
    CSMFactory(username="ana")  # password "pw"
    for _ in range(4):
        response = _sign_in(client, "ana", "guess")
        assert response.status_code == 200 and "password didn" in response.content.decode()
    locked = _sign_in(client, "ana", "guess")
    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert "15 minutes" in locked.content.decode()
    right = _sign_in(client, "ana", "pw")
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # Another address is not locked out by this one's guesses.
    assert _sign_in(client, "ana", "pw", address="203.0.113.5").status_code == 302


def test_an_admin_unlock_lets_the_user_sign_in_again(client):
    CSMFactory(username="ana")
    for _ in range(5):
        _sign_in(client, "ana", "guess")
    assert AccessAttempt.objects.filter(username="ana").exists()
    reset(username="ana")
    assert _sign_in(client, "ana", "pw").status_code == 302


def test_a_right_password_before_the_limit_starts_the_count_afresh(client):
    CSMFactory(username="ana")
    for _ in range(4):
        _sign_in(client, "ana", "guess")
    assert _sign_in(client, "ana", "pw").status_code == 302
    client.logout()
    for _ in range(4):
        assert _sign_in(client, "ana", "guess").status_code == 200
