"""Who hears about a red flag, what the email says, and deliveries that fail and are retried.

The chat webhook is a real HTTP server on 127.0.0.1 in a thread: the retry path
is exercised over a real socket, not a mock.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from accounts.tests.conftest import (  # noqa: F401
    admin,
    csm,
    manager,
    other_csm,
    other_manager,
    other_team,
    other_team_account,
    own_account,
    pool_account,
    team,
    teammate,
)
from accounts.tests.factories import AccountFactory
from notifications import services
from notifications.models import Delivery, DeliveryStatus, Notification, Subscription
from notifications.tests.factories import RedFlagFactory, SubscriptionFactory, default_rule

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2025, 6, 2, 12, 0, tzinfo=dt.UTC)


class ChatServer:
    """A Slack-style incoming webhook: answers the scripted statuses in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server.received.append({"body": json.loads(body), "content_type": self.headers["Content-Type"]})
                status = server.statuses.pop(0) if server.statuses else 200
                self.send_response(status)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"invalid_payload")

            def log_message(self, *args) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/services/T000/B000/secret"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(autouse=True)
def chat_on_this_machine(settings) -> None:
    # The chat server listens on 127.0.0.1, which Baton refuses to post to unless an admin allows private addresses.
    settings.BATON_WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def chat() -> Iterator[ChatServer]:
    with ChatServer([500]) as server:
        yield server


def notify(flag, capture) -> list[int]:
    with capture(execute=True):
        return services.flags_notify(flag_ids=[flag.pk])


class TestSubscriptionMatching:
    def scope(self, **overrides) -> services.FlagScope:
        values = {"owner_id": 1, "pool_id": None, "team_id": 10, "rule_id": 5, "tier": "high", "severity": "medium"}
        values.update(overrides)
        return services.FlagScope(**values)

    def subscription(self, user, **fields) -> Subscription:
        return Subscription(user=user, **fields)

    def test_mine_matches_my_flags_and_my_pools(self, csm, team):
        mine = self.subscription(csm, scope="mine")
        assert services.subscription_matches(mine, self.scope(owner_id=csm.pk), rule_ids=set())
        assert services.subscription_matches(mine, self.scope(owner_id=None, pool_id=team.pk), rule_ids=set())
        assert not services.subscription_matches(mine, self.scope(owner_id=csm.pk + 100), rule_ids=set())

    def test_team_matches_accounts_of_my_team_only(self, csm, team, other_team):
        ours = self.subscription(csm, scope="team")
        assert services.subscription_matches(ours, self.scope(team_id=team.pk), rule_ids=set())
        assert not services.subscription_matches(ours, self.scope(team_id=other_team.pk), rule_ids=set())

    def test_rule_tier_and_severity_filters_narrow_it(self, csm):
        everything = self.subscription(csm, scope="all", tier="high", min_severity="medium")
        assert services.subscription_matches(everything, self.scope(), rule_ids={5, 6})
        assert not services.subscription_matches(everything, self.scope(), rule_ids={6})
        assert not services.subscription_matches(everything, self.scope(tier="low"), rule_ids=set())
        assert not services.subscription_matches(everything, self.scope(severity="low"), rule_ids=set())
        assert services.subscription_matches(everything, self.scope(severity="critical"), rule_ids=set())


class TestWhoHears:
    def test_the_owner_gets_an_in_app_notification_and_an_email(
        self, csm, own_account, django_capture_on_commit_callbacks
    ):
        flag = RedFlagFactory(account=own_account, reason="Active users down 40%.")
        notify(flag, django_capture_on_commit_callbacks)
        notification = Notification.objects.get()
        assert (notification.recipient, notification.title, notification.body, notification.url) == (
            csm,
            "Red flag: Health band turned red · Acme Robotics",
            "Active users down 40%.",
            f"/accounts/{own_account.pk}/",
        )
        assert Delivery.objects.get().status == DeliveryStatus.SENT

    def test_the_email_says_what_fired_and_links_to_the_account(
        self, csm, own_account, django_capture_on_commit_callbacks, settings
    ):
        settings.BATON_BASE_URL = "https://baton.example.com"
        flag = RedFlagFactory(account=own_account, reason="Health band is red (score 31).")
        notify(flag, django_capture_on_commit_callbacks)
        email = mail.outbox[0]
        assert email.subject == "[Baton] High red flag raised: Health band turned red · Acme Robotics"
        assert email.to == [csm.email]
        assert "Why:        Health band is red (score 31)." in email.body
        assert f"Open the account: https://baton.example.com/accounts/{own_account.pk}/" in email.body
        assert "You get this email because you own this account." in email.body
        html, mimetype = email.alternatives[0]
        assert mimetype == "text/html"
        assert f'<a href="https://baton.example.com/accounts/{own_account.pk}/">Acme Robotics</a>' in html

    def test_subscribers_hear_by_their_filters_and_choose_email(
        self, csm, manager, teammate, other_csm, own_account, django_capture_on_commit_callbacks
    ):
        SubscriptionFactory(user=manager, scope="team", email_each_flag=True)
        SubscriptionFactory(user=teammate, scope="all", email_each_flag=False)
        SubscriptionFactory(user=other_csm, scope="team")  # another team: not theirs
        critical_only = SubscriptionFactory(user=other_csm, scope="all", min_severity="critical")
        usage_only = SubscriptionFactory(user=other_csm, scope="all")
        usage_only.rules.set([default_rule("usage_drop")])
        notify(RedFlagFactory(account=own_account), django_capture_on_commit_callbacks)
        assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"alex", "maria", "sam"}
        assert sorted(m.to[0] for m in mail.outbox) == sorted([csm.email, manager.email])
        assert critical_only.pk and usage_only.pk

    def test_the_team_chat_gets_one_slack_compatible_post(
        self, csm, team, own_account, chat, django_capture_on_commit_callbacks
    ):
        team.chat_webhook_url = chat.url
        team.save()
        chat.statuses = []
        notify(
            RedFlagFactory(account=own_account, reason="Health band is red (score 31)."),
            django_capture_on_commit_callbacks,
        )
        assert len(chat.received) == 1
        text = chat.received[0]["body"]["text"]
        assert chat.received[0]["content_type"] == "application/json"
        assert "*High* red flag raised on <http://127.0.0.1:8000/accounts/" in text
        assert "|Acme Robotics>: Health band turned red\nHealth band is red (score 31).\nCovered by Alex Ward." in text

    def test_notifying_twice_notifies_once(self, csm, own_account, django_capture_on_commit_callbacks):
        flag = RedFlagFactory(account=own_account)
        notify(flag, django_capture_on_commit_callbacks)
        assert notify(flag, django_capture_on_commit_callbacks) == []
        assert Notification.objects.count() == 1 and Delivery.objects.count() == 1 and len(mail.outbox) == 1

    def test_a_flag_acted_on_before_the_task_ran_is_not_announced(
        self, csm, own_account, django_capture_on_commit_callbacks
    ):
        flag = RedFlagFactory(account=own_account, status="acknowledged")
        assert notify(flag, django_capture_on_commit_callbacks) == []
        assert not Notification.objects.exists()


class TestDeliveries:
    def test_a_webhook_that_fails_is_retried_after_backoff_and_then_sent(
        self, csm, team, own_account, chat, django_capture_on_commit_callbacks
    ):
        team.chat_webhook_url = chat.url
        team.save()
        with time_machine.travel(NOON, tick=False):
            notify(RedFlagFactory(account=own_account), django_capture_on_commit_callbacks)
        webhook = Delivery.objects.get(channel="webhook")
        assert (webhook.status, webhook.attempts) == ("pending", 1)
        assert webhook.last_error == "HTTP 500 Internal Server Error: invalid_payload"
        assert webhook.next_attempt_at == NOON + dt.timedelta(seconds=60)
        # not due yet: the sweep leaves it alone
        with time_machine.travel(NOON + dt.timedelta(seconds=59), tick=False):
            assert services.deliveries_retry_due() == {}
        with time_machine.travel(NOON + dt.timedelta(seconds=61), tick=False):
            assert services.deliveries_retry_due() == {"sent": 1}
        webhook.refresh_from_db()
        assert (webhook.status, webhook.attempts, webhook.last_error) == ("sent", 2, "")
        assert len(chat.received) == 2 and chat.received[0] == chat.received[1]

    def test_a_delivery_that_keeps_failing_ends_failed_and_visible(
        self, csm, own_account, django_capture_on_commit_callbacks
    ):
        delivery = Delivery.objects.create(
            channel="webhook", target="http://127.0.0.1:9/nothing-listens", body='{"text": "x"}', key="k1"
        )
        at = timezone.now()
        for attempt in range(1, Delivery.MAX_ATTEMPTS + 1):
            with time_machine.travel(at, tick=False):
                status = services.delivery_attempt(delivery_id=delivery.pk)
            delivery.refresh_from_db()
            assert delivery.attempts == attempt
            at = delivery.next_attempt_at + dt.timedelta(seconds=1)
        assert status == "failed" and delivery.status == "failed"
        assert delivery.last_error.startswith("Could not reach the webhook")
        assert list(Delivery.objects.failed()) == [delivery]
        # a failed delivery is never picked up again by the sweep
        with time_machine.travel(at + dt.timedelta(days=1), tick=False):
            assert services.deliveries_retry_due() == {}

    def test_an_admin_retry_gives_a_failed_delivery_fresh_attempts(
        self, admin, csm, django_capture_on_commit_callbacks, chat
    ):
        chat.statuses = []
        delivery = Delivery.objects.create(
            channel="webhook", target=chat.url, body='{"text": "x"}', key="k2", status="failed", attempts=6
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.delivery_retry(actor=admin, delivery=delivery)
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("sent", 1)
        with pytest.raises(services.ValidationError, match="Only admins"):
            services.delivery_retry(actor=csm, delivery=delivery)

    def test_a_failing_mail_server_is_recorded_not_lost(
        self, csm, own_account, settings, django_capture_on_commit_callbacks
    ):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
        notify(RedFlagFactory(account=own_account), django_capture_on_commit_callbacks)
        email = Delivery.objects.get(channel="email")
        assert (email.status, email.attempts) == ("pending", 1)
        assert "ConnectionRefusedError" in email.last_error


class TestDigest:
    def test_a_digest_lists_new_matching_flags_once_a_day(
        self, csm, manager, own_account, django_capture_on_commit_callbacks
    ):
        SubscriptionFactory(user=manager, scope="team", daily_digest=True, email_each_flag=False)
        with time_machine.travel(NOON, tick=False):
            RedFlagFactory(account=own_account, reason="Health band is red (score 31).")
            RedFlagFactory(account=AccountFactory(name="Elsewhere Ltd"), rule=default_rule("usage_drop"))
        with time_machine.travel(NOON + dt.timedelta(hours=19), tick=False):
            with django_capture_on_commit_callbacks(execute=True):
                services.digests_queue()
            with django_capture_on_commit_callbacks(execute=True):
                assert services.digests_queue() == []
        assert len(mail.outbox) == 1
        digest = mail.outbox[0]
        assert digest.to == [manager.email]
        assert digest.subject == "[Baton] Your day: 1 new red flag · 3 Jun"
        assert "- [High] Acme Robotics: Health band turned red\n  Health band is red (score 31)." in digest.body
        assert "Elsewhere Ltd" not in digest.body

    def test_nobody_gets_an_empty_digest(self, manager, django_capture_on_commit_callbacks):
        SubscriptionFactory(user=manager, scope="team", daily_digest=True)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.digests_queue() == []
        assert mail.outbox == []
