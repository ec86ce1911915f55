import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.tests.factories import AccountFactory
from transitions import services
from transitions.models import Playbook, TaskStatus, Transition, TransitionReason
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def payload(assignments, dates):
    return {
        "assignments": [{"account": a, "to_csm": u} for a, u in assignments],
        "reason": "attrition",
        "start_date": dates["start_date"].isoformat(),
        "target_date": dates["target_date"].isoformat(),
    }


def test_bulk_start_over_the_api_is_all_or_nothing_with_a_409_naming_the_conflict(
    manager, outgoing, incoming, dates, playbook
):
    book = [AccountFactory(owner=outgoing) for _ in range(4)]
    services.transition_start(
        actor=manager,
        account=book[2],
        to_csm=incoming,
        reason=TransitionReason.REORG,
        **dates,
    )
    url = reverse("api:transition-bulk-start")

    response = api(manager).post(url, payload([(a.pk, incoming.pk) for a in book], dates), format="json")
    assert response.status_code == 409
    assert response.json()["conflicting_accounts"] == [book[2].pk]
    assert Transition.objects.count() == 1

    response = api(manager).post(
        url,
        payload([(a.pk, incoming.pk) for a in book if a != book[2]], dates),
        format="json",
    )
    assert response.status_code == 201
    assert len(response.json()) == 3 and all(row["tasks_total"] == 7 for row in response.json())


def test_a_csm_cannot_start_or_cancel_over_the_api(outgoing, incoming, manager, account, dates, playbook):
    response = api(outgoing).post(
        reverse("api:transition-bulk-start"),
        payload([(account.pk, incoming.pk)], dates),
        format="json",
    )
    assert response.status_code == 403
    transition = services.transition_start(actor=manager, account=account, to_csm=incoming, reason="reorg", **dates)
    response = api(outgoing).post(
        reverse("api:transition-cancel", args=[transition.pk]),
        {"reason": "no"},
        format="json",
    )
    assert response.status_code == 403
    transition.refresh_from_db()
    assert transition.is_active


def test_a_csm_completes_only_their_own_task_over_the_api(manager, account, outgoing, incoming, dates, playbook):
    transition = services.transition_start(actor=manager, account=account, to_csm=incoming, reason="reorg", **dates)
    theirs, mine = transition.tasks.get(position=2), transition.tasks.get(position=6)
    assert api(incoming).post(reverse("api:transition-task-complete", args=[theirs.pk])).status_code == 403
    response = api(incoming).post(reverse("api:transition-task-complete", args=[mine.pk]))
    assert response.status_code == 200 and response.json()["status"] == TaskStatus.DONE


def test_listing_transitions_and_my_tasks_uses_fixed_queries(
    manager, outgoing, incoming, dates, playbook, django_assert_num_queries
):
    for _ in range(5):
        services.transition_start(
            actor=manager,
            account=AccountFactory(owner=outgoing),
            to_csm=incoming,
            reason="reorg",
            **dates,
        )
    client = api(incoming)
    with django_assert_num_queries(2):
        response = client.get(reverse("api:transition-list"))
    assert response.json()["count"] == 5
    with django_assert_num_queries(2):
        response = client.get(reverse("api:transition-task-list") + "?mine=true&status=open")
    assert response.json()["count"] == 15


def test_only_admins_write_playbooks_over_the_api(manager, playbook):
    response = api(manager).patch(
        reverse("api:playbook-detail", args=[playbook.pk]),
        {"name": "Mine"},
        format="json",
    )
    assert response.status_code == 403
    playbook.refresh_from_db()
    assert playbook.name == "Default handover" and playbook.version == 1


def test_an_admin_creates_a_playbook_over_the_api_and_a_new_default_demotes_the_old_one(playbook):
    admin = AdminFactory()
    url = reverse("api:playbook-list")
    steps = [{"title": "Call the champion", "assignee_role": "incoming", "due_offset_days": 3}]

    plain = api(admin).post(url, {"name": "Leave cover", "kind": "handover", "steps": steps}, format="json")
    default = api(admin).post(
        url, {"name": "Attrition", "kind": "handover", "is_default": True, "steps": steps}, format="json"
    )

    assert plain.status_code == 201, plain.json()
    assert default.status_code == 201, default.json()
    playbook.refresh_from_db()
    assert not playbook.is_default
    assert Playbook.objects.get(name="Attrition").is_default
    assert not Playbook.objects.get(name="Leave cover").is_default
