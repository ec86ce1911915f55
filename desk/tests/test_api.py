"""The account API as the router serves it (desk.api): accounts' endpoints plus the health band filter and the stage change."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, Outcome
from accounts.tests.factories import AccountFactory
from lifecycle.models import AccountHealth, StageChange

pytestmark = pytest.mark.django_db


# Health band filter --------------------------------------------------------------------------------


def scored(name: str, band: str | None) -> None:
    account = AccountFactory(name=name)
    if band:
        score = Decimal({"green": 85, "yellow": 55, "red": 20}[band])
        AccountHealth.objects.create(
            account=account, day=timezone.localdate(), computed_score=score, computed_band=band, score=score, band=band
        )


def test_accounts_filter_by_health_band_as_the_pages_do(api, csm):
    for name, band in [("Green Co", "green"), ("Red Co", "red"), ("New Co", None)]:
        scored(name, band)
    client = api(csm, auth="token")

    def names(**params) -> list[str]:
        return [row["name"] for row in client.get(reverse("api:account-list"), params).json()["results"]]

    assert names(band="red") == ["Red Co"]
    assert names(band=["red", "none"]) == ["New Co", "Red Co"]
    assert names() == ["Green Co", "New Co", "Red Co"]


def test_an_unknown_band_is_a_400_naming_the_field(api, csm):
    response = api(csm).get(reverse("api:account-list"), {"band": "purple"})
    assert response.status_code == 400
    assert "band" in response.json()


# Stage change --------------------------------------------------------------------------------------


def test_the_owner_changes_the_stage_through_the_api(api, csm, own_account):
    response = api(csm, auth="token").post(
        reverse("api:account-change-stage", args=[own_account.pk]),
        {"to_stage": "adoption", "reason": "Live"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["stage"] == "adoption"
    assert StageChange.objects.get().changed_by == csm
    assert AuditEvent.objects.get().action == AuditAction.STAGE_CHANGED


@pytest.mark.parametrize("to_stage", ["onboarding", "hibernating", ""])
def test_the_same_or_an_unknown_stage_is_a_400(api, csm, own_account, nothing_written, to_stage):
    with nothing_written():
        response = api(csm).post(
            reverse("api:account-change-stage", args=[own_account.pk]), {"to_stage": to_stage}, format="json"
        )
    assert response.status_code == 400
    assert "to_stage" in response.json()


def test_another_teams_stage_cannot_be_changed(api, csm, other_team_account, nothing_written):
    with nothing_written():
        response = api(csm).post(
            reverse("api:account-change-stage", args=[other_team_account.pk]), {"to_stage": "churned"}, format="json"
        )
    assert response.status_code == 403


def test_churn_through_the_api_needs_a_reason_and_records_the_outcome(api, csm, own_account, nothing_written):
    client = api(csm, auth="token")
    url = reverse("api:account-change-stage", args=[own_account.pk])
    with nothing_written():
        refused = client.post(url, {"to_stage": "churned", "reason": "Gone"}, format="json")
    assert refused.status_code == 400
    assert refused.json() == {"churn_reason": ["Say why the customer left."]}
    response = client.post(
        url, {"to_stage": "churned", "reason": "Gone", "churn_reason": "business_closed"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["stage"] == "churned"
    outcome = Outcome.objects.get()
    assert (outcome.kind, outcome.reason, outcome.source, outcome.arr_after) == (
        "churned",
        "business_closed",
        "stage_change",
        0,
    )


def test_an_unknown_churn_reason_is_a_400(api, csm, own_account):
    response = api(csm).post(
        reverse("api:account-change-stage", args=[own_account.pk]),
        {"to_stage": "churned", "churn_reason": "vibes"},
        format="json",
    )
    assert response.status_code == 400 and "churn_reason" in response.json()
