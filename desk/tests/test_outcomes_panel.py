"""The Account 360's "Renewals and outcomes" panel: the list, and recording an outcome in place or as a plain POST.

A plain POST that does not validate answers 422 with the whole 360 again, the typed values kept.
"""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Outcome, OutcomeKind
from accounts.tests.factories import OutcomeFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def detail(account) -> str:
    return reverse("account-detail", args=[account.pk])


def add_url(account) -> str:
    return reverse("outcome-add", args=[account.pk])


def outcome_data(**overrides) -> dict:
    data = {
        "oc-kind": "renewed",
        "oc-occurred_on": (timezone.localdate() - dt.timedelta(days=2)).isoformat(),
        "oc-term_start": "2025-01-01",
        "oc-term_end": "2026-01-01",
        "oc-arr_before": "50000",
        "oc-arr_after": "64000",
        "oc-currency": "USD",
        "oc-reason": "",
        "oc-note": "Rolled out to the support team",
    }
    data.update(overrides)
    return data


def test_the_panel_lists_outcomes_newest_first_with_term_movement_and_reason(client, other_csm, own_account):
    OutcomeFactory(
        account=own_account,
        occurred_on=dt.date(2024, 3, 1),
        term_start=dt.date(2023, 3, 1),
        term_end=dt.date(2024, 3, 1),
        arr_before=Decimal("40000"),
        arr_after=Decimal("50000"),
    )
    OutcomeFactory(
        account=own_account,
        kind=OutcomeKind.DOWNGRADED,
        occurred_on=dt.date(2025, 3, 1),
        term_start=dt.date(2024, 3, 1),
        term_end=dt.date(2027, 3, 1),
        arr_before=Decimal("50000"),
        arr_after=Decimal("30000"),
        reason="poor_adoption",
    )
    client.force_login(other_csm)
    response = client.get(detail(own_account))
    page = response.content.decode()
    assert 'id="outcomes"' in page and "Renewals and outcomes" in page
    assert [entry.outcome.occurred_on for entry in response.context["outcomes"]] == [
        dt.date(2025, 3, 1),
        dt.date(2024, 3, 1),
    ]
    assert page.index("1 Mar 2025") < page.index("1 Mar 2024")
    assert "Contraction" in page and "Expansion" in page and "Poor adoption" in page
    assert "(3-year)" in page and "(annual)" in page and "(+25%)" in page and "(-40%)" in page
    # Someone who cannot change the account reads the panel without the form or the import link.
    assert 'id="outcome-form"' not in page and "Import CSV" not in page


def test_the_form_is_prefilled_with_the_current_term_and_arr(client, csm, own_account):
    client.force_login(csm)
    form = client.get(add_url(own_account), **HTMX).context["outcome_form"]
    assert form.initial["term_start"] == own_account.contract_start
    assert form.initial["term_end"] == own_account.renewal_date
    assert (form.initial["arr_before"], form.initial["currency"], form.initial["kind"]) == (
        own_account.arr,
        "USD",
        "renewed",
    )


def test_a_renewal_recorded_by_htmx_returns_the_refreshed_panel_and_tells_the_timeline(client, csm, own_account):
    client.force_login(csm)
    response = client.post(add_url(own_account), outcome_data(), **HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<div class="card mb-3" id="outcomes">') and "<html" not in fragment
    assert "Renewed recorded." in fragment and "Expansion" in fragment and "USD 50,000 → 64,000" in fragment
    assert not response.context["outcome_form"].is_bound
    outcome = Outcome.objects.get()
    assert (outcome.kind, outcome.arr_after, outcome.source, outcome.recorded_by) == (
        "renewed",
        Decimal("64000"),
        "page",
        csm,
    )
    assert own_account.timeline.get().event == "outcome_recorded"


def test_a_churn_recorded_by_plain_post_redirects_to_the_360(client, csm, own_account):
    client.force_login(csm)
    data = outcome_data(**{"oc-kind": "churned", "oc-reason": "champion_left", "oc-arr_after": "64000"})
    response = client.post(add_url(own_account), data, follow=True)
    assert response.redirect_chain == [(detail(own_account), 302)]
    assert "Churned recorded." in response.content.decode()
    # The new ARR field is hidden for a churn: what was left in it does not count.
    assert Outcome.objects.get().arr_after == 0


def test_a_renewal_ignores_a_reason_left_from_another_kind(client, csm, own_account):
    client.force_login(csm)
    client.post(add_url(own_account), outcome_data(**{"oc-reason": "price"}), **HTMX)
    assert Outcome.objects.get().reason == ""


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"oc-kind": "churned"}, "reason", "Say why the customer left."),
        ({"oc-kind": "downgraded", "oc-arr_after": "70000"}, "arr_after", "A downgrade lowers the ARR"),
        ({"oc-arr_after": ""}, "arr_after", "Say what the customer pays from now on."),
        ({"oc-term_end": "2024-06-01"}, "term_end", "The term must end after it starts."),
        ({"oc-occurred_on": "next week"}, "occurred_on", "Use a date like 2025-03-31."),
        ({"oc-arr_before": "-3"}, "arr_before", "ARR cannot be negative."),
        ({"oc-kind": ""}, "kind", "This field is required."),
        ({"oc-corrects": "999"}, "corrects", "Select a valid choice."),
    ],
)
def test_a_bad_outcome_comes_back_as_422_with_the_form_as_typed_and_writes_nothing(
    client, csm, own_account, nothing_written, headers, overrides, field, message
):
    client.force_login(csm)
    data = outcome_data(**overrides)
    with nothing_written():
        response = client.post(add_url(own_account), data, **headers)
    assert response.status_code == 422
    form = response.context["outcome_form"]
    assert message in " ".join(form.errors[field])
    page = response.content.decode()
    assert message in page and 'id="outcome-form"' in page
    assert ("<html" in page) is (not headers)
    # What was typed is still there, and the form is open to fix it.
    assert "Rolled out to the support team</textarea>" in page
    assert f'value="{data["oc-term_start"]}"' in page
    assert 'class="collapse show no-print" id="outcome-form-box"' in page
    assert not Outcome.objects.exists()


def test_a_wrong_outcome_is_corrected_from_the_panel(client, csm, own_account):
    wrong = OutcomeFactory(
        account=own_account,
        occurred_on=dt.date(2025, 12, 20),
        term_start=dt.date(2025, 1, 1),
        term_end=dt.date(2026, 1, 1),
        arr_after=Decimal("90000"),
    )
    client.force_login(csm)
    data = outcome_data(**{"oc-occurred_on": "2025-12-20", "oc-corrects": str(wrong.pk), "oc-arr_after": "59000"})
    response = client.post(add_url(own_account), data, **HTMX)
    assert response.status_code == 200
    right = Outcome.objects.exclude(pk=wrong.pk).get()
    assert right.corrects == wrong
    entries = response.context["outcomes"]
    assert [(entry.outcome, entry.effective) for entry in entries] == [(right, True), (wrong, False)]
    fragment = response.content.decode()
    assert "Corrected" in fragment and "Corrects an earlier entry for 20 Dec 2025." in fragment
    # A corrected outcome is not offered for correcting again.
    assert [value for value, _ in response.context["outcome_form"].fields["corrects"].choices] == ["", right.pk]


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
@pytest.mark.parametrize("role", ["other_csm", "other_manager"])
def test_outcomes_cannot_be_recorded_on_someone_elses_account(
    client, request, own_account, nothing_written, headers, role
):
    client.force_login(request.getfixturevalue(role))
    with nothing_written():
        response = client.post(add_url(own_account), outcome_data(), **headers)
    assert response.status_code == 403
    assert not Outcome.objects.exists()


def test_recording_an_outcome_needs_someone_signed_in_and_an_account(client, csm, own_account):
    response = client.post(add_url(own_account), outcome_data())
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(csm)
    assert client.put(add_url(own_account)).status_code == 405
    assert client.post(reverse("outcome-add", args=[99999]), outcome_data()).status_code == 404


def test_the_team_manager_sees_the_import_link(client, manager, own_account):
    client.force_login(manager)
    page = client.get(detail(own_account)).content.decode()
    assert reverse("outcome-import") in page and f'<a href="{add_url(own_account)}" class="small">' in page
