"""A handover below its playbook's readiness bar does not complete with its last step: a manager confirms it, saying why."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent
from transitions import services
from transitions.models import DEFAULT_MIN_READINESS, Playbook, TaskStatus, TransitionReason, TransitionStatus
from transitions.tests.conftest import make_ready
from users.tests.factories import AdminFactory, CSMFactory

pytestmark = pytest.mark.django_db

REASON = "Customer asked to switch before their QBR; we fill the gaps in the first week."


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def handover(manager, account, incoming, dates, playbook):
    return services.transition_start(
        actor=manager, account=account, to_csm=incoming, reason=TransitionReason.REBALANCING, **dates
    )


def work_through(handover, *, manager):
    """Every step done by its assignee (manager steps by the manager)."""
    for task in handover.tasks.order_by("position"):
        task.refresh_from_db()
        if task.status == TaskStatus.OPEN:
            services.task_complete(actor=task.assignee or manager, task=task)
    handover.refresh_from_db()


def test_the_shipped_bar_is_80_percent_and_a_new_playbook_gets_it(playbook):
    assert playbook.min_readiness == DEFAULT_MIN_READINESS == 80
    assert Playbook(name="New").min_readiness == 80


def test_a_ready_handover_completes_with_its_last_step_as_before_and_keeps_its_readiness(
    handover, account, incoming, manager
):
    make_ready(account)

    work_through(handover, manager=manager)

    account.refresh_from_db()
    assert handover.status == TransitionStatus.COMPLETED and account.owner == incoming
    assert (handover.completed_readiness, handover.readiness_threshold) == (100, 80)
    assert handover.confirmed_by is None and handover.confirmation_reason == ""
    audit = AuditEvent.objects.filter(subject_type="transition", subject_id=handover.pk).first()
    assert audit.changes["status"] == ["in_progress", "completed"]
    assert (audit.changes["readiness"], audit.changes["readiness_threshold"]) == ([None, 100], [None, 80])


def test_below_the_bar_the_last_step_leaves_the_handover_waiting_and_says_so(handover, account, outgoing, manager):
    work_through(handover, manager=manager)  # the factory's account has only its contract facts: 20%

    account.refresh_from_db()
    assert handover.status == TransitionStatus.IN_PROGRESS and account.owner == outgoing
    assert not handover.tasks.filter(status=TaskStatus.OPEN, required=True).exists()
    waiting = AuditEvent.objects.filter(subject_type="transition", subject_id=handover.pk).first()
    assert waiting.changes == {"awaiting_confirmation": [False, True], "readiness": [None, 20]}
    assert "below the playbook's 80%" in waiting.reason
    assert account.timeline.filter(event="transition_awaiting_confirmation").exists()


def test_a_csm_cannot_complete_a_handover_below_the_bar(handover, account, incoming, outgoing, manager):
    work_through(handover, manager=manager)

    for csm in (incoming, outgoing):
        with pytest.raises(services.ConfirmationRequired, match="20%, below the 80%"):
            services.transition_complete(actor=csm, transition=handover, reason=REASON)
    handover.refresh_from_db()
    assert handover.status == TransitionStatus.IN_PROGRESS


def test_a_manager_must_give_a_reason_to_complete_below_the_bar(handover, manager):
    work_through(handover, manager=manager)

    for reason in ("", "   ", "ok fine"):
        with pytest.raises(ValidationError, match="at least 10 characters"):
            services.transition_complete(actor=manager, transition=handover, reason=reason)
    handover.refresh_from_db()
    assert handover.status == TransitionStatus.IN_PROGRESS


def test_a_manager_with_a_reason_completes_it_and_the_readiness_bar_and_reason_are_audited(
    handover, account, incoming, manager
):
    work_through(handover, manager=manager)

    services.transition_complete(actor=manager, transition=handover, reason=f"  {REASON} ")

    handover.refresh_from_db()
    account.refresh_from_db()
    assert handover.status == TransitionStatus.COMPLETED and account.owner == incoming
    assert (handover.completed_readiness, handover.readiness_threshold) == (20, 80)
    assert (handover.confirmed_by, handover.confirmation_reason) == (manager, REASON)
    audit = AuditEvent.objects.filter(subject_type="transition", subject_id=handover.pk).first()
    assert audit.actor == manager and audit.action == AuditAction.TRANSITION_CHANGED
    assert audit.changes["readiness"] == [None, 20] and audit.changes["readiness_threshold"] == [None, 80]
    assert audit.changes["confirmed_below_threshold"] == [False, True]
    assert REASON in audit.reason and "at 20% readiness" in audit.reason
    assert REASON in account.timeline.get(event="transition_completed").body


def test_an_admin_may_confirm_too_but_not_a_csm_of_the_team_nor_while_steps_are_open(handover, account, manager):
    with pytest.raises(ValidationError, match="required step"):
        services.transition_complete(actor=manager, transition=handover, reason=REASON)
    work_through(handover, manager=manager)
    with pytest.raises(PermissionDenied):
        services.transition_complete(actor=CSMFactory(team=manager.team), transition=handover, reason=REASON)

    services.transition_complete(actor=AdminFactory(), transition=handover, reason=REASON)

    handover.refresh_from_db()
    assert handover.status == TransitionStatus.COMPLETED


def test_once_the_gaps_are_filled_a_waiting_handover_is_completed_by_its_csm_without_a_reason(
    handover, account, incoming, manager
):
    work_through(handover, manager=manager)
    make_ready(account)

    services.transition_complete(actor=incoming, transition=handover)

    handover.refresh_from_db()
    assert handover.status == TransitionStatus.COMPLETED and handover.confirmed_by is None
    assert handover.completed_readiness == 100


def test_a_playbook_with_no_bar_completes_at_any_readiness(handover, account, incoming, manager, playbook):
    Playbook.objects.filter(pk=playbook.pk).update(min_readiness=0)

    work_through(handover, manager=manager)

    assert handover.status == TransitionStatus.COMPLETED
    assert (handover.completed_readiness, handover.readiness_threshold) == (20, 0)


def test_save_plays_complete_with_their_last_step_whatever_the_readiness(account, outgoing, manager):
    save_play = Playbook.objects.get(kind="risk", is_default=True)
    run = services.playbook_run_start(account=account, playbook=save_play, actor=manager)

    work_through(run, manager=manager)

    assert run.status == TransitionStatus.COMPLETED and run.completed_readiness is None


# --- the bar is configured per playbook ---------------------------------------------------------------------------


def test_the_bar_is_a_percentage_from_0_to_100(playbook):
    admin = AdminFactory()
    with pytest.raises(ValidationError, match="less than or equal to 100"):
        services.playbook_update(actor=admin, playbook=playbook, fields={"min_readiness": 101})
    updated = services.playbook_update(actor=admin, playbook=playbook, fields={"min_readiness": 60})
    assert updated.min_readiness == 60
    with pytest.raises(IntegrityError), transaction.atomic():
        Playbook.objects.filter(pk=playbook.pk).update(min_readiness=140)


def test_admins_set_the_bar_on_the_playbook_page_and_over_the_api(client, playbook):
    admin = AdminFactory()
    response = api(admin).patch(
        reverse("api:playbook-detail", args=[playbook.pk]), {"min_readiness": 150}, format="json"
    )
    assert response.status_code == 400 and "min_readiness" in response.json()
    response = api(admin).patch(
        reverse("api:playbook-detail", args=[playbook.pk]), {"min_readiness": 70}, format="json"
    )
    assert response.status_code == 200 and response.json()["min_readiness"] == 70

    client.force_login(admin)
    page = client.get(reverse("playbook-edit", args=[playbook.pk])).content.decode()
    assert 'name="min_readiness"' in page and 'value="70"' in page


# --- the pages ------------------------------------------------------------------------------------------------------


def test_the_csm_sees_that_it_needs_a_managers_confirmation_and_cannot_post_it(client, handover, incoming, manager):
    work_through(handover, manager=manager)
    client.force_login(incoming)

    page = client.get(reverse("transition-detail", args=[handover.pk])).content.decode()
    assert "Needs a manager&#x27;s confirmation" in page or "Needs a manager's confirmation" in page
    assert "readiness is <strong>20%</strong>, below the <strong>80%</strong>" in page
    assert "Missing:" in page and 'id="complete-form"' not in page

    response = client.post(reverse("transition-complete", args=[handover.pk]), {"reason": REASON})
    assert response.status_code == 403
    handover.refresh_from_db()
    assert handover.status == TransitionStatus.IN_PROGRESS


def test_the_manager_confirms_on_the_page_a_missing_reason_comes_back_422_and_the_page_shows_why(
    client, handover, manager
):
    work_through(handover, manager=manager)
    client.force_login(manager)
    url = reverse("transition-complete", args=[handover.pk])

    assert 'id="complete-form"' in client.get(reverse("transition-detail", args=[handover.pk])).content.decode()
    refused = client.post(url, {"reason": "because"})
    assert refused.status_code == 422 and "at least 10 characters" in refused.content.decode()

    response = client.post(url, {"reason": REASON}, follow=True)

    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="confirmation"' in page and REASON in page
    assert "Readiness at completion: <strong>20%</strong> (the playbook asked for 80%)" in page
    history = page.split('id="history"', 1)[1]
    assert "Confirmed by" in history and "Awaiting confirmation → <strong>yes</strong>" in history
    assert "Readiness threshold → <strong>80%</strong>" in history and "Status → <strong>Completed</strong>" in history


def test_the_manager_board_shows_the_handover_awaiting_confirmation(client, handover, manager):
    client.force_login(manager)
    assert 'data-testid="awaiting-confirmation"' not in client.get(reverse("transition-board")).content.decode()

    work_through(handover, manager=manager)

    assert 'data-testid="awaiting-confirmation"' in client.get(reverse("transition-board")).content.decode()


# --- the API ----------------------------------------------------------------------------------------------------------


def test_over_the_api_a_csm_gets_409_a_manager_without_reason_400_and_with_one_200(handover, incoming, manager):
    work_through(handover, manager=manager)
    url = reverse("api:transition-complete", args=[handover.pk])

    refused = api(incoming).post(url, {"reason": REASON}, format="json")
    assert refused.status_code == 409
    body = refused.json()
    assert (body["readiness"], body["threshold"]) == (20, 80)
    assert "manager's confirmation" in body["detail"] and len(body["missing"]) == 4

    no_reason = api(manager).post(url, {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    detail = api(manager).get(reverse("api:transition-detail", args=[handover.pk])).json()
    assert detail["awaiting_confirmation"] and detail["status"] == "in_progress"

    done = api(manager).post(url, {"reason": REASON}, format="json")
    assert done.status_code == 200
    assert done.json()["status"] == "completed"
    assert (done.json()["completed_readiness"], done.json()["readiness_threshold"]) == (20, 80)
    assert (done.json()["confirmed_by"], done.json()["confirmation_reason"]) == (manager.pk, REASON)


def test_over_the_api_a_ready_handover_is_completed_by_its_csm(handover, account, incoming, manager):
    work_through(handover, manager=manager)
    make_ready(account)

    response = api(incoming).post(reverse("api:transition-complete", args=[handover.pk]), {}, format="json")

    assert response.status_code == 200 and response.json()["status"] == "completed"
