"""A CSM's task list: steps grouped by handover or account, filtered by due date, completed in bulk."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, TimelineEntry
from accounts.tests.factories import AccountFactory
from transitions import services
from transitions.models import TaskStatus, TransitionReason, TransitionStatus, TransitionTask
from transitions.selectors import task_list
from transitions.tests.conftest import make_ready
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

URL = reverse("my-transition-tasks")
COMPLETE = reverse("my-transition-tasks-complete")


def hand_over(manager, outgoing, incoming, names, dates):
    return [
        services.transition_start(
            actor=manager,
            account=AccountFactory(name=name, owner=outgoing),
            to_csm=incoming,
            reason=TransitionReason.ATTRITION,
            **dates,
        )
        for name in names
    ]


def plain_steps(user, transition=None):
    """The user's open steps a tick completes (an email step is done by sending its email)."""
    tasks = TransitionTask.objects.open().assigned_to(user).filter(email_body="")
    return tasks.filter(transition=transition) if transition else tasks


def test_a_departing_csms_steps_are_grouped_by_handover_with_their_counts(client, manager, outgoing, incoming, dates):
    acme, zeta = hand_over(manager, outgoing, incoming, ["Acme Robotics", "Zeta Mills"], dates)
    client.force_login(outgoing)

    page = client.get(URL).content.decode()

    assert page.count("data-group=") == 2
    assert f'data-group="transition-{acme.pk}"' in page and f'data-group="transition-{zeta.pk}"' in page
    per_run = plain_steps(outgoing, acme).count()
    assert f"{per_run} open" in page and f"Complete all {per_run}" in page


def test_the_list_groups_by_account_when_asked_and_refuses_an_unknown_grouping(
    client, manager, outgoing, incoming, dates
):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    client.force_login(outgoing)

    page = client.get(URL + "?group=account").content.decode()

    assert f'data-group="account-{acme.account_id}"' in page
    assert client.get(URL + "?group=owner").status_code == 400


def test_the_due_date_filter_shows_one_window_and_counts_every_window(client, manager, outgoing, incoming, dates):
    acme, zeta = hand_over(manager, outgoing, incoming, ["Acme Robotics", "Zeta Mills"], dates)
    today = timezone.localdate()
    plain_steps(outgoing, acme).update(due_date=today - dt.timedelta(days=2))
    plain_steps(outgoing, zeta).update(due_date=today + dt.timedelta(days=30))
    client.force_login(outgoing)

    overdue = task_list(outgoing, due="overdue")
    later = client.get(URL + "?due=later").content.decode()

    assert [group.key for group in overdue.groups] == [f"transition-{acme.pk}"]
    assert overdue.window_counts["overdue"] == plain_steps(outgoing, acme).count()
    assert overdue.window_counts["today"] == overdue.window_counts["week"] == 0
    assert f"transition-{zeta.pk}" in later and f"transition-{acme.pk}" not in later
    assert client.get(URL + "?due=someday").status_code == 400


def test_a_csm_completes_a_whole_group_at_once_each_step_audited(client, manager, outgoing, incoming, dates):
    acme, zeta = hand_over(manager, outgoing, incoming, ["Acme Robotics", "Zeta Mills"], dates)
    ids = list(plain_steps(outgoing, acme).values_list("pk", flat=True))
    client.force_login(outgoing)

    response = client.post(COMPLETE + "?due=", {"action": "all", "all_task": ids, "task": ids[:1]})

    assert response.status_code == 302 and response.url == URL + "?due="
    assert set(TransitionTask.objects.filter(pk__in=ids).values_list("status", flat=True)) == {TaskStatus.DONE}
    assert plain_steps(outgoing, zeta).count() == len(ids)  # the other handover's steps are untouched
    audits = AuditEvent.objects.filter(action=AuditAction.TRANSITION_CHANGED, actor=outgoing, subject_id=acme.pk)
    assert audits.count() == len(ids)
    assert TimelineEntry.objects.filter(account=acme.account, event="transition_step").count() == len(ids)
    acme.refresh_from_db()
    assert acme.status == TransitionStatus.IN_PROGRESS


def test_complete_selected_completes_only_the_ticked_steps(client, manager, outgoing, incoming, dates):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    first, *rest = plain_steps(outgoing, acme).order_by("position")
    client.force_login(outgoing)

    client.post(COMPLETE, {"action": "selected", "task": [first.pk], "all_task": [t.pk for t in rest]})

    first.refresh_from_db()
    assert first.status == TaskStatus.DONE
    assert plain_steps(outgoing, acme).count() == len(rest)


def test_a_csm_cannot_complete_someone_elses_steps_in_bulk_and_nothing_changes(
    client, manager, outgoing, incoming, dates
):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    mine = list(plain_steps(outgoing, acme).values_list("pk", flat=True))
    theirs = TransitionTask.objects.filter(transition=acme, assignee=incoming).values_list("pk", flat=True)[0]
    client.force_login(outgoing)

    response = client.post(COMPLETE, {"action": "all", "all_task": [*mine, theirs]})

    assert response.status_code == 403
    assert not TransitionTask.objects.filter(transition=acme).exclude(status=TaskStatus.OPEN).exists()
    assert not AuditEvent.objects.filter(actor=outgoing).exists()


def test_a_csm_of_another_team_gets_403_for_a_step_they_cannot_see(client, manager, outgoing, incoming, dates):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    stranger = CSMFactory()
    client.force_login(stranger)

    response = client.post(COMPLETE, {"action": "selected", "task": [plain_steps(outgoing, acme).first().pk]})

    assert response.status_code == 403
    assert (
        plain_steps(outgoing, acme).count() == TransitionTask.objects.filter(transition=acme, assignee=outgoing).count()
    )


def test_bulk_complete_refuses_an_email_step_bad_ids_and_an_empty_selection_with_400(
    client, manager, outgoing, incoming, dates
):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    email_step = TransitionTask.objects.filter(transition=acme).exclude(email_body="").first()
    client.force_login(manager)

    for data in (
        {"action": "selected", "task": [email_step.pk]},
        {"action": "selected", "task": ["first"]},
        {"action": "selected"},
        {"action": "selected", "task": [999999]},
    ):
        response = client.post(COMPLETE, data)
        assert response.status_code == 400, data
        assert "alert-danger" in response.content.decode()
    assert not TransitionTask.objects.filter(transition=acme).exclude(status=TaskStatus.OPEN).exists()


def test_completing_the_last_required_steps_in_bulk_completes_the_handover(manager, outgoing, incoming, dates):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    make_ready(acme.account)
    email_step = TransitionTask.objects.filter(transition=acme).exclude(email_body="").get()
    services.task_complete(actor=manager, task=email_step)

    done = services.tasks_complete(
        actor=manager, task_ids=list(TransitionTask.objects.open().filter(transition=acme).values_list("pk", flat=True))
    )

    acme.refresh_from_db()
    acme.account.refresh_from_db()
    assert done.runs_completed == 1 and acme.status == TransitionStatus.COMPLETED
    assert acme.account.owner == incoming


def test_steps_already_closed_are_counted_not_redone(manager, outgoing, incoming, dates):
    (acme,) = hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    ids = list(plain_steps(outgoing, acme).values_list("pk", flat=True))
    services.tasks_complete(actor=outgoing, task_ids=ids[:1])

    done = services.tasks_complete(actor=outgoing, task_ids=ids)

    assert (done.done, done.already_closed) == (len(ids) - 1, 1)


def test_bulk_complete_runs_the_same_queries_for_few_or_many_steps(
    manager, outgoing, incoming, dates, django_assert_num_queries
):
    runs = hand_over(manager, outgoing, incoming, [f"Account {n}" for n in range(6)], dates)
    few = list(plain_steps(outgoing, runs[0]).values_list("pk", flat=True))
    with django_assert_num_queries(10) as first:
        services.tasks_complete(actor=outgoing, task_ids=few)
    many = list(plain_steps(outgoing).values_list("pk", flat=True))
    assert len(many) > 3 * len(few)
    with django_assert_num_queries(len(first.captured_queries)):
        services.tasks_complete(actor=outgoing, task_ids=many)


def test_the_task_list_page_runs_the_same_queries_for_few_or_many_steps(
    client, manager, outgoing, incoming, dates, django_assert_num_queries
):
    hand_over(manager, outgoing, incoming, ["Acme Robotics"], dates)
    client.force_login(outgoing)
    client.get(URL)
    with django_assert_num_queries(6) as few:
        client.get(URL)
    hand_over(manager, outgoing, incoming, [f"Account {n}" for n in range(15)], dates)
    with django_assert_num_queries(len(few.captured_queries)):
        page = client.get(URL + "?group=account").content.decode()
    assert page.count("data-group=") == 16
