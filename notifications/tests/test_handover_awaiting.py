"""A handover held below its readiness bar is put to the people who can release it, under the bell."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from notifications.models import Notification, NotificationKind
from transitions import services as transitions
from transitions.models import TaskStatus, TransitionReason
from transitions.tests.conftest import ensure_default_playbooks
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory, TeamFactory

pytestmark = pytest.mark.django_db


def held_handover(*, manager, outgoing, incoming, django_capture_on_commit_callbacks):
    """A handover whose every step is done on an account with only its contract facts (20% ready, bar 80%).

    `manager` starts it and does the manager's steps (an admin of the test's when the team has none)."""
    ensure_default_playbooks()
    account = AccountFactory(name="Acme Robotics", owner=outgoing)
    today = timezone.localdate()
    handover = transitions.transition_start(
        actor=manager,
        account=account,
        to_csm=incoming,
        reason=TransitionReason.REBALANCING,
        start_date=today,
        target_date=today + dt.timedelta(days=14),
    )
    with django_capture_on_commit_callbacks(execute=True):
        for task in handover.tasks.order_by("position"):
            task.refresh_from_db()
            if task.status == TaskStatus.OPEN:
                transitions.task_complete(actor=task.assignee or manager, task=task)
    return handover


def test_the_teams_manager_is_asked_to_confirm_and_the_csms_are_not(django_capture_on_commit_callbacks):
    team, other_team = TeamFactory(), TeamFactory()
    manager, other_manager = ManagerFactory(team=team), ManagerFactory(team=other_team)
    outgoing, incoming = CSMFactory(team=team), CSMFactory(team=team, first_name="Sam", last_name="Sato")

    handover = held_handover(
        manager=manager,
        outgoing=outgoing,
        incoming=incoming,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    (asked,) = Notification.objects.filter(kind=NotificationKind.HANDOVER_AWAITING)
    assert asked.recipient == manager
    assert asked.title == "Acme Robotics: handover to Sam Sato awaits your confirmation"
    assert "20% ready against the 80%" in asked.body
    assert asked.url == reverse("transition-detail", args=[handover.pk])
    assert not Notification.objects.filter(recipient__in=[other_manager, outgoing, incoming]).exists()


def test_with_no_manager_on_the_team_the_admins_are_asked(django_capture_on_commit_callbacks):
    team = TeamFactory()
    admin = AdminFactory()
    outgoing, incoming = CSMFactory(team=team), CSMFactory(team=team)

    held_handover(
        manager=admin,
        outgoing=outgoing,
        incoming=incoming,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )

    assert set(
        Notification.objects.filter(kind=NotificationKind.HANDOVER_AWAITING).values_list("recipient", flat=True)
    ) == {admin.pk}


def test_a_handover_completed_before_the_notice_is_written_asks_nobody(django_capture_on_commit_callbacks):
    team = TeamFactory()
    manager = ManagerFactory(team=team)
    outgoing, incoming = CSMFactory(team=team), CSMFactory(team=team)
    handover = held_handover(
        manager=manager,
        outgoing=outgoing,
        incoming=incoming,
        django_capture_on_commit_callbacks=django_capture_on_commit_callbacks,
    )
    Notification.objects.all().delete()
    transitions.transition_complete(actor=manager, transition=handover, reason="Customer asked for the switch now.")

    from notifications.services import handover_confirmation_notify

    assert handover_confirmation_notify(transition_id=handover.pk, readiness=20, threshold=80) == 0
    assert not Notification.objects.exists()
