"""Malformed input is a 4xx everywhere, never a 500: every API list and detail route and the JSON parser itself.

Each class from the hardening issue is thrown at every route the API router
registers (as an admin, who may reach them all): non-integer and
overflowing ids in the URL, on details and on their actions; overflowing
and nonsensical page, offset, cursor, page_size and ordering parameters;
and JSON bodies that are too large, too deep, hold a NUL, a huge number,
infinity or NaN.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client, override_settings
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from csm.api_router import router
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "99999999999999999999999", "-1", "1.5", "%00", "0x10"]
BAD_QUERIES = [
    {"page": "99999999999999999999"},
    {"page": "-1"},
    {"page": "abc"},
    {"page_size": "99999999999999999999"},
    {"offset": "99999999999999999999"},
    {"limit": "-5"},
    {"cursor": "not-a-cursor"},
    {"cursor": "cD05OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"},
    {"ordering": "-nope,__id"},
    {"id": "abc"},
    {"account": "99999999999999999999"},
    {"since": "9999-99-99"},
    {"q": "\x00"},
]


@pytest.fixture
def client() -> APIClient:
    client = APIClient()
    client.force_authenticate(AdminFactory(username="root"))
    client.raise_request_exception = False
    return client


def _routes() -> list[tuple[str, str, bool]]:
    """(name, url pattern, detail?) for every route the API router registers."""
    routes = []
    for pattern in router.urls:
        if not isinstance(pattern, URLPattern) or not pattern.name or pattern.name == "api-root":
            continue
        if "format" in pattern.pattern.regex.groupindex:
            continue
        routes.append((pattern.name, str(pattern.pattern), "pk" in pattern.pattern.regex.groupindex))
    return routes


LIST_ROUTES = [name for name, _, detail in _routes() if not detail]
DETAIL_ROUTES = [name for name, _, detail in _routes() if detail]


def _no_5xx(response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.content[:300]!r}"


@pytest.mark.parametrize("name", LIST_ROUTES)
def test_list_routes_answer_bad_query_parameters_with_a_4xx_or_ignore_them(client, name):
    url = reverse(f"api:{name}")
    for query in BAD_QUERIES:
        _no_5xx(client.get(url, query), f"GET {url} {query}")


@pytest.mark.parametrize("name", DETAIL_ROUTES)
def test_detail_routes_and_their_actions_answer_a_bad_id_with_a_4xx(client, name):
    for bad in BAD_IDS:
        url = reverse(f"api:{name}", kwargs={"pk": "1"}).replace("/1/", f"/{bad}/")
        for method in ("get", "post", "patch", "delete"):
            response = getattr(client, method)(url, {}, format="json")
            _no_5xx(response, f"{method.upper()} {url}")
            if method == "get" and response.status_code != 405:
                assert response.status_code in (400, 404), f"GET {url}: {response.status_code}"


BAD_BODIES = {
    "nul": '{"name": "a\\u0000b", "segment": "x\\u0000"}',
    "nul in a key": '{"na\\u0000me": "x"}',
    "huge int": '{"name": "x", "score": ' + "9" * 5000 + "}",
    "64-bit overflow": '{"name": "x", "score": 9223372036854775808}',
    "infinity": '{"name": "x", "score": 1e999}',
    "nan": '{"name": "x", "score": NaN}',
    "deep": "[" * 100 + "]" * 100,
    "very deep": "[" * 100_000 + "]" * 100_000,
    "not json": "{'name': 'x'",
    "not utf-8": b'{"name": "\xff\xfe"}',
}


@pytest.mark.parametrize("kind", BAD_BODIES)
def test_malformed_json_bodies_are_refused_on_every_list_route(client, kind):
    body = BAD_BODIES[kind]
    for name in LIST_ROUTES:
        url = reverse(f"api:{name}")
        response = client.post(url, body, content_type="application/json")
        _no_5xx(response, f"POST {url} ({kind})")
        # Nothing is created from it (an action that reads no body, like "mark all read", may still succeed).
        assert response.status_code != 201, f"POST {url} ({kind}) created something"


def test_the_json_parser_names_what_is_wrong(client):
    url = reverse("api:team-list")
    cases = {
        BAD_BODIES["nul"]: "NUL",
        BAD_BODIES["64-bit overflow"]: "out of range",
        BAD_BODIES["infinity"]: "out of range",
        BAD_BODIES["nan"]: "NaN",
        BAD_BODIES["deep"]: "nested deeper than 32",
        BAD_BODIES["very deep"]: "nested deeper than 32",
    }
    for body, message in cases.items():
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 400
        assert message in response.json()["detail"]


@override_settings(BATON_API_MAX_BODY_BYTES=1000)
def test_a_body_over_the_limit_is_a_413_that_says_so(client):
    url = reverse("api:team-list")
    response = client.post(url, json.dumps({"name": "x" * 2000}), content_type="application/json")
    assert response.status_code == 413
    assert "larger than 1,000 bytes" in response.json()["detail"]
    assert client.post(url, json.dumps({"name": "Small"}), content_type="application/json").status_code == 201


def test_a_50_mb_body_is_refused_without_being_parsed(client):
    body = '{"name": "' + "x" * (50 * 1024 * 1024) + '"}'
    response = client.post(reverse("api:team-list"), body, content_type="application/json")
    assert response.status_code == 413


def test_a_batch_of_10000_usage_rows_fits_the_batch_limit(client):
    rows = [
        {"account": "crm-0000123456", "day": "2026-11-30", "product": "reporting-suite", "active_users": 1234,
         "key_events": 123456, "licences_used": 1200, "licences_owned": 1500}
        for _ in range(10_000)
    ]  # fmt: skip
    body = json.dumps({"rows": rows})
    assert 2 * 1024 * 1024 > len(body) > 1_500_000  # over nothing but the ordinary limit's neighbourhood
    response = client.post(reverse("api:signal-usage-list") + "?dry_run=1", body, content_type="application/json")
    assert response.status_code != 413
    _no_5xx(response, "10,000 usage rows")


PAGE_QUERIES = [
    *BAD_QUERIES,
    {"owner": "abc"},
    {"owner": "99999999999999999999"},
    {"bulk": "99999999999999999999"},
    {"team": "99999999999999999999"},
    {"from": "9999-99-99"},
    {"to": "0000-01-01"},
    {"days": "999999999999999"},
    {"score_min": "1e999"},
    {"band": "nope"},
    {"sort": "__nope"},
]


def _page_names(resolver: URLResolver | None = None, prefix: str = "") -> list[str]:
    names = []
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in ("api", "admin"):
                continue
            names += _page_names(pattern, prefix + (f"{pattern.namespace}:" if pattern.namespace else ""))
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.append(prefix + pattern.name)
    return names


def test_pages_without_arguments_answer_bad_query_parameters_without_a_500():
    client = Client(raise_request_exception=False)
    client.force_login(AdminFactory(username="root"))
    for name in _page_names():
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue  # takes arguments
        if url.startswith(("/api/", "/admin/", "/logout")):
            continue
        for query in PAGE_QUERIES:
            _no_5xx(client.get(url, query), f"GET {url} {query}")
