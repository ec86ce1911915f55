"""A rule that raised flags is retired, not deleted: its flags (history) would go with it."""

import pytest
from django.urls import reverse

from accounts.tests.conftest import *  # noqa: F403  (accounts, people and the api client)
from lifecycle.models import AlertRule, RedFlag
from notifications.tests.factories import RedFlagFactory

pytestmark = pytest.mark.django_db


def test_a_rule_that_fired_cannot_be_deleted_through_the_api(api, admin, own_account):
    flag = RedFlagFactory(account=own_account)
    response = api(admin).delete(reverse("api:alert-rule-detail", args=[flag.rule_id]))
    assert response.status_code == 409 and "active=false" in response.json()["detail"]
    assert RedFlag.objects.filter(pk=flag.pk).exists()


def test_a_rule_that_never_fired_can_be_deleted(api, admin):
    rule = AlertRule.objects.create(name="Quiet", kind="band_red", severity="low")
    assert api(admin).delete(reverse("api:alert-rule-detail", args=[rule.pk])).status_code == 204
    assert not AlertRule.objects.filter(pk=rule.pk).exists()
