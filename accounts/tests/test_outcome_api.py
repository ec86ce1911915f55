"""/api/outcomes/: everyone reads, recording needs the right to change the account, and nothing is edited or deleted."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, Outcome, OutcomeKind
from accounts.tests.factories import OutcomeFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api:outcome-list")


def payload(for_account, **overrides) -> dict:
    data = {
        "account": for_account.pk,
        "kind": "renewed",
        "occurred_on": "2025-12-15",
        "term_start": "2025-01-01",
        "term_end": "2026-01-01",
        "arr_before": "50000.00",
        "arr_after": "62500.00",
    }
    data.update(overrides)
    return data


def test_the_owner_records_a_renewal_and_gets_it_back_with_its_movement(api, csm, own_account):
    response = api(csm, auth="token").post(LIST, payload(own_account, note="Two new teams"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {key: body[key] for key in ("kind", "movement", "term_months", "currency", "source", "effective")} == {
        "kind": "renewed",
        "movement": "expansion",
        "term_months": 12,
        "currency": "USD",
        "source": "api",
        "effective": True,
    }
    assert body["recorded_by"] == csm.pk and body["corrected_by"] is None
    outcome = Outcome.objects.get()
    assert (outcome.arr_after, outcome.note) == (Decimal("62500"), "Two new teams")
    assert AuditEvent.objects.get().action == AuditAction.OUTCOME_RECORDED


def test_a_churn_needs_only_a_reason_not_an_arr_after(api, csm, own_account):
    response = api(csm).post(
        LIST, payload(own_account, kind="churned", arr_after=None, reason="acquired"), format="json"
    )
    assert response.status_code == 201, response.json()
    assert (response.json()["arr_after"], response.json()["movement"]) == ("0.00", "churn")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "churned", "arr_after": None}, "reason"),
        ({"kind": "downgraded", "arr_after": "70000"}, "arr_after"),
        ({"kind": "hibernated"}, "kind"),
        ({"term_end": "2024-12-31"}, "term_end"),
        ({"occurred_on": "yesterday"}, "occurred_on"),
        ({"arr_before": "-1"}, "arr_before"),
        ({"account": 999999}, "account"),
        ({"reason": "astrology"}, "reason"),
        ({"currency": "DOLLARS"}, "currency"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(
    api, csm, own_account, nothing_written, overrides, field
):
    with nothing_written():
        response = api(csm).post(LIST, payload(own_account, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_repeat_of_a_recorded_outcome_is_a_400(api, csm, own_account):
    client = api(csm)
    assert client.post(LIST, payload(own_account), format="json").status_code == 201
    response = client.post(LIST, payload(own_account), format="json")
    assert response.status_code == 400
    assert "Already recorded" in response.json()["non_field_errors"][0]


def test_a_wrong_outcome_is_corrected_by_posting_one_that_names_it(api, csm, own_account):
    client = api(csm)
    wrong = client.post(LIST, payload(own_account), format="json").json()
    right = client.post(LIST, payload(own_account, arr_after="51000", corrects=wrong["id"]), format="json")
    assert right.status_code == 201, right.json()
    rows = {row["id"]: row for row in client.get(LIST).json()["results"]}
    assert (rows[wrong["id"]]["effective"], rows[wrong["id"]]["corrected_by"]) == (False, right.json()["id"])
    assert (rows[right.json()["id"]]["effective"], rows[right.json()["id"]]["corrects"]) == (True, wrong["id"])
    effective = client.get(LIST, {"effective": "true"}).json()["results"]
    assert [row["id"] for row in effective] == [right.json()["id"]]
    again = client.post(LIST, payload(own_account, arr_after="52000", corrects=wrong["id"]), format="json")
    assert again.status_code == 400 and "corrects" in again.json()


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_outcomes_are_never_edited_or_deleted(api, admin, method, nothing_written):
    outcome = OutcomeFactory()
    client = api(admin)
    with nothing_written():
        detail = getattr(client, method)(
            reverse("api:outcome-detail", args=[outcome.pk]), {"arr_after": "1"}, format="json"
        )
        on_list = getattr(client, method)(LIST, {}, format="json")
    assert (detail.status_code, on_list.status_code) == (405, 405)
    outcome.refresh_from_db()
    assert outcome.arr_after == Decimal("50000")


def test_everyone_signed_in_reads_and_filters_outcomes(api, other_csm, own_account, teammate_account):
    renewed = OutcomeFactory(account=own_account, occurred_on=dt.date(2025, 3, 1), arr_after=Decimal("60000"))
    churned = OutcomeFactory(
        account=own_account, kind=OutcomeKind.CHURNED, occurred_on=dt.date(2025, 9, 1), reason="price", arr_after=0
    )
    elsewhere = OutcomeFactory(account=teammate_account, occurred_on=dt.date(2025, 6, 1))
    client = api(other_csm, auth="token")

    def ids(**params) -> list[int]:
        response = client.get(LIST, params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [churned.pk, elsewhere.pk, renewed.pk]
    assert ids(account=own_account.pk) == [churned.pk, renewed.pk]
    assert ids(kind="churned") == [churned.pk]
    assert ids(movement="expansion") == [renewed.pk]
    assert ids(occurred_after="2025-06-01") == [churned.pk, elsewhere.pk]
    assert ids(occurred_before="2025-06-01") == [renewed.pk]
    assert ids(occurred_after="2025-04-01", occurred_before="2025-08-01") == [elsewhere.pk]
    assert client.get(reverse("api:outcome-detail", args=[churned.pk])).json()["reason"] == "price"
    page = client.get(LIST, {"page_size": 2}).json()
    assert (page["count"], len(page["results"]), page["next"] is not None) == (3, 2, True)


def test_an_unknown_filter_value_is_a_400(api, csm):
    assert api(csm).get(LIST, {"kind": "exploded"}).status_code == 400
    assert api(csm).get(LIST, {"occurred_after": "soon"}).status_code == 400


@pytest.mark.parametrize("role", ["other_csm", "other_manager"])
def test_someone_who_cannot_change_the_account_cannot_record_its_outcomes(
    api, request, role, own_account, nothing_written
):
    client = api(request.getfixturevalue(role))
    with nothing_written():
        response = client.post(LIST, payload(own_account), format="json")
    assert response.status_code == 403
    assert not Outcome.objects.exists()


def test_the_team_manager_and_an_admin_record_outcomes_on_a_team_account(api, manager, admin, own_account):
    assert api(manager).post(LIST, payload(own_account), format="json").status_code == 201
    assert api(admin).post(LIST, payload(own_account, occurred_on="2025-12-16"), format="json").status_code == 201


def test_nobody_signed_out_reads_outcomes(api):
    assert api().get(LIST).status_code in (401, 403)
