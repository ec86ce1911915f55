"""The account API as the router serves it (desk.api): accounts' endpoints plus the health band filter and the stage change."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditAction, AuditEvent, Outcome
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
            reverse("api:account-change-stage", args=[own_account.pk]),
            {"to_stage": to_stage, "reason": "Moving on"},
            format="json",
        )
    assert response.status_code == 400
    assert "to_stage" in response.json()


def test_another_teams_stage_cannot_be_changed(api, csm, other_team_account, nothing_written):
    with nothing_written():
        response = api(csm).post(
            reverse("api:account-change-stage", args=[other_team_account.pk]),
            {"to_stage": "churned", "reason": "Gone"},
            format="json",
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
        {"to_stage": "churned", "churn_reason": "vibes", "reason": "Gone"},
        format="json",
    )
    assert response.status_code == 400 and "churn_reason" in response.json()


# The stage and since when, from an integration ------------------------------------------------------


def imported(owner, **overrides) -> dict:
    """A long-standing customer as an integration sends it: in success for years."""
    data = {
        "name": "Foxtrot Logistics",
        "industry": "software",
        "region": "emea",
        "contract_start": "2020-01-01",
        "renewal_date": "2026-12-31",
        "owner": owner.pk,
        "stage": "success",
        "stage_entered_at": "2021-03-03",
    }
    data.update(overrides)
    return data


def local_day(moment) -> dt.date:
    return timezone.localtime(moment).date()


def test_an_integration_creates_a_long_standing_customer_in_its_stage_since_the_date_it_entered_it(api, manager, csm):
    response = api(manager, auth="token").post(reverse("api:account-list"), imported(csm), format="json")
    assert response.status_code == 201, response.json()
    account = Account.objects.get(name="Foxtrot Logistics")
    assert account.stage == "success" and local_day(account.stage_entered_at) == dt.date(2021, 3, 3)
    assert response.json()["stage"] == "success"
    audit = AuditEvent.objects.get()
    assert audit.action == AuditAction.ACCOUNT_CREATED
    assert audit.changes["stage"] == [None, "success"] and audit.changes["stage_entered_at"][0] is None
    assert account.timeline.get().body == "In Success since 03 Mar 2021."
    # It did not move in Baton: no stage history, so the Account 360 says it has been in success since then.
    assert not StageChange.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"stage_entered_at": "2999-01-01"}, "stage_entered_at"),
        ({"stage_entered_at": "last spring"}, "stage_entered_at"),
        ({"stage": "hibernating"}, "stage"),
        ({"stage": "churned"}, "stage"),
    ],
)
def test_a_stage_in_the_future_unknown_or_churned_is_a_400_on_create_with_nothing_written(
    api, manager, csm, nothing_written, overrides, field
):
    with nothing_written():
        response = api(manager).post(reverse("api:account-list"), imported(csm, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_an_integration_corrects_the_stage_an_account_was_created_in_while_none_is_recorded(api, csm, own_account):
    url = reverse("api:account-detail", args=[own_account.pk])
    response = api(csm, auth="token").patch(url, {"stage": "success", "stage_entered_at": "2021-03-03"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["stage"] == "success"
    own_account.refresh_from_db()
    assert own_account.stage == "success" and local_day(own_account.stage_entered_at) == dt.date(2021, 3, 3)
    audit = AuditEvent.objects.get()
    assert audit.action == AuditAction.STAGE_CHANGED and audit.changes["stage"] == ["onboarding", "success"]
    assert own_account.timeline.get().event == "stage_corrected"
    assert not StageChange.objects.exists()


def test_another_stage_entered_after_the_current_one_began_is_a_stage_change_on_that_day(api, csm, own_account):
    own_account.stage_entered_at = timezone.now() - dt.timedelta(days=40)
    own_account.save()
    moved = timezone.now() - dt.timedelta(days=10)
    response = api(csm).patch(
        reverse("api:account-detail", args=[own_account.pk]),
        {"stage": "adoption", "stage_entered_at": moved.isoformat()},
        format="json",
    )
    assert response.status_code == 200, response.json()
    change = StageChange.objects.get()
    assert (change.from_stage, change.to_stage, change.changed_at) == ("onboarding", "adoption", moved)
    own_account.refresh_from_db()
    assert own_account.stage_entered_at == moved and own_account.days_in_stage == 10
    assert own_account.timeline.get().summary == "Stage changed from Onboarding to Adoption after 30 days"


def test_once_a_stage_change_is_recorded_an_earlier_start_is_a_400(api, csm, own_account, nothing_written):
    client = api(csm)
    url = reverse("api:account-detail", args=[own_account.pk])
    assert client.patch(url, {"stage": "adoption"}, format="json").status_code == 200
    with nothing_written():
        response = client.patch(url, {"stage": "success", "stage_entered_at": "2021-03-03"}, format="json")
    assert response.status_code == 400
    assert "its stage history stands" in response.json()["stage_entered_at"][0]


def test_sending_the_same_stage_and_start_again_changes_nothing(api, csm, own_account, nothing_written):
    url = reverse("api:account-detail", args=[own_account.pk])
    with nothing_written():
        response = api(csm).patch(
            url, {"stage": "onboarding", "stage_entered_at": own_account.stage_entered_at.isoformat()}, format="json"
        )
    assert response.status_code == 200


@pytest.mark.parametrize(
    "payload",
    [{"stage_entered_at": "2999-01-01"}, {"stage": "churned"}, {"stage": "hibernating"}, {"stage_entered_at": "soon"}],
)
def test_a_bad_stage_or_start_on_update_is_a_400_with_nothing_written(api, csm, own_account, nothing_written, payload):
    with nothing_written():
        response = api(csm).patch(reverse("api:account-detail", args=[own_account.pk]), payload, format="json")
    assert response.status_code == 400
    assert set(payload) & set(response.json())


def test_another_teams_account_cannot_be_put_in_a_stage(api, csm, other_team_account, nothing_written):
    with nothing_written():
        response = api(csm).patch(
            reverse("api:account-detail", args=[other_team_account.pk]),
            {"stage": "success", "stage_entered_at": "2021-03-03"},
            format="json",
        )
    assert response.status_code == 403
