"""The playbook list shows each playbook's own step and run counts, in a fixed number of queries."""

import re

import pytest
from django.urls import reverse

from accounts.tests.factories import AccountFactory
from transitions import services
from transitions.models import Playbook, PlaybookKind, TransitionReason

pytestmark = pytest.mark.django_db


def row_counts(page: str, name: str) -> tuple[int, int]:
    row = re.search(rf"<strong>{name}</strong>.*?<td>v\d+</td><td>(\d+)</td><td>(\d+)</td>", page, re.S)
    assert row, name
    return int(row.group(1)), int(row.group(2))


def test_the_playbook_list_counts_steps_and_runs_separately(
    client, manager, outgoing, incoming, playbook, dates, django_assert_num_queries
):
    steps = playbook.steps.count()
    for n in range(3):
        services.transition_start(
            actor=manager,
            account=AccountFactory(name=f"Customer {n}", owner=outgoing),
            to_csm=incoming,
            reason=TransitionReason.REBALANCING,
            **dates,
        )
    client.force_login(manager)
    client.get(reverse("playbook-list"))

    with django_assert_num_queries(5):
        page = client.get(reverse("playbook-list")).content.decode()

    assert row_counts(page, playbook.name) == (steps, 3)
    onboarding = Playbook.objects.get(kind=PlaybookKind.STAGE, name="Onboarding checklist")
    assert row_counts(page, onboarding.name) == (onboarding.steps.count(), 0)
