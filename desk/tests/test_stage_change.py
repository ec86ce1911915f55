"""Changing the lifecycle stage from the Account 360 page."""

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Outcome, Stage
from lifecycle.models import StageChange

pytestmark = pytest.mark.django_db


def stage_url(account) -> str:
    return reverse("stage-change", args=[account.pk])


def test_the_owner_moves_the_account_to_adoption(client, csm, own_account):
    client.force_login(csm)
    response = client.post(stage_url(own_account), {"to_stage": "adoption", "reason": "Go-live done"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("account-detail", args=[own_account.pk])
    assert "Stage changed to Adoption." in response.content.decode()
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ADOPTION
    change = StageChange.objects.get()
    assert (change.from_stage, change.to_stage, change.changed_by, change.reason) == (
        "onboarding",
        "adoption",
        csm,
        "Go-live done",
    )
    assert AuditEvent.objects.get().reason == "Go-live done"
    assert own_account.timeline.get().event == "stage_changed"


def test_the_current_stage_is_not_offered(client, csm, own_account):
    client.force_login(csm)
    form = client.get(reverse("account-detail", args=[own_account.pk])).context["stage_form"]
    assert "onboarding" not in dict(form.fields["to_stage"].choices)


@pytest.mark.parametrize("to_stage", ["onboarding", "paused", ""])
def test_the_same_or_an_unknown_stage_is_refused_on_the_page_with_nothing_written(
    client, csm, own_account, nothing_written, to_stage
):
    client.force_login(csm)
    with nothing_written():
        response = client.post(stage_url(own_account), {"to_stage": to_stage, "reason": "Moving on"})
    assert response.status_code == 422
    assert "to_stage" in response.context["stage_form"].errors
    assert 'id="stage-form"' in response.content.decode()
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ONBOARDING


def test_a_team_manager_changes_a_team_accounts_stage(client, manager, own_account):
    client.force_login(manager)
    assert client.post(stage_url(own_account), {"to_stage": "at_risk", "reason": "Sponsor left"}).status_code == 302
    own_account.refresh_from_db()
    assert own_account.stage == Stage.AT_RISK


@pytest.mark.parametrize("role", ["csm", "manager"])
def test_another_teams_account_keeps_its_stage(client, request, role, other_team_account, nothing_written):
    client.force_login(request.getfixturevalue(role))
    with nothing_written():
        assert client.post(stage_url(other_team_account), {"to_stage": "churned"}).status_code == 403


def test_stage_change_needs_a_signed_in_post(client, csm, own_account):
    response = client.post(stage_url(own_account), {"to_stage": "adoption"})
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(csm)
    assert client.get(stage_url(own_account)).status_code == 405
    assert client.post(reverse("stage-change", args=[99999]), {"to_stage": "adoption"}).status_code == 404


# Churn ---------------------------------------------------------------------------------------------


def test_moving_an_account_to_churned_records_the_churn_as_an_outcome(client, csm, own_account):
    client.force_login(csm)
    data = {"to_stage": "churned", "reason": "Budget moved to another tool", "churn_reason": "competitor"}
    response = client.post(stage_url(own_account), data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("account-detail", args=[own_account.pk])
    own_account.refresh_from_db()
    assert own_account.stage == Stage.CHURNED
    outcome = Outcome.objects.get()
    assert (outcome.kind, outcome.reason, outcome.note, outcome.source, outcome.recorded_by) == (
        "churned",
        "competitor",
        "Budget moved to another tool",
        "stage_change",
        csm,
    )
    assert (outcome.term_start, outcome.term_end, outcome.arr_before) == (
        own_account.contract_start,
        own_account.renewal_date,
        own_account.arr,
    )
    page = response.content.decode()
    assert "Went to a competitor" in page and 'id="outcome-' in page


@pytest.mark.parametrize("churn_reason", ["", "bad_vibes"])
def test_churned_without_a_known_reason_is_refused_with_422_and_nothing_written(
    client, csm, own_account, nothing_written, churn_reason
):
    client.force_login(csm)
    with nothing_written():
        response = client.post(
            stage_url(own_account), {"to_stage": "churned", "reason": "Gone", "churn_reason": churn_reason}
        )
    assert response.status_code == 422
    form = response.context["stage_form"]
    assert "churn_reason" in form.errors
    page = response.content.decode()
    assert 'id="stage-form"' in page and 'value="Gone"' in page
    assert not Outcome.objects.exists()
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ONBOARDING


def test_a_churn_reason_sent_with_another_stage_is_ignored(client, csm, own_account):
    client.force_login(csm)
    client.post(stage_url(own_account), {"to_stage": "adoption", "reason": "Went live", "churn_reason": "price"})
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ADOPTION and not Outcome.objects.exists()
