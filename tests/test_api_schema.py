"""The OpenAPI schema: generated without a warning, and describing what the API answers.

tools/api_contract.py (`make api-contract`) checks the live API against this schema; these tests keep the schema
itself honest in `make test`: a serializer method without a type, a colliding enum name or an error left
undocumented fails here first.
"""

from __future__ import annotations

from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

from users.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    out = StringIO()
    with django_db_blocker.unblock():
        # --fail-on-warn: any warning (an unresolvable type hint, an enum collision) raises SchemaGenerationError.
        call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=StringIO())
    return yaml.safe_load(out.getvalue())


def _operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def test_the_schema_generates_and_validates_without_warnings(schema):
    assert schema["openapi"].startswith("3.")
    assert len(list(_operations(schema))) > 100


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for path, method, operation in _operations(schema):
        responses = operation["responses"]
        assert {"401", "403", "429"} <= responses.keys(), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if "requestBody" in operation:
            assert {"400", "413", "415"} <= responses.keys(), (method, path)


def test_a_view_documenting_its_own_error_keeps_it(schema):
    batch_400 = schema["paths"]["/api/signals/usage/"]["post"]["responses"]["400"]
    assert batch_400["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BatchError"}
    # A detail GET has nothing to validate, but a preview of a version that is no longer a draft is refused.
    assert "400" in schema["paths"]["/api/health/scorecards/{id}/preview/"]["get"]["responses"]


@pytest.mark.parametrize("path", ["/api/accounts/", "/api/contacts/", "/api/signals/usage/", "/api/red-flags/"])
def test_cursor_lists_document_next_previous_results_and_an_optional_count(schema, path):
    operation = schema["paths"][path]["get"]
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    if "$ref" in body:
        body = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(body["properties"]) == {"next", "previous", "count", "results"}
    assert body["required"] == ["results"]
    assert body["properties"]["next"]["nullable"] is True
    assert body["properties"]["previous"]["nullable"] is True
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"cursor", "page_size", "count", "page"}


def test_values_that_may_be_empty_or_null_are_declared_so(schema):
    components = schema["components"]["schemas"]
    assert components["TimelineEntry"]["properties"]["author"]["nullable"] is True
    assert components["Transition"]["properties"]["to_csm"]["nullable"] is True
    assert components["AlertSettings"]["properties"]["updated_at"]["nullable"] is True
    email = components["Contact"]["properties"]["email"]
    assert {"type": "string", "maxLength": 0} in email["anyOf"]
    assert components["Team"]["properties"]["chat_webhook"]["allOf"][0] == {"$ref": "#/components/schemas/ChatWebhook"}


def test_an_api_address_no_route_matches_answers_json_not_a_page():
    client = APIClient()
    client.force_login(AdminFactory())

    response = client.get("/api/imports/-3/")  # <int:pk> takes no minus sign: no route matches

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found: no such API address."}


def test_a_page_address_no_route_matches_still_answers_the_html_page():
    client = APIClient()
    client.force_login(AdminFactory())

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_the_schema_endpoint_serves_the_same_schema(schema):
    client = APIClient()
    client.force_login(AdminFactory())

    response = client.get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    assert response.json()["paths"].keys() == schema["paths"].keys()
