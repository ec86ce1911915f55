import pytest
from django.urls import reverse

from accounts.tests.factories import AccountFactory
from plans.models import SuccessPlan
from plans.selectors import account_plans
from plans.services import achievement_record, objective_create, plan_create

pytestmark = pytest.mark.django_db


def test_the_owner_creates_a_plan_from_the_account_and_a_stranger_cannot(client):
    account = AccountFactory(name="Acme")
    client.force_login(account.owner)
    response = client.post(
        reverse("plan-create", args=[account.pk]),
        {"name": "FY27", "scope": "account", "status": "active"},
    )
    plan = SuccessPlan.objects.get()
    assert response.status_code == 302 and plan.account == account
    assert account.timeline.filter(event="plan_created").exists()

    stranger = AccountFactory().owner
    client.force_login(stranger)
    assert (
        client.post(
            reverse("plan-create", args=[account.pk]),
            {"name": "Mine", "scope": "account", "status": "active"},
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("objective-create", args=[plan.pk]),
            {"title": "X", "status": "on_track"},
        ).status_code
        == 403
    )
    assert SuccessPlan.objects.count() == 1


def test_a_department_plan_must_say_which_department(client):
    account = AccountFactory()
    client.force_login(account.owner)
    response = client.post(
        reverse("plan-create", args=[account.pk]),
        {"name": "Ops", "scope": "department", "status": "active"},
    )
    assert response.status_code == 422 and "Say which" in response.content.decode()
    assert not SuccessPlan.objects.exists()


def test_account_plans_reads_plans_objectives_and_achievements_in_three_queries(
    django_assert_num_queries,
):
    account = AccountFactory()
    for name in ("A", "B"):
        plan = plan_create(actor=account.owner, account=account, fields={"name": name})
        objective = objective_create(
            actor=account.owner,
            plan=plan,
            fields={
                "title": "WAU",
                "baseline": 10,
                "target": 30,
                "current_value": 20,
                "owner": account.owner,
            },
        )
        achievement_record(
            actor=account.owner,
            plan=plan,
            title="Live",
            achieved_on=plan.created_at.date(),
            objective=objective,
        )
    with django_assert_num_queries(3):
        plans = account_plans(account)
        assert [o.owner for p in plans for o in p.objectives.all()] == [account.owner] * 2
        assert sum(len(p.achievements.all()) for p in plans) == 2
    assert plans[0].objectives.all()[0].progress_percent == 50


def test_an_objective_or_plan_edit_that_does_not_validate_is_refused_and_keeps_what_was_typed(client):
    account = AccountFactory()
    plan = plan_create(actor=account.owner, account=account, fields={"name": "Expansion"})
    client.force_login(account.owner)

    response = client.post(
        reverse("objective-create", args=[plan.pk]), {"title": "", "metric": "Seats live in the EU team"}
    )
    assert response.status_code == 422
    assert "Seats live in the EU team" in response.content.decode()
    assert not plan.objectives.exists()

    response = client.post(reverse("plan-edit", args=[plan.pk]), {"name": "", "status": "active"})
    assert response.status_code == 422
    plan.refresh_from_db()
    assert plan.name == "Expansion"
