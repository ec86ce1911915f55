"""Every stage change says why: the service, the page and the API refuse a blank reason; the database too."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import AuditEvent, Stage
from accounts.tests.conftest import *  # noqa: F403  (accounts, people and nothing_written)
from lifecycle.models import StageChange
from lifecycle.stages.services import REASON_SET_THROUGH_API, account_stage_change

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reason", ["", "   ", "ok", " x "])
def test_the_service_refuses_a_missing_or_too_short_reason(csm, own_account, nothing_written, reason):
    with nothing_written(), pytest.raises(ValidationError) as error:
        account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason=reason)
    assert "reason" in error.value.message_dict
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ONBOARDING


def test_the_reason_is_kept_trimmed(csm, own_account):
    change = account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason="  Went live  ")
    assert change.reason == "Went live"
    assert AuditEvent.objects.get().reason == "Went live"


def test_the_page_shows_the_missing_reason_on_the_form(client, csm, own_account, nothing_written):
    client.force_login(csm)
    with nothing_written():
        response = client.post(reverse("stage-change", args=[own_account.pk]), {"to_stage": "adoption", "reason": ""})
    assert response.status_code == 422
    assert response.context["stage_form"].errors["reason"]


@pytest.mark.parametrize("payload", [{"to_stage": "adoption"}, {"to_stage": "adoption", "reason": "  "}])
def test_the_api_answers_a_missing_reason_with_a_400_on_the_field(api, csm, own_account, nothing_written, payload):
    with nothing_written():
        response = api(csm).post(reverse("api:account-change-stage", args=[own_account.pk]), payload, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()


def test_an_integration_patching_the_stage_records_a_system_reason(api, csm, own_account):
    response = api(csm).patch(
        reverse("api:account-detail", args=[own_account.pk]), {"stage": "adoption"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert StageChange.objects.get().reason == REASON_SET_THROUGH_API


def test_the_database_refuses_a_blank_reason(own_account):
    with pytest.raises(IntegrityError), transaction.atomic():
        StageChange.objects.create(account=own_account, from_stage="onboarding", to_stage="adoption", reason="")
