"""A transition read back may have no CSM and no reason (the schema says so), but one is never started without."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from transitions.models import Transition

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("missing", [{"to_csm": None}, {"reason": ""}])
def test_a_handover_without_a_new_csm_or_a_reason_is_refused_with_a_400(
    manager, ready, incoming, playbook, dates, missing
):
    client = APIClient()
    client.force_login(manager)
    body = {"account": ready.pk, "playbook": playbook.pk, "to_csm": incoming.pk, "reason": "rebalancing", **dates}
    body |= missing

    response = client.post(reverse("api:transition-list"), body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == set(missing)
    assert not Transition.objects.exists()


def test_the_manager_starts_a_handover_with_both(manager, ready, incoming, playbook, dates):
    client = APIClient()
    client.force_login(manager)
    body = {"account": ready.pk, "playbook": playbook.pk, "to_csm": incoming.pk, "reason": "rebalancing", **dates}

    response = client.post(reverse("api:transition-list"), body, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["to_csm"] == incoming.pk
