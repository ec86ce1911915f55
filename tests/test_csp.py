"""Every page carries a Content Security Policy that allows no inline script without the page's own nonce."""

import re

import pytest
from django.urls import reverse

from users.tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db


def _directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_the_login_page_has_the_policy_and_no_inline_script_without_its_nonce(client):
    response = client.get(reverse("login"))
    policy = _directives(response)
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
    assert policy["default-src"] == "'self'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy["script-src"] and policy["script-src-attr"] == "'none'"
    assert policy["form-action"] == "'self'" and policy["base-uri"] == "'self'" and policy["object-src"] == "'none'"
    html = response.content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or f'nonce="{nonce}"' in tag, tag
    assert not re.search(r"\son[a-z]+=", html)


def test_each_response_gets_a_fresh_nonce(client):
    first = _directives(client.get(reverse("login")))["script-src"]
    second = _directives(client.get(reverse("login")))["script-src"]
    assert first != second


def test_signed_in_pages_and_the_api_docs_carry_the_policy(client):
    client.force_login(ManagerFactory(username="maria"))
    for name in ("cockpit", "api-docs"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        nonce = re.search(r"'nonce-([^']+)'", _directives(response)["script-src"]).group(1)
        for tag in re.findall(r"<(?:script|style)\b[^>]*>", response.content.decode()):
            assert "src=" in tag or f'nonce="{nonce}"' in tag, f"{name}: {tag}"
