"""Redis down (integration run): pages keep serving, a write that queues a task still succeeds or answers 503
saying so, and the work queued meanwhile is not lost: it is done once Redis is back.

Redis here is a server of the test's own (the machine's shared one is never stopped): the web server (gunicorn)
and, later, a Celery worker point at it; the test kills it mid-way and starts it again, empty, as a crash would
leave it. PostgreSQL is the integration run's test database, shared with both processes.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings

import pytest
from celery.exceptions import AlwaysEagerIgnored
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory, ContactFactory
from csm.celery import app
from notifications.models import Delivery, DeliveryStatus
from tests.faults.processes import Browser, RedisServer, process_environment, start_web, start_worker
from tests.support import database_url, wait_until
from transitions.models import BulkHandover, BulkHandoverStatus, OutboundEmail, OutboundEmailStatus, Transition
from transitions.services import transition_start
from transitions.tests.conftest import ensure_default_playbooks
from transitions.views.bulk import INLINE_LIMIT
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw"


def send(broker_url: str, task: str) -> None:
    """What beat does: send a task by name, here to the test's own broker (never run in this process)."""
    with app.connection_for_write(broker_url) as conn, warnings.catch_warnings():
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        app.send_task(task, connection=conn)


def test_with_redis_down_pages_serve_writes_succeed_or_answer_503_and_the_work_is_done_once_it_is_back(tmp_path):
    playbook = ensure_default_playbooks()
    team = TeamFactory()
    manager = ManagerFactory(team=team, password=PASSWORD)
    outgoing, incoming = CSMFactory(team=team), CSMFactory(team=team, password=PASSWORD)
    account = AccountFactory(name="Acme Robotics", owner=outgoing)
    dana = ContactFactory(account=account, first_name="Dana", email="dana@acme.example")
    today = timezone.localdate()
    transition = transition_start(
        actor=manager,
        account=account,
        to_csm=incoming,
        reason="rebalancing",
        start_date=today,
        target_date=today + dt.timedelta(days=14),
    )
    step = transition.tasks.get(position=1)
    book = AccountFactory.create_batch(INLINE_LIMIT + 1, owner=outgoing)  # a bulk run large enough for a worker

    redis = RedisServer().start()
    env = process_environment(
        DJANGO_SETTINGS_MODULE="tests.faults.process_settings",
        DATABASE_URL=database_url(connection.settings_dict),
        CELERY_BROKER_URL=redis.url,
    )
    web, base = start_web(env, tmp_path / "web.log")
    worker = None
    try:
        csm, boss = Browser(base), Browser(base)
        csm.sign_in(incoming.username, PASSWORD)
        boss.sign_in(manager.username, PASSWORD)

        redis.kill()

        # Reading pages never needs the broker.
        started = time.monotonic()
        cockpit = csm.get(reverse("cockpit"))
        assert cockpit.status == 200 and time.monotonic() - started < 10
        assert csm.get(reverse("transition-detail", args=[transition.pk])).status == 200

        # Sending the step's email: saved, step done; sending it waits in the outbox for the broker.
        sent = csm.post(
            reverse("transition-task-email", args=[step.pk]),
            {"contacts": [dana.pk], "subject": "Your new CSM", "body": "Hi {contact_first_name}", "call_date": ""},
        )
        assert sent.status == 302, web.tail()
        email = OutboundEmail.objects.get(task=step)
        assert email.status == OutboundEmailStatus.QUEUED
        assert Delivery.objects.get(outbound_email=email).status == DeliveryStatus.PENDING

        # A bulk handover for a worker: the request is kept, and the answer says the queue is unreachable.
        started_bulk = boss.post(
            reverse("bulk-handover-start"),
            {
                "incoming": [incoming.pk],
                "strategy": "arr",
                "reason": "promotion",
                "playbook": playbook.pk,
                "start_date": today.isoformat(),
                "target_date": (today + dt.timedelta(days=14)).isoformat(),
                "note": "",
                "account_query": f"owner={outgoing.pk}",
                **{f"assign-{a.pk}": incoming.pk for a in book},
            },
        )
        assert started_bulk.status == 503, web.tail()
        assert "task queue cannot be reached" in started_bulk.body and started_bulk.headers["Retry-After"] == "60"
        bulk = BulkHandover.objects.get()
        assert bulk.status == BulkHandoverStatus.QUEUED
        assert "Could not queue a task for POST /transitions/bulk/start/" in web.log.read_text()

        # Redis is back (empty: what it held is gone). A worker starts; beat's sweeps come round.
        redis.start()
        worker = start_worker(env, tmp_path / "worker.log")
        BulkHandover.objects.filter(pk=bulk.pk).update(created_at=timezone.now() - dt.timedelta(minutes=3))
        send(redis.url, "notifications.tasks.deliveries_retry_due")
        send(redis.url, "transitions.tasks.bulk_handovers_sweep")

        def caught_up() -> bool:
            email.refresh_from_db()
            bulk.refresh_from_db()
            return email.status == OutboundEmailStatus.SENT and bulk.status == BulkHandoverStatus.DONE

        wait_until(caught_up, timeout=60, message=f"the work was not done\n{worker.tail()}")
        assert Transition.objects.filter(bulk=bulk).count() == INLINE_LIMIT + 1
        assert csm.get(reverse("cockpit")).status == 200
    finally:
        web.stop()
        if worker is not None:
            worker.stop()
        redis.kill()
