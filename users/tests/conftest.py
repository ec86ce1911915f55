"""People for the permission table (product.md §1): two teams, each role, and a stranger on the other team."""

import pytest

from users.models import Team, User
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory, TeamFactory


@pytest.fixture
def team() -> Team:
    return TeamFactory(name="Enterprise", segment="Enterprise")


@pytest.fixture
def other_team() -> Team:
    return TeamFactory(name="Mid-market", segment="Mid-market")


@pytest.fixture
def csm(team: Team) -> User:
    return CSMFactory(username="alex", first_name="Alex", last_name="Ward", team=team)


@pytest.fixture
def teammate(team: Team) -> User:
    return CSMFactory(username="sam", first_name="Sam", last_name="Okafor", team=team)


@pytest.fixture
def manager(team: Team) -> User:
    return ManagerFactory(username="maria", first_name="Maria", last_name="Berg", team=team)


@pytest.fixture
def other_csm(other_team: Team) -> User:
    return CSMFactory(username="olga", first_name="Olga", last_name="Novak", team=other_team)


@pytest.fixture
def other_manager(other_team: Team) -> User:
    return ManagerFactory(username="tom", first_name="Tom", last_name="Reyes", team=other_team)


@pytest.fixture
def admin() -> User:
    return AdminFactory(username="root", first_name="Ada", last_name="Admin")
