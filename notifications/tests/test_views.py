"""The bell, the notifications page, subscriptions (page and API), and the failed-deliveries page."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.conftest import (  # noqa: F401
    admin,
    api,
    csm,
    manager,
    other_csm,
    other_team,
    own_account,
    team,
)
from notifications.models import Delivery, Notification, Subscription
from notifications.tests.factories import SubscriptionFactory, default_rule
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db


def note(user, n: int = 1, **fields) -> list[Notification]:
    return Notification.objects.bulk_create(
        [
            Notification(recipient=user, kind="flag_raised", title=f"Red flag {i}", key=f"k{i}", **fields)
            for i in range(n)
        ]
    )


class TestBell:
    def test_the_navbar_bell_shows_my_unread_count(self, client, csm, other_csm):
        first, _, _ = note(csm, 3)
        Notification.objects.filter(pk=first.pk).update(read_at=timezone.now())
        note(other_csm, 5)
        client.force_login(csm)
        page = client.get(reverse("cockpit")).content.decode()
        assert 'id="bell-count">2<' in page
        assert 'aria-label="Notifications, 2 unread"' in page

    def test_more_than_99_unread_reads_99_plus(self, client, csm):
        note(csm, 120)
        client.force_login(csm)
        assert 'id="bell-count">99+<' in client.get(reverse("notifications")).content.decode()

    def test_the_bell_fragment_costs_one_query_after_auth(self, client, django_assert_num_queries, csm):
        note(csm, 2)
        client.force_login(csm)
        # session, user, the unread count
        with django_assert_num_queries(3):
            response = client.get(reverse("notifications-bell"))
        assert 'id="bell-count">2<' in response.content.decode()


class TestNotificationsPage:
    @pytest.mark.parametrize("n", [3, 45])
    def test_lists_only_my_notifications_in_fixed_queries(self, client, django_assert_num_queries, csm, other_csm, n):
        note(csm, n)
        note(other_csm, 2)
        client.force_login(csm)
        # session, user, team (nav), bell, count, page
        with django_assert_num_queries(6):
            response = client.get(reverse("notifications"))
        assert len(response.context["page"].object_list) == min(n, 30)
        assert all(n.recipient_id == csm.pk for n in response.context["page"].object_list)

    def test_mark_read_in_place_refreshes_the_bell(self, client, csm):
        [notification] = note(csm)
        client.force_login(csm)
        response = client.post(reverse("notification-read", args=[notification.pk]), HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and response["HX-Trigger"] == "notifications-changed"
        notification.refresh_from_db()
        assert notification.read_at is not None

    def test_mark_all_read(self, client, csm, other_csm):
        note(csm, 3)
        note(other_csm, 2)
        client.force_login(csm)
        client.post(reverse("notifications-read-all"))
        assert not Notification.objects.filter(recipient=csm, read_at__isnull=True).exists()
        assert Notification.objects.filter(recipient=other_csm, read_at__isnull=True).count() == 2

    def test_someone_elses_notification_is_not_found_and_stays_unread(self, client, csm, other_csm):
        [theirs] = note(other_csm)
        client.force_login(csm)
        assert client.post(reverse("notification-read", args=[theirs.pk])).status_code == 404
        theirs.refresh_from_db()
        assert theirs.read_at is None


class TestSubscriptionsPage:
    def test_subscribe_to_my_teams_high_flags_with_a_digest(self, client, csm):
        client.force_login(csm)
        rule = default_rule("usage_drop")
        response = client.post(
            reverse("subscriptions"),
            {"scope": "team", "rules": [rule.pk], "tier": "", "min_severity": "high", "daily_digest": "on"},
        )
        assert response.status_code == 302
        subscription = Subscription.objects.get(user=csm)
        assert (subscription.scope, subscription.min_severity, subscription.daily_digest) == ("team", "high", True)
        assert list(subscription.rules.all()) == [rule]

    def test_a_team_subscription_without_a_team_is_refused(self, client):
        loner = CSMFactory(team=None)
        client.force_login(loner)
        response = client.post(reverse("subscriptions"), {"scope": "team", "min_severity": "low"})
        assert response.status_code == 422
        assert "You are not in a team" in response.content.decode()
        assert not Subscription.objects.exists()

    def test_a_refused_subscription_comes_back_422_with_the_error_at_its_field_and_what_was_typed(self, client):
        loner = CSMFactory(team=None)
        client.force_login(loner)
        response = client.post(
            reverse("subscriptions"), {"scope": "team", "min_severity": "critical", "daily_digest": "on"}
        )
        assert response.status_code == 422
        page = response.content.decode()
        scope_error = page.index("You are not in a team")
        assert page.index('name="scope"') < scope_error < page.index('name="tier"')
        assert '<option value="critical" selected>' in page and 'id="id_daily_digest" checked' in page

    def test_editing_a_subscription_into_one_that_is_refused_answers_422_with_what_was_typed(self, client):
        loner = CSMFactory(team=None)
        mine = SubscriptionFactory(user=loner, scope="mine", min_severity="low")
        client.force_login(loner)
        response = client.post(reverse("subscription-edit", args=[mine.pk]), {"scope": "team", "min_severity": "high"})
        assert response.status_code == 422
        page = response.content.decode()
        assert "You are not in a team" in page and '<option value="high" selected>' in page
        mine.refresh_from_db()
        assert (mine.scope, mine.min_severity) == ("mine", "low")

    def test_i_cannot_edit_or_remove_someone_elses_subscription(self, client, csm, other_csm):
        theirs = SubscriptionFactory(user=other_csm, scope="all")
        client.force_login(csm)
        assert client.post(reverse("subscription-edit", args=[theirs.pk]), {"scope": "mine"}).status_code == 404
        assert client.post(reverse("subscription-delete", args=[theirs.pk])).status_code == 404
        theirs.refresh_from_db()
        assert theirs.scope == "all"


class TestFailedDeliveriesPage:
    def test_admins_see_failures_and_others_get_403(self, client, admin, csm):
        Delivery.objects.create(
            channel="webhook",
            target="https://hooks.chat.example/services/T1/B2/secret",
            body="{}",
            key="x",
            status="failed",
            attempts=6,
            last_error="HTTP 404 Not Found: no_service",
        )
        client.force_login(csm)
        assert client.get(reverse("deliveries-failed")).status_code == 403
        client.force_login(admin)
        page = client.get(reverse("deliveries-failed")).content.decode()
        assert "HTTP 404 Not Found: no_service" in page
        assert "hooks.chat.example/…" in page and "secret" not in page

    def test_only_admins_find_the_link_to_failed_deliveries(self, client, admin, manager):
        link = reverse("deliveries-failed")
        client.force_login(manager)
        assert link not in client.get(reverse("notifications")).content.decode()
        client.force_login(admin)
        assert link in client.get(reverse("notifications")).content.decode()


class TestApi:
    def test_notifications_are_mine_only(self, api, csm, other_csm):
        note(csm, 2)
        [theirs] = note(other_csm)
        client = api(csm, auth="token")
        assert client.get(reverse("api:notification-list")).json()["count"] == 2
        assert client.post(reverse("api:notification-mark-read", args=[theirs.pk])).status_code == 404
        assert client.post(reverse("api:notification-mark-all-read")).json() == {"marked": 2}
        assert client.get(reverse("api:notification-list"), {"unread": "1"}).json()["count"] == 0

    def test_subscriptions_crud_for_the_current_user(self, api, csm, other_csm):
        SubscriptionFactory(user=other_csm, scope="all")
        client = api(csm)
        created = client.post(
            reverse("api:subscription-list"),
            {"scope": "all", "min_severity": "critical", "rules": [default_rule("band_red").pk]},
            format="json",
        )
        assert created.status_code == 201
        assert [s["id"] for s in client.get(reverse("api:subscription-list")).json()] == [created.json()["id"]]
        url = reverse("api:subscription-detail", args=[created.json()["id"]])
        assert client.patch(url, {"daily_digest": True}, format="json").json()["daily_digest"] is True
        assert client.delete(url).status_code == 204
        assert Subscription.objects.filter(user=csm).count() == 0
        assert Subscription.objects.count() == 1

    def test_a_team_subscription_without_a_team_is_a_400(self, api):
        loner = CSMFactory(team=None)
        response = api(loner).post(reverse("api:subscription-list"), {"scope": "team"}, format="json")
        assert response.status_code == 400 and "not in a team" in response.json()["scope"][0]
