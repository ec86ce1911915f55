"""Risk plays: a red flag from a rule marked "start the risk playbook" starts the shipped save play, once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, TimelineEntry
from accounts.tests.factories import AccountFactory
from lifecycle.flags.rules import Firing
from lifecycle.flags.services import flag_resolve, flags_sync
from lifecycle.models import AlertRule, RedFlag
from transitions import services
from transitions.models import (
    Playbook,
    PlaybookKind,
    TaskStatus,
    Transition,
    TransitionStatus,
)
from users.tests.factories import ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.UTC)
RENEWAL_RULE = "Renewal in 90 days and not green"


def rule(name: str) -> AlertRule:
    return AlertRule.objects.get(name=name)


def firing(account, rule_name: str = RENEWAL_RULE) -> Firing:
    fired = rule(rule_name)
    return Firing(
        fired.pk,
        account.pk,
        fired.severity,
        "Renews in 41 days and the band is yellow.",
        {"days": 41},
    )


def sync_on(day: dt.datetime, *firings: Firing):
    """Raise flags on `day` and run what listens once they commit (the risk plays start then)."""
    with time_machine.travel(day, tick=False), TestCase.captureOnCommitCallbacks(execute=True):
        return flags_sync(firings=list(firings), today=timezone.localdate())


def risk_runs(account=None):
    runs = Transition.objects.filter(kind=PlaybookKind.RISK)
    return runs.filter(account=account) if account is not None else runs


@pytest.fixture
def save_play() -> Playbook:
    return Playbook.objects.get(kind=PlaybookKind.RISK, is_default=True)


def test_every_install_ships_a_save_play_and_the_renewal_rule_starts_it(save_play):
    assert save_play.name == "Save play: account at risk"
    assert not save_play.archived
    assert list(save_play.steps.values_list("title", "assignee_role")) == [
        ("Call the champion", "incoming"),
        ("Review usage and tickets with support", "incoming"),
        ("Agree a recovery plan with the customer", "incoming"),
        ("Manager check-in", "manager"),
        ("Log the outcome", "incoming"),
    ]
    assert save_play.steps.get(position=1).due_offset_days == 2
    assert rule(RENEWAL_RULE).start_playbook
    assert not rule("Health band turned red").start_playbook


def test_a_new_flag_from_a_start_playbook_rule_starts_one_save_play_for_the_owner(
    save_play, account, outgoing, manager
):
    result = sync_on(MONDAY, firing(account))

    run = risk_runs().get()
    assert result.raised_ids == [RedFlag.objects.get().pk]
    assert (run.account, run.playbook, run.to_csm, run.from_csm, run.status) == (
        account,
        save_play,
        outgoing,
        None,
        TransitionStatus.IN_PROGRESS,
    )
    assert (run.start_date, run.target_date) == (
        MONDAY.date(),
        MONDAY.date() + dt.timedelta(days=14),
    )
    tasks = list(run.tasks.order_by("position"))
    assert [t.assignee for t in tasks] == [
        outgoing,
        outgoing,
        outgoing,
        manager,
        outgoing,
    ]
    assert tasks[0].due_date == MONDAY.date() + dt.timedelta(days=2)
    assert all(t.status == TaskStatus.OPEN for t in tasks)
    audit = AuditEvent.objects.get(subject_type="transition", subject_id=run.pk)
    assert (audit.action, audit.actor, audit.changes) == (
        AuditAction.TRANSITION_CHANGED,
        None,
        {"status": [None, "in_progress"]},
    )
    assert TimelineEntry.objects.filter(
        account=account,
        event="playbook_started",
        summary="Risk play “Save play: account at risk” started",
    ).exists()


def test_a_second_sync_the_same_day_starts_nothing(account):
    sync_on(MONDAY, firing(account))
    again = sync_on(MONDAY + dt.timedelta(hours=6), firing(account))

    assert (again.raised_ids, again.unchanged) == ([], 1)
    assert risk_runs().count() == 1


def test_a_rule_without_start_playbook_raises_its_flag_and_starts_nothing(account):
    result = sync_on(MONDAY, firing(account, "Health band turned red"))

    assert len(result.raised_ids) == 1
    assert not risk_runs().exists()
    assert not TimelineEntry.objects.filter(event="playbook_started").exists()


def test_several_start_playbook_rules_firing_at_once_start_one_play_per_account(
    account,
):
    AlertRule.objects.filter(name="Health band turned red").update(start_playbook=True)
    other = AccountFactory(name="Birch Health", owner=account.owner)

    result = sync_on(
        MONDAY,
        firing(account),
        firing(account, "Health band turned red"),
        firing(other),
    )

    assert len(result.raised_ids) == 3
    assert sorted(risk_runs().values_list("account__name", flat=True)) == [
        "Acme Robotics",
        "Birch Health",
    ]


def test_an_account_already_running_the_play_does_not_get_a_second_one(account, outgoing):
    sync_on(MONDAY, firing(account))
    with time_machine.travel(MONDAY + dt.timedelta(hours=1), tick=False):
        flag_resolve(actor=outgoing, flag=RedFlag.objects.get(), note="Renewal call booked.")
    # The rule fires again the next day: a new flag, but the save play is still under way.
    result = sync_on(MONDAY + dt.timedelta(days=1), firing(account))

    assert len(result.raised_ids) == 1
    assert risk_runs().count() == 1


def test_once_the_play_is_over_a_new_flag_starts_it_again(account, outgoing, manager):
    sync_on(MONDAY, firing(account))
    first = risk_runs().get()
    with time_machine.travel(MONDAY + dt.timedelta(days=3), tick=False):
        for task in first.tasks.order_by("position"):
            services.task_complete(actor=task.assignee, task=task)
        flag_resolve(actor=outgoing, flag=RedFlag.objects.get(), note="Recovery plan agreed.")
    first.refresh_from_db()
    assert first.status == TransitionStatus.COMPLETED

    sync_on(MONDAY + dt.timedelta(days=30), firing(account))

    assert risk_runs().count() == 2
    assert risk_runs().active().get().start_date == (MONDAY + dt.timedelta(days=30)).date()


def test_without_an_active_default_risk_playbook_the_flag_is_still_raised(save_play, account):
    Playbook.objects.filter(pk=save_play.pk).update(archived=True)

    result = sync_on(MONDAY, firing(account))

    assert len(result.raised_ids) == 1
    assert not risk_runs().exists()


def test_a_pooled_accounts_play_gives_manager_steps_to_the_pools_manager(save_play):
    pool = TeamFactory(name="Pool team")
    pool_manager = ManagerFactory(username="pat", team=pool)
    pooled = AccountFactory(coverage="pooled", owner=None, pool=pool)

    sync_on(MONDAY, firing(pooled))

    run = risk_runs(pooled).get()
    assert run.to_csm is None
    assert list(run.tasks.order_by("position").values_list("assignee", flat=True)) == [
        None,
        None,
        None,
        pool_manager.pk,
        None,
    ]


def test_starting_the_play_by_hand_twice_is_refused(save_play, account):
    services.playbook_run_start(account=account, playbook=save_play)

    with pytest.raises(ValidationError, match="already runs"):
        services.playbook_run_start(account=account, playbook=save_play)
    assert risk_runs().count() == 1


def test_many_firings_start_their_plays_in_a_fixed_number_of_queries(team):
    def queries_for(n: int) -> int:
        accounts = [AccountFactory() for _ in range(n)]
        flag_ids = list(
            RedFlag.objects.bulk_create(
                RedFlag(
                    rule=rule(RENEWAL_RULE),
                    account=a,
                    owner=a.owner,
                    severity="critical",
                    reason="Renews soon, not green.",
                )
                for a in accounts
            )
        )
        with CaptureQueriesContext(connection) as captured:
            runs = services.risk_playbooks_start_for_flags(flag_ids=[f.pk for f in flag_ids])
        assert len(runs) == n
        return len(captured)

    # flags, playbook, steps, lock accounts, managers, runs, tasks, audit, timeline
    # (inserts are batched, so very large runs add a query per batch, never per account)
    assert queries_for(2) == queries_for(10) == 9


def test_the_handover_board_shows_risk_plays_only_when_asked_and_not_as_pool_handovers(
    client, manager, account, save_play
):
    sync_on(MONDAY, firing(account))
    client.force_login(manager)

    handovers_only = client.get(reverse("transition-board")).content.decode()
    any_kind = client.get(reverse("transition-board") + "?kind=").content.decode()

    assert "Acme Robotics" not in handovers_only
    assert "Acme Robotics" in any_kind
    assert "Stage checklists and save plays" in any_kind
    assert "From the pool" not in any_kind
