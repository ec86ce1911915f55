"""The permission table of product.md §1, as `users.permissions` answers it."""

import pytest
from django.contrib.auth.models import AnonymousUser

from accounts.models import Account, Coverage
from accounts.tests.factories import AccountFactory
from users.permissions import (
    acts_as_manager,
    can_configure,
    can_create_account,
    can_delete_account,
    can_edit_account,
    can_manage_deliveries,
    can_reassign_account,
    can_start_bulk_handover,
    editable_accounts_q,
    oversight,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(csm, teammate, team, other_csm, other_team):
    """One account of each kind the table distinguishes, named by who covers it."""
    return {
        "own": AccountFactory(owner=csm),
        "teammate": AccountFactory(owner=teammate),
        "pool": AccountFactory(coverage=Coverage.POOLED, owner=None, pool=team),
        "other_team": AccountFactory(owner=other_csm),
        "other_pool": AccountFactory(coverage=Coverage.POOLED, owner=None, pool=other_team),
    }


def editable(user, book) -> set[str]:
    """Which accounts `user` may change, asked both ways; the queryset and the check must agree."""
    by_check = {name for name, account in book.items() if can_edit_account(user, account)}
    by_query = {
        name
        for name, account in book.items()
        if Account.objects.filter(editable_accounts_q(user), pk=account.pk).exists()
    }
    assert by_check == by_query
    return by_check


def test_a_csm_changes_only_accounts_they_own_or_their_team_pools(csm, book):
    assert editable(csm, book) == {"own", "pool"}
    assert not any(can_reassign_account(csm, account) for account in book.values())
    assert not can_configure(csm)


def test_a_manager_changes_and_reassigns_their_teams_accounts_but_not_other_teams(manager, book):
    assert editable(manager, book) == {"own", "teammate", "pool"}
    assert {name for name, account in book.items() if can_reassign_account(manager, account)} == {
        "own",
        "teammate",
        "pool",
    }
    assert not can_configure(manager)


def test_an_admin_changes_and_reassigns_everything_and_configures(admin, book):
    assert editable(admin, book) == set(book)
    assert all(can_reassign_account(admin, account) for account in book.values())
    assert can_configure(admin)


def test_a_manager_without_a_team_changes_nothing(manager, book):
    manager.team = None
    manager.save()
    assert editable(manager, book) == set()


def test_a_deactivated_user_and_an_anonymous_visitor_change_nothing(csm, book):
    csm.is_active = False
    assert editable(csm, book) == set()
    assert editable(AnonymousUser(), book) == set()
    assert not can_configure(AnonymousUser())


def test_managers_and_admins_create_accounts_and_only_admins_delete_them(csm, manager, admin):
    assert [can_create_account(user) for user in (csm, manager, admin, AnonymousUser())] == [False, True, True, False]
    assert [can_delete_account(user) for user in (csm, manager, admin, AnonymousUser())] == [False, False, True, False]


def test_each_role_answers_for_its_own_reach(csm, manager, admin):
    assert [oversight(user) for user in (csm, manager, admin)] == ["mine", "team", "all"]


def test_the_checks_read_any_object_shaped_like_an_account(manager, team, other_team):
    """users imports nothing from accounts: what the checks read is a Protocol, so a plain object will do."""

    class Owner:
        team_id = team.pk

    class Covered:
        owner_id, owner, pool_id = 1, Owner(), other_team.pk

    class Pooled:
        owner_id, owner, pool_id = None, None, team.pk

    assert can_edit_account(manager, Covered()) and can_edit_account(manager, Pooled())


def test_managers_and_admins_start_bulk_handovers_and_take_the_manager_steps_of_what_they_start(csm, manager, admin):
    people = (csm, manager, admin, AnonymousUser())
    assert [can_start_bulk_handover(user) for user in people] == [False, True, True, False]
    # None is Baton itself starting a run (a stage change, a raised flag): a team manager gets those steps.
    assert [acts_as_manager(user) for user in (*people, None)] == [False, True, True, False, False]


def test_only_admins_see_and_retry_failed_deliveries(csm, manager, admin):
    assert [can_manage_deliveries(user) for user in (csm, manager, admin, AnonymousUser())] == [
        False,
        False,
        True,
        False,
    ]


@pytest.mark.django_db
def test_only_admins_and_django_staff_see_the_link_to_djangos_admin_site(client, admin, manager, csm):
    admin_link = 'href="/admin/"'
    for user, sees in [(admin, True), (manager, False), (csm, False)]:
        client.force_login(user)
        assert (admin_link in client.get("/").content.decode()) is sees, user.username
    csm.is_staff = True
    csm.save(update_fields=["is_staff"])
    client.force_login(csm)
    assert admin_link in client.get("/").content.decode()
