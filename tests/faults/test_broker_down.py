"""A write whose task cannot be queued (the broker is down) answers 503 saying so, and its work is not lost.

The integration run does this with a real Redis taken down (test_redis_down.py); here the broker's refusal is
Celery's own exception, raised where the task is sent, so the test runs on every `make test`.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from django.test import RequestFactory
from django.urls import reverse
from kombu.exceptions import OperationalError as BrokerOperationalError

from accounts.tests.factories import AccountFactory
from core.broker import MESSAGE, BrokerUnavailableMiddleware
from transitions import services
from transitions.models import BulkHandover, BulkHandoverStatus, Transition
from transitions.services import bulk as bulk_module
from transitions.tasks import bulk_handover_run
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 6, 2, 12, 0, tzinfo=dt.UTC)


def refused(*args, **kwargs):
    raise BrokerOperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


def test_a_bulk_handover_started_while_the_broker_is_down_answers_503_and_is_sent_again_by_the_sweep(
    client, monkeypatch, manager, outgoing, playbook, dates, django_capture_on_commit_callbacks
):
    monkeypatch.setattr("transitions.views.bulk.INLINE_LIMIT", 1)  # two accounts go to a worker
    book = [AccountFactory(owner=outgoing) for _ in range(2)]
    newcomer = CSMFactory(team=manager.team)
    client.force_login(manager)
    form = {
        "incoming": [newcomer.pk],
        "strategy": "arr",
        "reason": "promotion",
        "playbook": playbook.pk,
        "start_date": dates["start_date"].isoformat(),
        "target_date": dates["target_date"].isoformat(),
        "note": "",
        "account_query": f"owner={outgoing.pk}",
        **{f"assign-{account.pk}": newcomer.pk for account in book},
    }

    with time_machine.travel(NOON, tick=False), monkeypatch.context() as broker_down:
        broker_down.setattr(bulk_handover_run, "delay", refused)
        response = client.post(reverse("bulk-handover-start"), form)

    assert response.status_code == 503 and response["Retry-After"] == "60"
    assert response.content.decode() == MESSAGE
    (bulk,) = BulkHandover.objects.all()
    assert bulk.status == BulkHandoverStatus.QUEUED and bulk.total == 2  # the request is kept...

    with (
        time_machine.travel(NOON + bulk_module.QUEUED_RESEND_AFTER, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.bulk_handovers_sweep()  # ...and started once the broker is back

    bulk.refresh_from_db()
    assert bulk.status == BulkHandoverStatus.DONE
    assert Transition.objects.filter(bulk=bulk, to_csm=newcomer).count() == 2


def test_an_api_call_that_could_not_queue_its_task_gets_a_json_503():
    middleware = BrokerUnavailableMiddleware(lambda request: None)
    request = RequestFactory().post("/api/accounts/import/")

    response = middleware.process_exception(request, BrokerOperationalError("Connection refused."))

    assert response.status_code == 503 and response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"detail": MESSAGE}


def test_other_errors_are_left_to_the_usual_handling():
    middleware = BrokerUnavailableMiddleware(lambda request: None)
    assert middleware.process_exception(RequestFactory().get("/"), RuntimeError("boom")) is None
