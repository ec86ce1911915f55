"""The Content Security Policy refuses inline style attributes as it refuses inline event handlers."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.csp import DEFAULT_POLICY, HEADER


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
