"""A rule that flagged much of the book in one night is news for admins and managers, under their bells."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from lifecycle.flags.events import FloodWarningsRaised
from lifecycle.flags.models import FloodWarning
from lifecycle.models import AlertRule
from notifications.handlers import notify_flood_warnings
from notifications.models import Notification, NotificationKind
from users.models import User

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 30)


@pytest.fixture
def warning() -> FloodWarning:
    rule = AlertRule.objects.create(name="No touchpoint in 30 days", kind="no_touchpoint", severity="medium")
    return FloodWarning.objects.create(
        rule=rule, day=DAY, fired=450, book_size=1000, share=Decimal("0.45"), limit=Decimal("0.2")
    )


@pytest.fixture
def people() -> dict[str, User]:
    return {
        "admin": User.objects.create(username="flood-admin", role=User.Role.ADMIN),
        "manager": User.objects.create(username="flood-manager", role=User.Role.MANAGER),
        "csm": User.objects.create(username="flood-csm", role=User.Role.CSM),
        "former admin": User.objects.create(username="flood-gone", role=User.Role.ADMIN, is_active=False),
    }


def test_every_active_admin_and_manager_hears_of_it_once_with_a_link_to_the_inbox(warning, people):
    notify_flood_warnings(FloodWarningsRaised(warning_ids=(warning.pk,), day=DAY))
    notify_flood_warnings(FloodWarningsRaised(warning_ids=(warning.pk,), day=DAY))  # a redelivery adds nothing

    sent = Notification.objects.filter(kind=NotificationKind.FLOOD_WARNING)
    assert {notification.recipient.username for notification in sent} == {"flood-admin", "flood-manager"}
    first = sent.first()
    assert first.title == "“No touchpoint in 30 days” flagged 45% of the book on 30 Nov"
    assert first.body.startswith("450 new flags across 1,000 accounts, above the 20% limit.")
    assert first.url == reverse("alerts")


def test_a_warning_that_grew_is_news_again_and_a_quiet_run_tells_nobody(warning, people):
    notify_flood_warnings(FloodWarningsRaised(warning_ids=(warning.pk,), day=DAY))
    FloodWarning.objects.filter(pk=warning.pk).update(fired=600, share=Decimal("0.6"))
    notify_flood_warnings(FloodWarningsRaised(warning_ids=(warning.pk,), day=DAY))
    notify_flood_warnings(FloodWarningsRaised(warning_ids=(warning.pk,), day=DAY, notify=False))
    assert Notification.objects.filter(recipient=people["admin"]).count() == 2


@pytest.mark.parametrize(
    ("fired", "book_size", "said"),
    [(1, 1, "1 new flag across 1 account, above"), (2, 2, "2 new flags across 2 accounts, above")],
)
def test_the_news_counts_flags_and_accounts_in_english(people, fired, book_size, said):
    rule = AlertRule.objects.create(name="Renewal at risk", kind="renewal_not_green", severity="high")
    small = FloodWarning.objects.create(
        rule=rule, day=DAY, fired=fired, book_size=book_size, share=Decimal("1"), limit=Decimal("0.2")
    )
    notify_flood_warnings(FloodWarningsRaised(warning_ids=(small.pk,), day=DAY))
    assert Notification.objects.filter(recipient=people["admin"]).get().body.startswith(said)
