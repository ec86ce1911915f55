"""The load run's plan: the demo's CSMs sign in through the form, and every id they are given exists and is theirs."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password

from accounts.demo.staff import DEMO_PASSWORD, ROSTER
from accounts.models import Account
from accounts.tests.factories import AccountFactory
from tools.load import plan
from transitions.models import ACTIVE_STATUSES, TaskStatus, Transition, TransitionTask
from users.models import User
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory, TeamFactory
from users.tokens.models import ApiToken

pytestmark = pytest.mark.django_db

CSMS = [member for member in ROSTER if member.role == User.Role.CSM]


@pytest.fixture
def demo_staff():
    """The demo roster's people (the seed's usernames and teams), each CSM with a small book."""
    AdminFactory(username="admin")
    for member in ROSTER:
        if member.role == User.Role.MANAGER:
            ManagerFactory(username=member.username, team=TeamFactory(name=member.team))
    csms = [CSMFactory(username=member.username, team=TeamFactory(name=member.team)) for member in CSMS]
    for csm in csms:
        AccountFactory.create_batch(8, owner=csm)
    return csms


def test_the_plan_gives_each_csm_their_own_accounts_and_open_required_steps_of_handovers_it_started(demo_staff):
    integration = plan.integration_create()

    built = plan.build(integration=integration, seed=1, open_steps_per_csm=4)

    assert built["password"] == DEMO_PASSWORD
    assert built["token"] == integration.plaintext
    assert set(built["book"]) == set(Account.objects.values_list("pk", flat=True))
    assert Transition.objects.filter(status__in=ACTIVE_STATUSES).exists()
    for entry in built["csms"]:
        user = User.objects.get(username=entry["username"])
        assert len(entry["open_tasks"]) >= 4
        steps = TransitionTask.objects.filter(pk__in=entry["open_tasks"])
        assert all(s.assignee_id == user.pk and s.required and s.status == TaskStatus.OPEN for s in steps)
        # Pages and notes only on accounts the CSM keeps for the whole run: none under a handover.
        accounts = Account.objects.filter(pk__in=entry["accounts"])
        assert accounts.count() == len(entry["accounts"]) > 0
        assert all(account.owner_id == user.pk for account in accounts)
        assert not accounts.filter(transitions__status__in=ACTIVE_STATUSES).exists()


def test_open_steps_are_topped_up_only_where_missing(demo_staff):
    plan.open_steps_top_up(csms=demo_staff, per_csm=4)
    started = Transition.objects.count()

    assert plan.open_steps_top_up(csms=demo_staff, per_csm=4) == 0
    assert Transition.objects.count() == started


def test_the_integration_token_reads_and_writes_signals_and_is_revoked_at_the_end(demo_staff):
    integration = plan.integration_create()
    assert set(integration.token.scopes) == {"read", "write:signals"}

    plan.integration_revoke(integration)

    token = ApiToken.objects.get(pk=integration.token.pk)
    assert token.revoked_at is not None
    assert not token.user.is_active


def test_a_password_hashed_by_a_hasher_these_settings_refuse_is_hashed_again_and_lockouts_are_cleared(
    demo_staff, settings
):
    alex, sam = User.objects.get(username="alex"), User.objects.get(username="sam")
    # As `make bench` seeds: hashed by the test settings' MD5, which production's hashers do not accept.
    User.objects.filter(pk=alex.pk).update(password=make_password(DEMO_PASSWORD, hasher="md5"))
    AccessAttempt.objects.create(
        username="sam", ip_address="127.0.0.1", user_agent="", get_data="", post_data="", failures_since_start=5
    )
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.ScryptPasswordHasher", *settings.PASSWORD_HASHERS]
    sam.set_password(DEMO_PASSWORD)
    sam.save()

    changes = plan.sign_in_prepare([alex, sam])

    alex.refresh_from_db()
    assert alex.password.startswith("scrypt$") and alex.check_password(DEMO_PASSWORD)
    assert not AccessAttempt.objects.filter(username="sam").exists()
    assert changes == ["alex: password re-hashed", "sam: 1 sign-in failure record(s) cleared"]


def test_a_database_without_the_demo_company_is_refused_plainly():
    with pytest.raises(plan.NotSeeded, match="missing or inactive"):
        plan.demo_csms()


def test_a_book_with_no_accounts_is_refused_plainly(demo_staff):
    integration = plan.integration_create()
    Account.objects.all().delete()
    with pytest.raises(plan.NotSeeded, match="no accounts"):
        plan.build(integration=integration, seed=1)
