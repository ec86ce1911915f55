"""The Content Security Policy refuses inline style attributes as it refuses inline event handlers,
except on Django REST framework's browsable API, whose templates are not Baton's."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from django.urls import reverse

from core.csp import DEFAULT_POLICY, HEADER
from core.csp import policy as csp_policy
from users.tests.factories import ManagerFactory


def _directives(header: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


@pytest.mark.django_db
def test_the_policy_refuses_every_inline_style_attribute(client):
    policy = _directives(client.get(reverse("login"))[HEADER])
    assert policy["style-src-attr"] == "'none'"
    assert "unsafe-inline" not in policy["style-src"] and "unsafe-inline" not in policy["style-src-elem"]
    assert "unsafe-hashes" not in policy["style-src-attr"]


def test_no_directive_allows_anything_inline_without_a_nonce():
    assert not any("unsafe-inline" in value or "unsafe-eval" in value for value in DEFAULT_POLICY.values())


@pytest.mark.django_db
def test_the_browsable_api_may_use_style_attributes_and_its_one_stylesheet_and_nothing_else(client):
    # DRF's own templates float two buttons with `style=`; a style attribute cannot run script.
    client.force_login(ManagerFactory(username="maria"))
    response = client.get("/api/accounts/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    policy = _directives(response[HEADER])
    assert policy["style-src-attr"] == "'unsafe-inline'"
    nonce = re.search(r"'nonce-([^']+)'", policy["script-src"]).group(1)
    strict = _directives(csp_policy(nonce))
    relaxed = {"style-src-attr", "style-src-elem"}
    assert {name: value for name, value in policy.items() if name not in relaxed} == {
        name: value for name, value in strict.items() if name not in relaxed
    }
    # The only inline `<style>` DRF writes (Pygments' stylesheet, when installed) is allowed by its hash alone.
    added = policy["style-src-elem"].removeprefix(strict["style-src-elem"]).split()
    assert all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", source) for source in added), added
    for block in re.findall(r"<style>(.*?)</style>", response.content.decode(), re.DOTALL):
        digest = base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in added


@pytest.mark.django_db
def test_the_same_endpoint_answering_json_keeps_refusing_style_attributes(client):
    client.force_login(ManagerFactory(username="maria"))
    response = client.get("/api/accounts/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert _directives(response[HEADER])["style-src-attr"] == "'none'"


@pytest.mark.django_db
def test_a_baton_page_keeps_refusing_style_attributes(client):
    client.force_login(ManagerFactory(username="maria"))
    response = client.get(reverse("cockpit"))
    assert response.status_code == 200
    assert _directives(response[HEADER])["style-src-attr"] == "'none'"
