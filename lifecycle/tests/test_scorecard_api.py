"""/api/health/scorecards/: read by everyone, changed by admins, drafts only; bad input is a 4xx that loses nothing."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import AccountFactory
from lifecycle.models import Scorecard
from users.tests.factories import AdminFactory, CSMFactory

pytestmark = pytest.mark.django_db

URL = "/api/health/scorecards/"
USAGE = {"kind": "usage_trend", "weight": "2.00", "zero_at": "-50.00", "full_at": "10.00", "validity_days": 7}


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def admin(api):
    user = AdminFactory()
    api.force_authenticate(user)
    return user


@pytest.fixture
def standard() -> Scorecard:
    return Scorecard.objects.active().get(tier="", stage="")


def test_everyone_reads_versions_with_their_measures_in_a_fixed_number_of_queries(
    api, standard, django_assert_num_queries
):
    api.force_authenticate(CSMFactory())
    with django_assert_num_queries(3):  # count, page, measures
        listing = api.get(URL)

    assert listing.status_code == 200
    first, live = sorted(listing.json()["results"], key=lambda card: card["version"])
    assert (first["label"], first["status"]) == ("Standard health v1", "retired")
    assert (live["label"], live["status"], live["version"]) == ("Standard health v2", "active", 2)
    assert {measure["kind"] for measure in first["measures"]} >= {"usage_trend", "nps"}
    assert {measure["kind"] for measure in live["measures"]} >= {"usage_level", "adoption_breadth"}


def test_a_csm_cannot_write_or_preview(api, standard):
    api.force_authenticate(CSMFactory())
    assert api.post(URL, {"name": "Mine", "measures": [USAGE]}, format="json").status_code == 403
    assert api.post(f"{URL}{standard.pk}/activate/", {"note": "x"}, format="json").status_code == 403
    assert api.get(f"{URL}{standard.pk}/preview/").status_code == 403


def test_an_admin_drafts_edits_previews_and_activates(api, admin, standard, django_capture_on_commit_callbacks):
    AccountFactory(tier="high")
    created = api.post(URL, {"name": "High touch", "tier": "high", "measures": [USAGE]}, format="json")
    assert created.status_code == 201, created.json()
    card = created.json()
    assert (card["status"], card["version"], card["green_min"]) == ("draft", 1, 70)

    edited = api.patch(f"{URL}{card['id']}/", {"green_min": 80, "yellow_min": 50}, format="json")
    assert edited.status_code == 200 and edited.json()["measures"][0]["kind"] == "usage_trend"

    preview = api.get(f"{URL}{card['id']}/preview/")
    assert preview.status_code == 200 and preview.json()["accounts"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        live = api.post(f"{URL}{card['id']}/activate/", {"note": "High-touch accounts need their own"}, format="json")
    assert live.status_code == 200 and live.json()["status"] == "active"
    assert AuditEvent.objects.filter(action=AuditAction.SCORECARD_ACTIVATED, subject_id=card["id"]).exists()


def test_a_live_version_is_frozen_over_the_api_too(api, admin, standard):
    refused = api.patch(f"{URL}{standard.pk}/", {"green_min": 90}, format="json")
    assert refused.status_code == 400 and "frozen" in str(refused.json())
    assert api.delete(f"{URL}{standard.pk}/").status_code == 400

    version = api.post(f"{URL}{standard.pk}/new-version/", {}, format="json")
    assert version.status_code == 201 and version.json()["version"] == standard.version + 1
    again = api.post(f"{URL}{standard.pk}/new-version/", {}, format="json")
    assert again.status_code == 400 and "already a draft" in str(again.json())


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": "x", "measures": []},
        {"name": "x", "measures": [{**USAGE, "weight": "0"}]},
        {"name": "x", "measures": [{**USAGE, "kind": "telepathy"}]},
        {"name": "x", "measures": [{**USAGE, "zero_at": "10.00"}]},
        {"name": "x", "measures": [USAGE, USAGE]},
        {"name": "x", "green_min": 30, "yellow_min": 60, "measures": [USAGE]},
        {"name": "x", "green_min": "lots", "measures": [USAGE]},
        {"name": "x", "tier": "platinum", "measures": [USAGE]},
        {"name": "x", "measures": "usage"},
        {"name": "Standard health", "measures": [USAGE]},
    ],
)
def test_bad_scorecards_are_a_400_with_reasons(api, admin, standard, body):
    before = Scorecard.objects.count()
    response = api.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert Scorecard.objects.count() == before


def test_overlapping_scope_is_refused_with_a_reason(api, admin, standard):
    clone = api.post(f"{URL}{standard.pk}/clone/", {"name": "Copy"}, format="json").json()
    refused = api.post(f"{URL}{clone['id']}/activate/", {"note": "Try"}, format="json")
    assert refused.status_code == 400
    assert "already active for All accounts" in refused.json()["scope"][0]


def test_unknown_ids_are_404(api, admin):
    assert api.get(f"{URL}999999/").status_code == 404
    assert api.post(f"{URL}999999/activate/", {"note": "x"}, format="json").status_code == 404
