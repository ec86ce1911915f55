"""The scorecard editor pages: everyone reads, admins change; bad input is re-shown with 422, never lost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.tests.factories import AccountFactory
from lifecycle.health.scorecards.services import MeasureSpec, scorecard_clone, scorecard_create
from lifecycle.models import MeasureKind, Scorecard
from users.tests.factories import AdminFactory, CSMFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client):
    user = AdminFactory()
    client.force_login(user)
    return user


@pytest.fixture
def standard() -> Scorecard:
    return Scorecard.objects.active().get(tier="", stage="")


def measure_rows(overrides: dict[str, dict] | None = None, *, used: tuple[str, ...] = ("usage_trend", "nps")) -> dict:
    """The editor's measure rows as a browser posts them: every kind, the used ones ticked."""
    data = {
        "measures-TOTAL_FORMS": str(len(MeasureKind.values)),
        "measures-INITIAL_FORMS": str(len(MeasureKind.values)),
        "measures-MIN_NUM_FORMS": "0",
        "measures-MAX_NUM_FORMS": "1000",
    }
    for index, kind in enumerate(MeasureKind.values):
        row = {"kind": kind, "weight": "1", "zero_at": "0", "full_at": "10", "validity_days": "30"}
        row["when_missing"] = "skip"
        if kind in used:
            row["include"] = "on"
        row.update((overrides or {}).get(kind, {}))
        data.update({f"measures-{index}-{name}": value for name, value in row.items()})
    return data


def test_everyone_can_read_the_scorecards_in_a_fixed_number_of_queries(client, standard, django_assert_num_queries):
    client.force_login(CSMFactory())
    for number in range(3):
        scorecard_create(
            actor=AdminFactory(),
            fields={"name": f"Extra {number}", "tier": "tech"},
            measures=[MeasureSpec("nps", Decimal(1), Decimal(0), Decimal(10), 90)],
        )

    with django_assert_num_queries(5):
        listing = client.get("/scorecards/")
    with django_assert_num_queries(7):
        detail = client.get(f"/scorecards/{standard.pk}/")

    assert listing.status_code == 200 and "Standard health" in listing.text and "Extra 2" in listing.text
    assert detail.status_code == 200 and "Usage trend" in detail.text and "<polyline" in detail.text
    assert "Clone" not in detail.text  # no admin actions for a CSM


def test_a_csm_cannot_change_a_scorecard(client, standard):
    client.force_login(CSMFactory())
    assert client.get("/scorecards/new/").status_code == 403
    assert client.post(f"/scorecards/{standard.pk}/clone/", {"name": "Mine"}).status_code == 403
    assert client.post(f"/scorecards/{standard.pk}/activate/", {"note": "x"}).status_code == 403
    assert client.get(f"/scorecards/{standard.pk}/preview/").status_code == 403


def test_an_admin_creates_a_draft_from_the_editor(client, admin):
    data = {"name": "Enterprise", "tier": "high", "stage": "", "green_min": "75", "yellow_min": "45"}
    data.update(measure_rows({"usage_trend": {"weight": "3", "zero_at": "-40", "full_at": "5"}}))

    response = client.post("/scorecards/new/", data)

    card = Scorecard.objects.get(name="Enterprise")
    assert response.status_code == 302 and response.url == f"/scorecards/{card.pk}/"
    assert card.status == "draft" and (card.green_min, card.yellow_min) == (75, 45)
    assert sorted(card.measures.values_list("kind", "weight")) == [("nps", Decimal(1)), ("usage_trend", Decimal(3))]


def test_bad_settings_come_back_with_422_and_what_was_typed(client, admin, standard):
    data = {"name": "Standard health", "tier": "", "stage": "", "green_min": "40", "yellow_min": "60"}
    data.update(measure_rows({"nps": {"zero_at": "5", "full_at": "5"}}))

    refused = client.post("/scorecards/new/", data)

    assert refused.status_code == 422
    assert "already called" in refused.text and "below green" in refused.text and "must differ" in refused.text
    assert 'value="60"' in refused.text
    assert Scorecard.objects.filter(name="Standard health").count() == 2  # the first default and the live one

    data.update(measure_rows({"usage_trend": {"weight": ""}}))
    incomplete = client.post("/scorecards/new/", data)
    assert incomplete.status_code == 422 and "Needed for a measure in use" in incomplete.text


def test_tampered_measure_rows_are_refused_not_a_500(client, admin):
    data = {"name": "Odd", "tier": "", "stage": "", "green_min": "70", "yellow_min": "40"}
    data.update(measure_rows({"nps": {"kind": "usage_trend"}, "usage_trend": {"when_missing": "panic"}}))
    data["measures-TOTAL_FORMS"] = "999999"

    response = client.post("/scorecards/new/", data)

    assert response.status_code == 422
    assert not Scorecard.objects.filter(name="Odd").exists()


def test_editing_a_live_version_asks_then_starts_a_draft_version(client, admin, standard):
    ask = client.get(f"/scorecards/{standard.pk}/edit/")
    assert ask.status_code == 200 and "Start a draft version" in ask.text

    started = client.post(f"/scorecards/{standard.pk}/edit/")

    draft = Scorecard.objects.get(lineage=standard.lineage, status="draft")
    assert started.url == f"/scorecards/{draft.pk}/edit/"
    assert client.get(started.url).status_code == 200
    # Asking again reopens the same draft rather than starting another.
    assert client.post(f"/scorecards/{standard.pk}/edit/").url == started.url


def test_clone_then_activate_needs_a_reason_and_a_free_scope(
    client, admin, standard, django_capture_on_commit_callbacks
):
    cloned = client.post(f"/scorecards/{standard.pk}/clone/", {"name": "All accounts, v2 thinking"})
    clone = Scorecard.objects.get(name="All accounts, v2 thinking")
    assert cloned.url == f"/scorecards/{clone.pk}/edit/"

    no_reason = client.post(f"/scorecards/{clone.pk}/activate/", {"note": ""})
    assert no_reason.status_code == 422

    same_scope = client.post(f"/scorecards/{clone.pk}/activate/", {"note": "Better"})
    assert same_scope.status_code == 422
    assert "Standard health v2 is already active for All accounts" in same_scope.text
    clone.refresh_from_db()
    assert clone.status == "draft"


def test_the_preview_page_compares_the_draft_with_what_is_live(client, admin, standard):
    AccountFactory.create_batch(3)
    draft = scorecard_clone(actor=admin, source=standard, name="Trial")
    Scorecard.objects.filter(pk=draft.pk).update(tier="high")

    response = client.get(f"/scorecards/{draft.pk}/preview/")

    assert response.status_code == 200
    assert "Biggest movers" in response.text and 'id="preview-bands"' in response.text


def test_unknown_scorecards_are_404(client, admin):
    assert client.get("/scorecards/999999/").status_code == 404
    assert client.post("/scorecards/999999/activate/", {"note": "x"}).status_code == 404
