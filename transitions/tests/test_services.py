import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.utils import timezone

from accounts.models import (
    AuditAction,
    AuditEvent,
    Channel,
    TimelineEntry,
    TimelineKind,
)
from accounts.tests.factories import AccountFactory, ContactFactory
from plans.services import objective_create, plan_create
from transitions import services
from transitions.models import (
    AssigneeRole,
    HandoverPolicy,
    OutboundEmail,
    OutboundEmailStatus,
    Playbook,
    PlaybookKind,
    TaskStatus,
    Transition,
    TransitionReason,
    TransitionStatus,
    TransitionTask,
    WorkFollowsOwner,
)
from transitions.tests.conftest import make_ready
from users.models import User
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory

pytestmark = pytest.mark.django_db


def start(manager, account, incoming, dates, **kwargs):
    return services.transition_start(
        actor=manager,
        account=account,
        to_csm=incoming,
        reason=TransitionReason.REBALANCING,
        **dates,
        **kwargs,
    )


def finish_all(transition, *, by_role):
    """Complete every open step as its assignee (by role → user)."""
    for task in transition.tasks.order_by("position"):
        task.refresh_from_db()
        if task.status == TaskStatus.OPEN:
            services.task_complete(actor=by_role[task.assignee_role], task=task)


# --- playbooks and versioning -----------------------------------------------------------------------------------


def test_the_default_handover_playbook_ships_with_the_seven_steps_and_an_email_first(
    playbook,
):
    titles = list(playbook.steps.values_list("title", flat=True))
    assert titles == [
        "Notify the customer",
        "Verify contact details",
        "Update the org chart",
        "Update goals and success plan",
        "Write the internal context note",
        "Hold the handover call",
        "Incoming CSM confirms ownership",
    ]
    first = playbook.steps.first()
    assert first.has_email and "{contact_first_name}" in first.email_body


def test_editing_a_playbook_bumps_its_version_and_never_changes_a_running_transition(
    manager, account, incoming, playbook, dates
):
    admin = AdminFactory()
    running = start(manager, account, incoming, dates)
    before = list(running.tasks.values_list("title", "due_date"))

    steps = [
        {
            "title": "Only step",
            "assignee_role": AssigneeRole.INCOMING,
            "due_offset_days": 2,
            "required": True,
        }
    ]
    updated = services.playbook_update(actor=admin, playbook=playbook, fields={"name": "Lean handover"}, steps=steps)

    assert updated.version == 2
    assert running.playbook_version == 1
    assert list(running.tasks.values_list("title", "due_date")) == before
    fresh = start(manager, AccountFactory(owner=account.owner), incoming, dates)
    assert fresh.playbook_version == 2
    assert list(fresh.tasks.values_list("title", flat=True)) == ["Only step"]


def test_only_admins_configure_playbooks_and_unknown_placeholders_are_refused(manager, playbook):
    with pytest.raises(PermissionDenied):
        services.playbook_update(actor=manager, playbook=playbook, fields={"name": "Mine"})
    admin = AdminFactory()
    bad = [
        {
            "title": "Tell them",
            "assignee_role": "incoming",
            "email_subject": "Hi",
            "email_body": "Dear {first}",
        }
    ]
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        services.playbook_create(actor=admin, fields={"name": "Broken"}, steps=bad)
    assert not Playbook.objects.filter(name="Broken").exists()


# --- starting ---------------------------------------------------------------------------------------------------


def test_starting_a_handover_copies_the_steps_with_assignees_and_due_dates(manager, account, outgoing, incoming, dates):
    transition = start(manager, account, incoming, dates)

    assert transition.status == TransitionStatus.IN_PROGRESS
    assert transition.from_csm == outgoing
    tasks = list(transition.tasks.order_by("position"))
    assert len(tasks) == 7
    assert tasks[0].assignee == incoming and tasks[0].due_date == dates["start_date"] + dt.timedelta(days=1)
    assert tasks[1].assignee == outgoing
    assert AuditEvent.objects.filter(action=AuditAction.TRANSITION_CHANGED, subject_id=transition.pk).exists()
    assert account.timeline.filter(event="transition_started").exists()
    account.refresh_from_db()
    assert account.owner == outgoing, "starting a handover does not change the owner"


def test_a_handover_starting_in_the_future_is_planned(manager, account, incoming):
    later = timezone.localdate() + dt.timedelta(days=3)
    transition = start(manager, account, incoming, {"start_date": later, "target_date": later})
    assert transition.status == TransitionStatus.PLANNED


def test_an_account_has_at_most_one_active_handover(manager, account, incoming, dates):
    start(manager, account, incoming, dates)
    with pytest.raises(services.TransitionConflict, match="Acme Robotics"):
        start(manager, account, CSMFactory(team=manager.team), dates)
    assert Transition.objects.count() == 1


def test_bulk_start_is_all_or_nothing_and_names_the_conflicting_account(manager, outgoing, incoming, playbook, dates):
    book = [AccountFactory(name=f"Book {i:02d}", owner=outgoing) for i in range(5)]
    start(manager, book[3], incoming, dates)
    other = CSMFactory(team=manager.team)

    with pytest.raises(services.TransitionConflict) as conflict:
        services.transition_bulk_start(
            actor=manager,
            assignments=[(a.pk, other.pk) for a in book],
            playbook=playbook,
            reason=TransitionReason.ATTRITION,
            **dates,
        )

    assert conflict.value.account_ids == [book[3].pk]
    assert "Book 03" in str(conflict.value)
    assert Transition.objects.count() == 1
    assert TransitionTask.objects.count() == 7


def test_a_csm_cannot_start_a_handover(outgoing, account, incoming, dates):
    with pytest.raises(PermissionDenied):
        start(outgoing, account, incoming, dates)
    assert not Transition.objects.exists()


def test_a_manager_cannot_hand_over_another_teams_account(account, incoming, dates):
    stranger = ManagerFactory()
    with pytest.raises(PermissionDenied):
        start(stranger, account, incoming, dates)


def test_the_incoming_csm_must_differ_from_the_owner_and_dates_must_make_sense(manager, account, outgoing, dates):
    with pytest.raises(ValidationError, match="already owns"):
        start(manager, account, outgoing, dates)
    with pytest.raises(ValidationError, match="target date"):
        start(
            manager,
            account,
            CSMFactory(),
            {"start_date": dates["target_date"], "target_date": dates["start_date"]},
        )
    assert not Transition.objects.exists()


# --- completing -------------------------------------------------------------------------------------------------


def test_ownership_flips_only_when_the_last_required_step_is_done(manager, account, outgoing, incoming, dates):
    make_ready(account)
    transition = start(manager, account, incoming, dates)
    by_role = {
        AssigneeRole.OUTGOING: outgoing,
        AssigneeRole.INCOMING: incoming,
        AssigneeRole.MANAGER: manager,
    }
    tasks = list(transition.tasks.order_by("position"))
    for task in tasks[:-1]:
        services.task_complete(actor=by_role[task.assignee_role], task=task)
        account.refresh_from_db()
        assert account.owner == outgoing

    services.task_complete(actor=incoming, task=tasks[-1])

    account.refresh_from_db()
    transition.refresh_from_db()
    assert account.owner == incoming
    assert transition.status == TransitionStatus.COMPLETED and transition.completed_at
    assert AuditEvent.objects.filter(account=account, action=AuditAction.OWNER_CHANGED).count() == 1
    assert account.timeline.filter(event="transition_completed").exists()
    assert account.timeline.filter(event="owner_changed").exists()


def test_a_csm_completes_only_their_own_tasks(manager, account, outgoing, incoming, dates):
    transition = start(manager, account, incoming, dates)
    outgoing_task = transition.tasks.get(position=2)
    with pytest.raises(PermissionDenied):
        services.task_complete(actor=incoming, task=outgoing_task)
    outgoing_task.refresh_from_db()
    assert outgoing_task.status == TaskStatus.OPEN
    services.task_complete(actor=manager, task=outgoing_task)
    outgoing_task.refresh_from_db()
    assert outgoing_task.status == TaskStatus.DONE and outgoing_task.completed_by == manager


def test_a_required_step_cannot_be_skipped_and_a_done_step_cannot_be_done_twice(manager, account, incoming, dates):
    transition = start(manager, account, incoming, dates)
    task = transition.tasks.get(position=6)
    with pytest.raises(ValidationError, match="required"):
        services.task_complete(actor=incoming, task=task, skip=True)
    services.task_complete(actor=incoming, task=task)
    with pytest.raises(ValidationError, match="already done"):
        services.task_complete(actor=incoming, task=task)


def test_open_work_follows_the_new_owner_under_the_all_work_policy(manager, account, outgoing, incoming, dates):
    make_ready(account)
    plan = plan_create(actor=outgoing, account=account, fields={"name": "2025 goals"})
    objective = objective_create(
        actor=outgoing,
        plan=plan,
        fields={"title": "Roll out to EMEA", "owner": outgoing},
    )
    onboarding = Playbook.objects.get(kind=PlaybookKind.STAGE, trigger_stage="onboarding")
    checklist = services.playbook_run_start(account=account, playbook=onboarding)
    assert checklist.tasks.filter(assignee=outgoing).exists()

    transition = start(manager, account, incoming, dates)
    finish_all(
        transition,
        by_role={"outgoing": outgoing, "incoming": incoming, "manager": manager},
    )

    objective.refresh_from_db()
    assert objective.owner == incoming
    assert not checklist.tasks.filter(assignee=outgoing, status=TaskStatus.OPEN).exists()


def test_account_only_policy_leaves_the_open_work_where_it_was(manager, account, outgoing, incoming, dates):
    make_ready(account)
    HandoverPolicy.objects.update_or_create(pk=1, defaults={"work_follows_owner": WorkFollowsOwner.ACCOUNT_ONLY})
    plan = plan_create(actor=outgoing, account=account, fields={"name": "Goals"})
    objective = objective_create(actor=outgoing, plan=plan, fields={"title": "Adoption", "owner": outgoing})

    transition = start(manager, account, incoming, dates)
    finish_all(
        transition,
        by_role={"outgoing": outgoing, "incoming": incoming, "manager": manager},
    )

    objective.refresh_from_db()
    account.refresh_from_db()
    assert account.owner == incoming
    assert objective.owner == outgoing


def test_system_work_policy_moves_playbook_tasks_but_not_objectives(manager, account, outgoing, incoming, dates):
    make_ready(account)
    HandoverPolicy.objects.update_or_create(pk=1, defaults={"work_follows_owner": WorkFollowsOwner.SYSTEM_WORK})
    plan = plan_create(actor=outgoing, account=account, fields={"name": "Goals"})
    objective = objective_create(actor=outgoing, plan=plan, fields={"title": "Adoption", "owner": outgoing})
    checklist = services.stage_playbooks_start(account=account, stage="onboarding")[0]

    transition = start(manager, account, incoming, dates)
    finish_all(
        transition,
        by_role={"outgoing": outgoing, "incoming": incoming, "manager": manager},
    )

    objective.refresh_from_db()
    assert objective.owner == outgoing
    assert not checklist.tasks.filter(assignee=outgoing, status=TaskStatus.OPEN).exists()


# --- cancel and reschedule --------------------------------------------------------------------------------------


def test_cancelling_leaves_ownership_unchanged_and_says_so(manager, account, outgoing, incoming, dates):
    transition = start(manager, account, incoming, dates)
    services.transition_cancel(actor=manager, transition=transition, reason="Alex stays after all")

    transition.refresh_from_db()
    account.refresh_from_db()
    assert transition.status == TransitionStatus.CANCELLED
    assert account.owner == outgoing
    assert not transition.tasks.filter(status=TaskStatus.OPEN).exists()
    entry = account.timeline.get(event="transition_cancelled")
    assert "ownership unchanged" in entry.summary and str(outgoing) in entry.summary
    # A cancelled handover no longer blocks a new one.
    start(manager, account, CSMFactory(team=manager.team), dates)


def test_a_csm_cannot_cancel_and_a_reason_is_required(manager, account, outgoing, incoming, dates):
    transition = start(manager, account, incoming, dates)
    with pytest.raises(PermissionDenied):
        services.transition_cancel(actor=outgoing, transition=transition, reason="I changed my mind")
    with pytest.raises(ValidationError):
        services.transition_cancel(actor=manager, transition=transition, reason="  ")
    transition.refresh_from_db()
    assert transition.status == TransitionStatus.IN_PROGRESS


def test_moving_the_target_date_can_shift_the_open_tasks_by_the_same_days(manager, account, outgoing, incoming, dates):
    transition = start(manager, account, incoming, dates)
    done = transition.tasks.get(position=2)
    services.task_complete(actor=outgoing, task=done)
    before = dict(transition.tasks.values_list("position", "due_date"))

    _, shifted = services.transition_reschedule(
        actor=manager,
        transition=transition,
        target_date=dates["target_date"] + dt.timedelta(days=5),
        shift_tasks=True,
    )

    after = dict(transition.tasks.values_list("position", "due_date"))
    assert shifted == 6
    assert after[2] == before[2]
    assert all(after[p] == before[p] + dt.timedelta(days=5) for p in before if p != 2)


def test_moving_the_target_date_without_shifting_leaves_tasks_alone(manager, account, incoming, dates):
    transition = start(manager, account, incoming, dates)
    before = list(transition.tasks.values_list("due_date", flat=True))
    services.transition_reschedule(
        actor=manager,
        transition=transition,
        target_date=dates["target_date"] + dt.timedelta(days=3),
        shift_tasks=False,
    )
    assert list(transition.tasks.values_list("due_date", flat=True)) == before


# --- email outbox -----------------------------------------------------------------------------------------------


class ExplodingBackend:
    """An SMTP server that is down."""

    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


def emails_to_customers():
    """Mail sent to customer contacts; logging the email as a touchpoint may also notify staff of a flag."""
    staff = set(User.objects.values_list("email", flat=True))
    return [message for message in mail.outbox if not set(message.to) & staff]


def test_sending_the_email_step_renders_per_contact_goes_through_the_outbox_and_lands_on_the_timeline(
    manager, account, incoming, dates, django_capture_on_commit_callbacks
):
    dana = ContactFactory(account=account, first_name="Dana", email="dana@acme.example")
    transition = start(manager, account, incoming, dates)
    task = transition.tasks.get(position=1)

    with django_capture_on_commit_callbacks(execute=True):
        outbox = services.task_email_send(
            actor=incoming,
            task=task,
            contacts=[dana],
            subject=task.email_subject,
            body=task.email_body,
        )

    email = OutboundEmail.objects.get(pk=outbox[0].pk)
    assert email.status == OutboundEmailStatus.SENT and email.attempts == 1
    (sent,) = emails_to_customers()
    assert sent.to == ["dana@acme.example"]
    assert sent.body.startswith("Hi Dana,")
    assert "Sam Sato" in sent.body and "Alex Archer" in sent.body
    assert TimelineEntry.objects.filter(account=account, kind=TimelineKind.TOUCHPOINT, channel=Channel.EMAIL).exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.DONE


def test_writing_the_email_queues_it_and_sends_nothing_before_the_commit(
    manager, account, incoming, dates, django_capture_on_commit_callbacks
):
    dana = ContactFactory(account=account, first_name="Dana")
    transition = start(manager, account, incoming, dates)

    with django_capture_on_commit_callbacks() as after_commit:
        (email,) = services.task_email_send(
            actor=incoming, task=transition.tasks.get(position=1), contacts=[dana], subject="Hi", body="Hello"
        )

    email.refresh_from_db()
    assert (email.status, email.attempts) == (OutboundEmailStatus.QUEUED, 0)
    assert after_commit and emails_to_customers() == []


def test_a_failed_email_shows_its_error_is_retried_with_backoff_and_once_failed_the_senders_retry_sends_it(
    manager, account, incoming, dates, django_capture_on_commit_callbacks
):
    from notifications.models import Delivery
    from notifications.services import deliveries_retry_due

    dana = ContactFactory(account=account, first_name="Dana")
    transition = start(manager, account, incoming, dates)
    task = transition.tasks.get(position=1)

    with override_settings(EMAIL_BACKEND="transitions.tests.test_services.ExplodingBackend"):
        with django_capture_on_commit_callbacks(execute=True):
            (email,) = services.task_email_send(
                actor=incoming,
                task=task,
                contacts=[dana],
                subject="Hello",
                body="Hi {contact_first_name}",
            )
        email.refresh_from_db()
        # Still queued: the next attempt comes by itself, after a backoff.
        assert email.status == OutboundEmailStatus.QUEUED
        assert "refused" in email.last_error and email.attempts == 1
        delivery = Delivery.objects.get(outbound_email=email)
        while delivery.status == "pending":
            with time_machine.travel(delivery.next_attempt_at + dt.timedelta(seconds=1), tick=False):
                deliveries_retry_due()
            delivery.refresh_from_db()
    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.FAILED
    assert "refused" in email.last_error and email.attempts == Delivery.MAX_ATTEMPTS
    assert len(mail.outbox) == 0

    with django_capture_on_commit_callbacks(execute=True):
        services.outbound_email_retry(actor=incoming, email=email)
    email.refresh_from_db()
    assert email.status == OutboundEmailStatus.SENT and email.last_error == ""
    assert email.attempts == Delivery.MAX_ATTEMPTS + 1
    assert mail.outbox[0].body == "Hi Dana"


def test_only_failed_emails_can_be_retried_and_an_outcome_reported_twice_changes_nothing(
    manager, account, incoming, dates, django_capture_on_commit_callbacks
):
    dana = ContactFactory(account=account)
    transition = start(manager, account, incoming, dates)
    with django_capture_on_commit_callbacks(execute=True):
        (email,) = services.task_email_send(
            actor=incoming,
            task=transition.tasks.get(position=1),
            contacts=[dana],
            subject="Hi",
            body="Hello",
        )
    with pytest.raises(ValidationError, match="Only failed"):
        services.outbound_email_retry(actor=incoming, email=email)

    assert not services.outbound_email_mark_sent(email_id=email.pk, sent_at=timezone.now())
    assert not services.outbound_email_mark_failed(email_id=email.pk, error="late news", will_retry=False)

    email.refresh_from_db()
    assert (email.status, email.attempts, email.last_error) == (OutboundEmailStatus.SENT, 1, "")
    assert len(emails_to_customers()) == 1
    assert (
        TimelineEntry.objects.filter(account=account, kind=TimelineKind.TOUCHPOINT, channel=Channel.EMAIL).count() == 1
    )


def test_an_email_to_another_accounts_contact_or_with_a_bad_placeholder_writes_nothing(
    manager, account, incoming, dates
):
    transition = start(manager, account, incoming, dates)
    task = transition.tasks.get(position=1)
    with pytest.raises(ValidationError):
        services.task_email_send(
            actor=incoming,
            task=task,
            contacts=[ContactFactory()],
            subject="Hi",
            body="Hello",
        )
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        services.task_email_send(
            actor=incoming,
            task=task,
            contacts=[ContactFactory(account=account)],
            subject="Hi",
            body="Hello {name}",
        )
    assert not OutboundEmail.objects.exists()
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


# --- bulk runs --------------------------------------------------------------------------------------------------


def test_a_bulk_handover_run_records_success_and_is_idempotent(manager, outgoing, incoming, playbook, dates):
    book = [AccountFactory(owner=outgoing) for _ in range(3)]
    bulk = services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in book],
        playbook=playbook,
        reason=TransitionReason.PROMOTION,
        **dates,
    )
    bulk = services.bulk_handover_run(bulk_id=bulk.pk)
    assert bulk.status == "done" and bulk.processed == 3
    assert bulk.transitions.count() == 3
    services.bulk_handover_run(bulk_id=bulk.pk)
    assert Transition.objects.count() == 3


def test_a_failed_bulk_run_records_the_conflict(manager, outgoing, incoming, playbook, dates):
    book = [AccountFactory(owner=outgoing) for _ in range(3)]
    start(manager, book[0], incoming, dates)
    bulk = services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in book],
        playbook=playbook,
        reason=TransitionReason.PROMOTION,
        **dates,
    )
    bulk = services.bulk_handover_run(bulk_id=bulk.pk)
    assert bulk.status == "failed" and bulk.conflicts == [book[0].pk]
    assert "already have a handover" in bulk.error
    assert Transition.objects.count() == 1


def test_open_red_flags_follow_the_new_owner_unless_the_policy_keeps_work_in_place(manager, outgoing, incoming, dates):
    from lifecycle.models import AlertRule, RedFlag

    rule = AlertRule.objects.create(name="Handover test rule", kind="no_touchpoint", severity="medium")
    moving, staying = AccountFactory(owner=outgoing), AccountFactory(owner=outgoing)
    make_ready(moving)
    make_ready(staying)
    flag = RedFlag.objects.create(rule=rule, account=moving, owner=outgoing, severity="medium", reason="31 days")
    kept = RedFlag.objects.create(rule=rule, account=staying, owner=outgoing, severity="medium", reason="40 days")
    by_role = {"outgoing": outgoing, "incoming": incoming, "manager": manager}

    finish_all(start(manager, moving, incoming, dates), by_role=by_role)
    HandoverPolicy.objects.update_or_create(pk=1, defaults={"work_follows_owner": WorkFollowsOwner.ACCOUNT_ONLY})
    finish_all(start(manager, staying, incoming, dates), by_role=by_role)

    flag.refresh_from_db()
    kept.refresh_from_db()
    assert flag.owner == incoming
    assert kept.owner == outgoing
    assert "1 open red flag(s)" in moving.timeline.get(event="transition_completed").body
