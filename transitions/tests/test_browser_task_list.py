"""A departing CSM's task list in Chromium: steps from many handovers, grouped, filtered and completed a group at once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import AccountFactory
from tests.support import login, screenshot
from transitions import services
from transitions.models import TaskStatus, TransitionReason, TransitionTask
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_departing_csm_completes_a_handovers_steps_in_one_go(page, live_server, playbook):
    team = TeamFactory(name="SMB")
    manager = ManagerFactory(username="tom", team=team)
    alex = CSMFactory(username="alex", first_name="Alex", last_name="Archer", team=team)
    sam = CSMFactory(username="sam", first_name="Sam", last_name="Lee", team=team)
    today = timezone.localdate()
    runs = [
        services.transition_start(
            actor=manager,
            account=AccountFactory(name=f"Customer {n:02d}", owner=alex),
            to_csm=sam,
            reason=TransitionReason.ATTRITION,
            start_date=today,
            target_date=today + dt.timedelta(days=14),
        )
        for n in range(6)
    ]
    first = runs[0]
    TransitionTask.objects.filter(transition=first, assignee=alex).update(due_date=today - dt.timedelta(days=1))

    login(page, live_server, "alex")
    page.goto(f"{live_server.url}/transitions/my-tasks/")
    expect(page.locator("form[data-group]")).to_have_count(6)
    screenshot(page, "task-list-1-grouped")

    page.click("a[data-due=overdue]")
    group = page.locator(f"form[data-group='transition-{first.pk}']")
    expect(page.locator("form[data-group]")).to_have_count(1)
    screenshot(page, "task-list-2-overdue")

    steps = TransitionTask.objects.filter(transition=first, assignee=alex).count()
    group.locator("button[value=all]").click()
    expect(page.locator(".alert-success")).to_contain_text(f"{steps} step(s) done")
    expect(page.locator("form[data-group]")).to_have_count(0)
    screenshot(page, "task-list-3-done")
    assert not TransitionTask.objects.filter(transition=first, assignee=alex, status=TaskStatus.OPEN).exists()
