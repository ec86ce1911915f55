"""Each webhook event, triggered the way Baton triggers it, reaches a real receiver with the documented payload."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.outcomes.services import outcome_record
from accounts.tests.conftest import admin, csm, own_account, team  # noqa: F401
from core import events
from lifecycle.flags.rules import Firing
from lifecycle.flags.services import flag_resolve, flags_sync
from lifecycle.health.facts_query import AccountScope
from lifecycle.stages.services import account_stage_change
from notifications.tests.factories import default_rule
from notifications.tests.webhook_receiver import Receiver, verify
from notifications.webhooks import services
from notifications.webhooks.models import SUBSCRIBABLE_EVENTS, WebhookDelivery, WebhookEvent
from transitions.events import TransitionCompleted
from transitions.models import TransitionStatus
from transitions.tests.factories import TransitionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True
    with Receiver() as server:
        yield server


@pytest.fixture(autouse=True)
def crm_id(own_account):
    own_account.external_id = "CRM-0042"
    own_account.save(update_fields=["external_id"])


@pytest.fixture
def endpoint(admin, receiver):
    return services.webhook_endpoint_create(
        actor=admin, fields={"url": receiver.url, "events": [e.value for e in SUBSCRIBABLE_EVENTS]}
    )


def _only(receiver: Receiver, endpoint, event_type: str) -> dict:
    posts = [r for r in receiver.received if r["json"]["type"] == event_type]
    assert len(posts) == 1, [r["json"]["type"] for r in receiver.received]
    (post,) = posts
    assert verify(endpoint.secret, post["raw"], post["headers"]["Baton-Signature"])
    assert post["headers"]["Baton-Event"] == event_type
    payload = post["json"]
    assert set(payload) == {"id", "type", "created_at", "data"}
    delivery = WebhookDelivery.objects.get(event_type=event_type)
    assert (str(delivery.event_id), delivery.status) == (payload["id"], "succeeded")
    return payload["data"]


def _account(account) -> dict:
    return {
        "id": account.pk,
        "name": account.name,
        "external_id": "CRM-0042",
        "domain": account.domain,
        "stage": account.stage,
        "url": f"http://127.0.0.1:8000/accounts/{account.pk}/",
    }


def _raise(account) -> int:
    rule = default_rule("band_red")
    result = flags_sync(
        firings=[
            Firing(
                rule_id=rule.pk,
                account_id=account.pk,
                severity=rule.severity,
                reason="Health band is red (score 31).",
                values={"score": 31},
            )
        ],
        today=timezone.localdate(),
    )
    (flag_id,) = result.raised_ids
    return flag_id


def test_a_raised_flag(endpoint, receiver, own_account, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        flag_id = _raise(own_account)
    data = _only(receiver, endpoint, "flag.raised")
    rule = default_rule("band_red")
    assert data["account"] == _account(own_account)
    assert data["flag"] | {"raised_at": None} == {
        "id": flag_id,
        "rule": {"id": rule.pk, "name": rule.name, "kind": "band_red"},
        "severity": rule.severity,
        "status": "open",
        "reason": "Health band is red (score 31).",
        "raised_at": None,
        "reopened": False,
    }
    assert dt.datetime.fromisoformat(data["flag"]["raised_at"])


def test_a_resolved_flag(endpoint, receiver, own_account, csm, django_capture_on_commit_callbacks):
    from lifecycle.models import RedFlag

    with django_capture_on_commit_callbacks(execute=True):
        flag_id = _raise(own_account)
    with django_capture_on_commit_callbacks(execute=True):
        flag_resolve(actor=csm, flag=RedFlag.objects.get(pk=flag_id), note="Call held, sponsor reassured.")
    data = _only(receiver, endpoint, "flag.resolved")
    assert data["account"]["id"] == own_account.pk
    assert data["flag"]["id"] == flag_id
    assert data["flag"]["status"] == "resolved"
    assert data["flag"]["resolved_at"]
    assert data["resolved_by"] == {"id": csm.pk, "name": str(csm)}


def test_a_flag_cleared_by_a_live_run(endpoint, receiver, own_account, django_capture_on_commit_callbacks):
    from lifecycle.health.recompute import health_recompute_scope
    from lifecycle.models import RedFlag

    with django_capture_on_commit_callbacks(execute=True):
        flag_id = _raise(own_account)
    # Raised days ago (a flag raised today is left for the day's runs), and the account is not red now.
    RedFlag.objects.filter(pk=flag_id).update(raised_at=timezone.now() - dt.timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        health_recompute_scope(day=timezone.localdate(), scope=AccountScope.of([own_account.pk]))
    data = _only(receiver, endpoint, "flag.cleared")
    assert data["account"] == _account(own_account)
    assert (data["flag"]["id"], data["flag"]["status"]) == (flag_id, "cleared")
    assert data["flag"]["cleared_at"] and data["flag"]["cleared_reason"].endswith("Health band turned red")


def test_a_band_change(endpoint, receiver, own_account, django_capture_on_commit_callbacks):
    from lifecycle.health.recompute import health_recompute_scope
    from lifecycle.models import AccountHealth

    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        health_recompute_scope(day=today, scope=AccountScope.of([own_account.pk]))
    assert not [r for r in receiver.received if r["json"]["type"] == "band.changed"], "a first score is no change"
    band = AccountHealth.objects.get(account=own_account).band
    before = "green" if band != "green" else "red"
    AccountHealth.objects.filter(account=own_account).update(band=before)
    with django_capture_on_commit_callbacks(execute=True):
        health_recompute_scope(day=today, scope=AccountScope.of([own_account.pk]))
    data = _only(receiver, endpoint, "band.changed")
    health = AccountHealth.objects.get(account=own_account)
    assert data == {
        "account": _account(own_account),
        "from_band": before,
        "to_band": band,
        "score": str(health.score),
        "overridden": False,
    }


def test_a_stage_change(endpoint, receiver, own_account, csm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        account_stage_change(actor=csm, account=own_account, to_stage="adoption", reason="Live")
    data = _only(receiver, endpoint, "stage.changed")
    own_account.refresh_from_db()
    assert data == {
        "account": _account(own_account),
        "from_stage": "onboarding",
        "to_stage": "adoption",
        "changed_by": {"id": csm.pk, "name": str(csm)},
    }


def test_a_recorded_outcome(endpoint, receiver, own_account, csm, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        (outcome,) = [
            outcome_record(
                actor=csm,
                account=own_account,
                kind="renewed",
                occurred_on=today,
                term_start=today - dt.timedelta(days=365),
                term_end=today,
                arr_before=Decimal("12000.00"),
                arr_after=Decimal("15000.00"),
                currency="USD",
                source="api",
            )
        ]
    data = _only(receiver, endpoint, "outcome.recorded")
    assert data["account"]["id"] == own_account.pk
    assert data["outcome"] == {
        "id": outcome.pk,
        "kind": "renewed",
        "occurred_on": today.isoformat(),
        "arr_before": "12000.00",
        "arr_after": "15000.00",
        "currency": "USD",
        "reason": "",
        "source": "api",
        "corrects_id": None,
    }


def test_a_completed_transition(endpoint, receiver, own_account, csm, django_capture_on_commit_callbacks):
    # Completing a handover is the transitions app's to test; here, what its announcement becomes.
    transition = TransitionFactory(account=own_account, status=TransitionStatus.COMPLETED, completed_at=timezone.now())
    incoming = transition.to_csm
    with django_capture_on_commit_callbacks(execute=True):
        events.announce(
            TransitionCompleted(
                transition_id=transition.pk, account_id=own_account.pk, kind=transition.kind, to_csm_id=incoming.pk
            )
        )
    data = _only(receiver, endpoint, "transition.completed")
    assert data["account"]["id"] == own_account.pk
    assert data["transition"]["id"] == transition.pk
    assert data["transition"]["kind"] == transition.kind
    assert data["transition"]["from_csm"] == {"id": csm.pk, "name": str(csm)}
    assert data["transition"]["to_csm"] == {"id": incoming.pk, "name": str(incoming)}
    assert data["transition"]["reason"] == "rebalancing"
    assert data["transition"]["completed_at"] == transition.completed_at.isoformat()


def test_a_paused_endpoint_records_the_event_and_waits(
    endpoint, receiver, own_account, csm, admin, django_capture_on_commit_callbacks
):
    services.webhook_endpoint_pause(actor=admin, endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        account_stage_change(actor=csm, account=own_account, to_stage="adoption", reason="Live")
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.event_type) == ("pending", WebhookEvent.STAGE_CHANGED)


def test_no_endpoint_no_work(receiver, own_account, csm, django_capture_on_commit_callbacks, django_assert_num_queries):
    # With nobody subscribed, a handler costs one query (which endpoints) and writes nothing.
    from lifecycle.stages.events import StageChanged
    from notifications.webhooks import handlers

    with django_assert_num_queries(1):
        handlers.stage_changed(StageChanged(account_id=own_account.pk, from_stage="a", to_stage="b", actor_id=None))
    assert not WebhookDelivery.objects.exists()
