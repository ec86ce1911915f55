"""People, accounts and a playbook for the fault tests (the same shapes transitions' own tests use)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from transitions.tests.conftest import ensure_default_playbooks
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory


@pytest.fixture
def team():
    return TeamFactory(name="Mid-market")


@pytest.fixture
def manager(team):
    return ManagerFactory(username="tom", team=team)


@pytest.fixture
def outgoing(team):
    return CSMFactory(username="alex", first_name="Alex", last_name="Archer", team=team)


@pytest.fixture
def incoming(team):
    return CSMFactory(username="sam", first_name="Sam", last_name="Sato", team=team)


@pytest.fixture
def playbook():
    return ensure_default_playbooks()


@pytest.fixture
def dates():
    today = timezone.localdate()
    return {"start_date": today, "target_date": today + dt.timedelta(days=14)}
