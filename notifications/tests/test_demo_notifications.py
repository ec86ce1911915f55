"""The demo's open red flags are under their followers' bells from the first `make run`, and nobody is emailed.

The demo raises its flags as history, without notice; `flags_notify_in_app`
makes the in-app notifications a raise would have made, set-based, under the
same keys, so a later notification of the same raise adds nothing.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from accounts.models import Coverage
from accounts.tests.conftest import csm, own_account, pool_account, team, teammate  # noqa: F401
from accounts.tests.factories import AccountFactory
from lifecycle.models import FlagStatus, RedFlag
from notifications import services
from notifications.models import Delivery, Notification, NotificationKind
from notifications.tests.factories import RedFlagFactory, SubscriptionFactory, default_rule
from users.models import User

pytestmark = pytest.mark.django_db


def followers(flag: RedFlag) -> set[int]:
    """Who follows a flag when nobody subscribed: its owner, or every active member of the pool's team."""
    if flag.owner_id:
        return {flag.owner_id}
    return set(User.objects.filter(team_id=flag.account.pool_id, is_active=True).values_list("pk", flat=True))


def test_the_demo_s_open_flags_notify_their_followers_in_app_and_email_nobody():
    call_command("seed_demo", seed=42, accounts=60, stdout=StringIO())

    open_flags = list(RedFlag.objects.filter(status=FlagStatus.OPEN).select_related("account"))
    assert len(open_flags) >= 5, "the demo book should have open flags to show"
    notified = {
        (flag_id, recipient_id) for flag_id, recipient_id in Notification.objects.values_list("flag_id", "recipient_id")
    }
    assert notified == {(flag.pk, person) for flag in open_flags for person in followers(flag)}
    assert not Notification.objects.exclude(flag__status=FlagStatus.OPEN).exists()
    assert not Notification.objects.filter(read_at__isnull=False).exists()
    # Dated when the flag was raised, not when the demo was built.
    assert all(n.created_at == n.flag.raised_at for n in Notification.objects.select_related("flag"))
    assert not Delivery.objects.exists()
    assert mail.outbox == []


def test_the_bell_shows_a_demo_owner_their_open_flags(client):
    call_command("seed_demo", seed=42, accounts=60, stdout=StringIO())
    owner_id = (
        RedFlag.objects.filter(status=FlagStatus.OPEN, owner__isnull=False)
        .values_list("owner_id", flat=True)
        .order_by("owner_id")
        .first()
    )
    owner = User.objects.get(pk=owner_id)
    unread = Notification.objects.filter(recipient=owner, read_at__isnull=True).count()
    followed = [flag for flag in RedFlag.objects.filter(status=FlagStatus.OPEN) if owner.pk in followers(flag)]
    assert unread == len(followed) > 0

    client.force_login(owner)
    page = client.get(reverse("notifications")).content.decode()
    assert f"Notifications, {unread} unread" in page
    first = Notification.objects.filter(recipient=owner).select_related("flag__rule").first()
    assert first.title in page


def test_in_app_only_notifies_owner_pool_and_subscribers_and_queues_no_delivery(
    csm, teammate, own_account, pool_account, team
):
    watcher = User.objects.create(username="watcher", role=User.Role.MANAGER, email="watcher@baton.example")
    SubscriptionFactory(user=watcher, scope="all", email_each_flag=True)
    csm.email = "alex@baton.example"
    csm.save()
    own_flag = RedFlagFactory(account=own_account)
    pooled_flag = RedFlagFactory(account=pool_account, owner=None)

    assert services.flags_notify_in_app(flag_ids=[own_flag.pk, pooled_flag.pk]) == 5

    assert set(Notification.objects.values_list("flag_id", "recipient_id", "kind")) == {
        (own_flag.pk, csm.pk, NotificationKind.FLAG_RAISED),
        (own_flag.pk, watcher.pk, NotificationKind.FLAG_RAISED),
        (pooled_flag.pk, csm.pk, NotificationKind.FLAG_RAISED),
        (pooled_flag.pk, teammate.pk, NotificationKind.FLAG_RAISED),
        (pooled_flag.pk, watcher.pk, NotificationKind.FLAG_RAISED),
    }
    assert not Delivery.objects.exists()


def test_a_raise_notified_in_app_is_not_announced_again(csm, own_account, django_capture_on_commit_callbacks):
    csm.email = "alex@baton.example"
    csm.save()
    flag = RedFlagFactory(account=own_account)
    assert services.flags_notify_in_app(flag_ids=[flag.pk]) == 1
    assert services.flags_notify_in_app(flag_ids=[flag.pk]) == 0

    with django_capture_on_commit_callbacks(execute=True):
        assert services.flags_notify(flag_ids=[flag.pk]) == []
    assert Notification.objects.count() == 1
    assert mail.outbox == []


def test_flags_no_longer_open_are_not_notified(csm, own_account):
    flags = [RedFlagFactory(account=own_account, rule=default_rule(kind)) for kind in ("band_red", "no_touchpoint")]
    RedFlag.objects.filter(pk=flags[1].pk).update(status=FlagStatus.ACKNOWLEDGED)
    assert services.flags_notify_in_app(flag_ids=[flag.pk for flag in flags]) == 1
    assert list(Notification.objects.values_list("flag_id", flat=True)) == [flags[0].pk]


def test_in_app_notification_takes_the_same_queries_for_3_flags_or_30(csm, django_assert_num_queries):
    def flags(count: int) -> list[int]:
        accounts = [AccountFactory(owner=csm, coverage=Coverage.ASSIGNED) for _ in range(count)]
        return [RedFlagFactory(account=account).pk for account in accounts]

    few, many = flags(3), flags(30)
    # In a savepoint: the open flags, the subscriptions, the notifications made before, one insert
    # (no pool here, so no pool members to read).
    with django_assert_num_queries(6):
        assert services.flags_notify_in_app(flag_ids=few) == 3
    with django_assert_num_queries(6):
        assert services.flags_notify_in_app(flag_ids=many) == 30
