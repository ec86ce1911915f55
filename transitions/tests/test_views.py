import datetime as dt
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory, ContactFactory
from transitions import services
from transitions.models import (
    BulkHandover,
    OutboundEmail,
    TaskStatus,
    Transition,
    TransitionReason,
    TransitionStatus,
)
from transitions.selectors import account_active_transition, tasks_for_cockpit
from users.tests.factories import AdminFactory, CSMFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def transition(manager, account, incoming, dates):
    return services.transition_start(
        actor=manager,
        account=account,
        to_csm=incoming,
        reason=TransitionReason.REBALANCING,
        **dates,
    )


def many_transitions(manager, outgoing, n):
    book = [AccountFactory(owner=outgoing) for _ in range(n)]
    others = [CSMFactory(team=manager.team) for _ in range(3)]
    from transitions.models import Playbook

    services.transition_bulk_start(
        actor=manager,
        assignments=[(a.pk, others[i % 3].pk) for i, a in enumerate(book)],
        playbook=Playbook.objects.get(kind="handover", is_default=True),
        reason=TransitionReason.ATTRITION,
        start_date=timezone.localdate(),
        target_date=timezone.localdate(),
    )


def test_the_board_query_count_does_not_grow_with_transitions(client, manager, outgoing, django_assert_num_queries):
    many_transitions(manager, outgoing, 3)
    client.force_login(manager)
    client.get(reverse("transition-board"))
    with django_assert_num_queries(12) as few:
        client.get(reverse("transition-board"))
    many_transitions(manager, CSMFactory(team=manager.team), 30)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse("transition-board") + "?group=to")
    assert response.status_code == 200
    assert response.content.decode().count('data-transition="') == 33


def test_the_board_filters_by_status_and_groups_by_outgoing_csm(client, manager, transition, outgoing):
    client.force_login(manager)
    page = client.get(reverse("transition-board")).content.decode()
    assert "Acme Robotics" in page and f"From {outgoing}" in page
    completed = client.get(reverse("transition-board") + "?status=completed").content.decode()
    assert "Acme Robotics" not in completed


def test_only_managers_and_admins_are_offered_the_bulk_handover_on_the_board(client, manager, outgoing):
    bulk = reverse("bulk-handover-new")
    client.force_login(outgoing)
    assert bulk not in client.get(reverse("transition-board")).content.decode()
    client.force_login(manager)
    assert bulk in client.get(reverse("transition-board")).content.decode()


def test_the_transition_page_shows_steps_readiness_and_only_the_viewers_actions(
    client, transition, incoming, outgoing, django_assert_max_num_queries
):
    client.force_login(incoming)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("transition-detail", args=[transition.pk])).content.decode()
    assert "Notify the customer" in page and "Context readiness" in page
    assert "Write the email" in page
    assert page.count("Mark done") == 2  # the call and the confirmation; the email step is sent, not ticked
    assert "Cancel handover" not in page


def test_a_csm_completes_their_step_from_the_page_but_not_someone_elses(client, transition, incoming, outgoing):
    mine = transition.tasks.get(position=6)
    theirs = transition.tasks.get(position=2)
    client.force_login(incoming)
    assert client.post(reverse("transition-task-complete", args=[theirs.pk])).status_code == 403
    response = client.post(reverse("transition-task-complete", args=[mine.pk]), {"action": "done"})
    assert response.status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.status == TaskStatus.DONE and theirs.status == TaskStatus.OPEN


def test_a_csm_cannot_cancel_or_start_a_handover_from_the_pages(client, transition, outgoing, account):
    client.force_login(outgoing)
    assert client.post(reverse("transition-cancel", args=[transition.pk]), {"reason": "no"}).status_code == 403
    assert client.get(reverse("transition-new", args=[account.pk])).status_code == 403
    assert client.get(reverse("bulk-handover-new")).status_code == 403
    transition.refresh_from_db()
    assert transition.status == TransitionStatus.IN_PROGRESS


def test_a_manager_cancels_from_the_page(client, manager, transition, outgoing):
    client.force_login(manager)
    client.post(reverse("transition-cancel", args=[transition.pk]), {"reason": "Alex stays"})
    transition.refresh_from_db()
    assert transition.status == TransitionStatus.CANCELLED
    page = client.get(reverse("transition-detail", args=[transition.pk])).content.decode()
    assert "Ownership did not change" in page


def test_the_email_page_renders_the_email_per_contact_and_sends_it(
    client, transition, incoming, account, django_capture_on_commit_callbacks
):
    dana = ContactFactory(account=account, first_name="Dana", deal_role="champion")
    task = transition.tasks.get(position=1)
    client.force_login(incoming)
    page = client.get(reverse("transition-task-email", args=[task.pk])).content.decode()
    assert "Hi Dana," in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("transition-task-email", args=[task.pk]),
            {
                "contacts": [dana.pk],
                "subject": "Hello from {incoming_csm}",
                "body": "Hi {contact_first_name}, it's me.",
            },
        )
    assert response.status_code == 302
    assert mail.outbox[0].subject == "Hello from Sam Sato"
    assert mail.outbox[0].body == "Hi Dana, it's me."
    assert OutboundEmail.objects.get().status == "sent"


def test_the_transition_page_shows_an_email_retrying_then_failed_and_its_retry_button_sends_it(
    client, transition, incoming, account, django_capture_on_commit_callbacks
):
    dana = ContactFactory(account=account, first_name="Dana")
    with django_capture_on_commit_callbacks():  # not handed to the sender: the test reports the outcomes
        (email,) = services.task_email_send(
            actor=incoming, task=transition.tasks.get(position=1), contacts=[dana], subject="Hi", body="Hello"
        )
    retry = reverse("outbound-email-retry", args=[email.pk])
    client.force_login(incoming)

    services.outbound_email_mark_failed(email_id=email.pk, error="SMTP server refused the connection", will_retry=True)
    page = client.get(reverse("transition-detail", args=[transition.pk])).content.decode()
    assert "Retrying automatically; last attempt: SMTP server refused the connection" in page
    assert retry not in page

    services.outbound_email_mark_failed(email_id=email.pk, error="SMTP server refused the connection", will_retry=False)
    page = client.get(reverse("transition-detail", args=[transition.pk])).content.decode()
    assert 'data-status="failed"' in page and "2 attempts" in page and retry in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(retry)
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.status == "sent" and mail.outbox[0].to == [dana.email]


def test_the_email_page_refuses_a_bad_placeholder_and_sends_nothing(client, transition, incoming, account):
    dana = ContactFactory(account=account)
    task = transition.tasks.get(position=1)
    client.force_login(incoming)
    response = client.post(
        reverse("transition-task-email", args=[task.pk]),
        {"contacts": [dana.pk], "subject": "Hi", "body": "Hi {frist_name}"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Unknown placeholder" in page and "Hi {frist_name}" in page
    assert not OutboundEmail.objects.exists()


def test_bulk_preview_splits_by_arr_and_start_is_all_or_nothing(client, manager, outgoing, playbook, dates):
    book = [AccountFactory(owner=outgoing, arr=arr) for arr in (90000, 50000, 40000, 10000)]
    a, b = CSMFactory(team=manager.team), CSMFactory(team=manager.team)
    client.force_login(manager)
    settings = {
        "incoming": [a.pk, b.pk],
        "strategy": "arr",
        "reason": "promotion",
        "playbook": playbook.pk,
        "start_date": dates["start_date"].isoformat(),
        "target_date": dates["target_date"].isoformat(),
        "note": "",
        "account_query": f"owner={outgoing.pk}",
    }
    preview = client.post(reverse("bulk-handover-preview"), settings)
    assert preview.status_code == 200
    rows = {r["account"].pk: r["to"] for r in preview.context["rows"]}
    assert rows[book[0].pk] != rows[book[1].pk] and rows[book[1].pk] == rows[book[2].pk]
    assert {t["arr"] for t in preview.context["totals"]} == {100000, 90000}

    services.transition_start(actor=manager, account=book[3], to_csm=b, reason="reorg", **dates)
    assignments = {f"assign-{pk}": to for pk, to in rows.items()}
    response = client.post(reverse("bulk-handover-start"), {**settings, **assignments})
    assert response.status_code == 409
    assert "Nothing was started" in response.content.decode() and book[3].name in response.content.decode()
    assert Transition.objects.count() == 1

    Transition.objects.all().delete()
    response = client.post(reverse("bulk-handover-start"), {**settings, **assignments})
    assert response.status_code == 302
    assert Transition.objects.count() == 4
    assert BulkHandover.objects.latest("pk").status == "done"


@pytest.mark.parametrize("days, said", [(1, "Renews in 1 day"), (2, "Renews in 2 days")])
def test_the_bulk_preview_warns_of_a_near_renewal_in_days_counted_in_english(
    client, manager, outgoing, playbook, dates, days, said
):
    AccountFactory(owner=outgoing, renewal_date=timezone.localdate() + dt.timedelta(days=days))
    client.force_login(manager)
    preview = client.post(
        reverse("bulk-handover-preview"),
        {
            "incoming": [CSMFactory(team=manager.team).pk],
            "strategy": "arr",
            "reason": "promotion",
            "playbook": playbook.pk,
            "start_date": dates["start_date"].isoformat(),
            "target_date": dates["target_date"].isoformat(),
            "note": "",
            "account_query": f"owner={outgoing.pk}",
        },
    )
    (row,) = preview.context["rows"]
    assert row["warnings"] == [said]
    assert f"⚠ {said}<" in preview.content.decode()


@pytest.mark.parametrize(("n", "said"), [(1, "1 account"), (2, "2 accounts")])
def test_a_bulk_handover_counts_its_accounts_in_english_on_the_preview_and_its_page(
    client, manager, outgoing, incoming, playbook, dates, n, said
):
    book = [AccountFactory(owner=outgoing) for _ in range(n)]
    client.force_login(manager)
    preview = client.post(
        reverse("bulk-handover-preview"),
        {
            "incoming": [incoming.pk],
            "strategy": "arr",
            "reason": "promotion",
            "playbook": playbook.pk,
            "start_date": dates["start_date"].isoformat(),
            "target_date": dates["target_date"].isoformat(),
            "note": "",
            "account_query": f"owner={outgoing.pk}",
        },
    )
    assert f'<div class="text-muted">{said} · ARR' in preview.content.decode()

    bulk = services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in book],
        playbook=playbook,
        reason=TransitionReason.REORG,
        **dates,
    )
    assert str(bulk) == f"Bulk handover #{bulk.pk} ({said})"
    page = client.get(reverse("bulk-handover-detail", args=[bulk.pk])).content.decode()
    assert f'<div class="text-muted">{said} · {playbook.name} · ' in page


def test_the_brief_and_the_playbook_pages_render(client, manager, transition, account):
    client.force_login(manager)
    brief = client.get(reverse("handover-brief", args=[account.pk])).content.decode()
    assert "Handover brief: Acme Robotics" in brief and "Why they bought" in brief
    assert client.get(reverse("playbook-list")).status_code == 200
    assert client.get(reverse("playbook-edit", args=[transition.playbook_id])).status_code == 403


def test_the_brief_indents_each_stakeholder_one_level_per_manager_and_no_deeper_than_twelve(client, manager, account):
    boss = ContactFactory(account=account, first_name="Level", last_name="0")
    for level in range(1, 15):
        boss = ContactFactory(account=account, first_name="Level", last_name=str(level), reports_to=boss)
    client.force_login(manager)

    brief = client.get(reverse("handover-brief", args=[account.pk])).content.decode()

    # Classes from static/css/baton.css, as on the Account 360: the Content Security Policy forbids style attributes.
    indents = re.findall(r'class="py-1 border-bottom border-light (indent-\d+)"', brief)
    assert indents == [f"indent-{level}" for level in range(13)] + ["indent-12", "indent-12"]


def test_cockpit_tasks_due_the_same_day_stay_grouped_by_handover_in_playbook_order(
    manager, outgoing, incoming, dates, django_assert_num_queries
):
    zeta, acme = (AccountFactory(name=name, owner=outgoing) for name in ("Zeta Mills", "Acme Robotics"))
    for account in (zeta, acme):
        services.transition_start(
            actor=manager, account=account, to_csm=incoming, reason=TransitionReason.REBALANCING, **dates
        )

    with django_assert_num_queries(2):
        listed = tasks_for_cockpit(incoming, limit=50).tasks

    assert listed == sorted(listed, key=lambda task: (task.due_date, task.transition_id, task.position))
    first_due = [task for task in listed if task.due_date == listed[0].due_date]
    # Zeta's handover was started first, so its tasks lead, though Acme sorts first by name.
    assert {task.transition.account.name for task in first_due} == {"Zeta Mills", "Acme Robotics"}
    assert first_due[0].transition.account.name == "Zeta Mills"
    assert [task.position for task in first_due if task.transition.account == zeta] == sorted(
        task.position for task in first_due if task.transition.account == zeta
    )


def test_partials_for_the_360_and_the_cockpit_use_fixed_queries(
    manager, account, transition, incoming, django_assert_num_queries
):
    with django_assert_num_queries(1):
        active = account_active_transition(account)
    assert active.pk == transition.pk and active.percent_complete == 0
    with django_assert_num_queries(2):
        mine = tasks_for_cockpit(incoming)
    assert mine.open_count == 3 and [t.title for t in mine.tasks][0] == "Notify the customer"


# --- invalid forms answer 422 with what was typed and why, in place ---------------------------------------------


def test_starting_a_handover_with_the_dates_the_wrong_way_round_answers_422_with_the_form_as_typed(
    client, manager, account, incoming, playbook, dates
):
    client.force_login(manager)
    response = client.post(
        reverse("transition-new", args=[account.pk]),
        {
            "to_csm": incoming.pk,
            "reason": TransitionReason.REBALANCING,
            "playbook": playbook.pk,
            "start_date": dates["target_date"].isoformat(),
            "target_date": dates["start_date"].isoformat(),
            "note": "Sam knows the robotics vertical",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The target date cannot be before the start date." in page
    assert "Sam knows the robotics vertical" in page and dates["target_date"].isoformat() in page
    assert not Transition.objects.exists()


def test_a_cancel_that_fails_answers_422_on_the_page_with_the_reason_as_typed(client, manager, transition):
    client.force_login(manager)
    services.transition_cancel(actor=manager, transition=transition, reason="First time")
    response = client.post(reverse("transition-cancel", args=[transition.pk]), {"reason": "Alex stays after all"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "This handover is already cancelled." in page and "Alex stays after all" in page

    blank = client.post(reverse("transition-cancel", args=[transition.pk]), {"reason": ""})
    assert blank.status_code == 422 and "This field is required." in blank.content.decode()


def test_a_reschedule_before_the_start_answers_422_on_the_page_with_the_date_as_typed(
    client, manager, transition, dates
):
    client.force_login(manager)
    too_early = dates["start_date"] - dt.timedelta(days=3)
    response = client.post(
        reverse("transition-reschedule", args=[transition.pk]), {"target_date": too_early.isoformat()}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "The target date cannot be before the start date." in page
    assert f'value="{too_early.isoformat()}"' in page
    transition.refresh_from_db()
    assert transition.target_date == dates["target_date"]


def test_an_invalid_playbook_answers_422_with_what_was_typed(client):
    client.force_login(AdminFactory())
    response = client.post(
        reverse("playbook-create"),
        {
            "name": "",
            "kind": "handover",
            "description": "For the enterprise book",
            "steps-TOTAL_FORMS": "1",
            "steps-INITIAL_FORMS": "0",
            "steps-0-title": "Call the champion",
            "steps-0-assignee_role": "incoming",
            "steps-0-due_offset_days": "2",
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "This field is required." in page
    assert "For the enterprise book" in page and "Call the champion" in page


def test_bulk_settings_that_do_not_validate_come_back_on_step_one_with_422_and_what_was_typed(
    client, manager, outgoing, playbook, dates
):
    AccountFactory(owner=outgoing)
    client.force_login(manager)
    settings = {
        "strategy": "arr",
        "reason": "promotion",
        "playbook": playbook.pk,
        "start_date": dates["start_date"].isoformat(),
        "target_date": dates["target_date"].isoformat(),
        "note": "Alex moves to the new team",
        "account_query": f"owner={outgoing.pk}",
    }
    response = client.post(reverse("bulk-handover-preview"), settings)  # nobody chosen to take the book
    assert response.status_code == 422
    page = response.content.decode()
    assert "This field is required." in page and "Alex moves to the new team" in page
    assert 'id="selected-count">1<' in page

    newcomer = CSMFactory(team=manager.team)
    nobody = client.post(  # the book of someone who has none
        reverse("bulk-handover-preview"),
        {**settings, "incoming": [newcomer.pk], "account_query": f"owner={newcomer.pk}"},
    )
    assert nobody.status_code == 422
    assert "No accounts match that selection." in nobody.content.decode()


def test_a_bulk_start_giving_an_account_to_someone_not_chosen_answers_422_on_the_preview(
    client, manager, outgoing, playbook, dates
):
    account = AccountFactory(owner=outgoing)
    chosen, stranger = CSMFactory(team=manager.team), CSMFactory(team=manager.team)
    client.force_login(manager)
    response = client.post(
        reverse("bulk-handover-start"),
        {
            "incoming": [chosen.pk],
            "strategy": "arr",
            "reason": "promotion",
            "playbook": playbook.pk,
            "start_date": dates["start_date"].isoformat(),
            "target_date": dates["target_date"].isoformat(),
            "note": "",
            "account_query": f"owner={outgoing.pk}",
            f"assign-{account.pk}": stranger.pk,
        },
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Every account must go to one of the chosen incoming CSMs." in page and account.name in page
    assert not Transition.objects.exists()
