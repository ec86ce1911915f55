"""A live recompute tells the apps above which flags it cleared and whose band moved (webhooks listen).

These run through `health_recompute_scope`, so the SQLite pass checks the Python path and the
PostgreSQL pass the recompute inside the database. A back-fill announces neither.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.tests.conftest import csm, own_account, team  # noqa: F401
from core import events
from lifecycle.flags.events import FlagsCleared
from lifecycle.health.events import BandsChanged
from lifecycle.health.facts_query import AccountScope
from lifecycle.health.recompute import health_recompute_scope
from lifecycle.models import AccountHealth, FlagStatus, RedFlag
from notifications.tests.factories import RedFlagFactory, default_rule

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


class Announced(list):
    """The FlagsCleared and BandsChanged events announced during a test; the others pass unheard."""

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, FlagsCleared | BandsChanged):
            self.append(event)


@pytest.fixture
def announced(monkeypatch) -> Announced:
    heard = Announced()
    monkeypatch.setattr(events, "announce", heard)
    return heard


@pytest.fixture
def stale_flag(own_account) -> RedFlag:
    """A usage-drop flag raised three days ago on an account that sends no usage: the rule does not fire today."""
    return RedFlagFactory(
        account=own_account,
        rule=default_rule("usage_drop"),
        raised_at=timezone.now() - dt.timedelta(days=3),
    )


def recompute(account, *, day=TODAY, live=True) -> None:
    health_recompute_scope(day=day, scope=AccountScope.of([account.pk]), notify=live, raise_flags=live)


def test_a_live_run_announces_the_flags_it_cleared(own_account, stale_flag, announced):
    recompute(own_account)
    stale_flag.refresh_from_db()
    assert stale_flag.status == FlagStatus.CLEARED
    assert [event for event in announced if isinstance(event, FlagsCleared)] == [
        FlagsCleared(flag_ids=(stale_flag.pk,), day=TODAY, notify=True)
    ]


def test_a_flag_a_person_resolved_is_not_announced_as_cleared(csm, own_account, stale_flag, announced):
    RedFlag.objects.filter(pk=stale_flag.pk).update(
        status=FlagStatus.RESOLVED, resolved_by=csm, resolved_at=timezone.now()
    )
    recompute(own_account)
    assert not [event for event in announced if isinstance(event, FlagsCleared)]


def test_an_accounts_first_score_is_not_a_band_change_but_a_later_move_is(own_account, announced):
    recompute(own_account)
    first_band = AccountHealth.objects.get(account=own_account).band
    assert first_band, "the account is scored"
    assert not [event for event in announced if isinstance(event, BandsChanged)]
    # As if yesterday's run had left it in another band: today's run moves it back.
    other = "green" if first_band != "green" else "red"
    AccountHealth.objects.filter(account=own_account).update(band=other)
    recompute(own_account)
    assert [event for event in announced if isinstance(event, BandsChanged)] == [
        BandsChanged(changes=((own_account.pk, other, first_band),), day=TODAY)
    ]


def test_a_run_that_moves_no_band_announces_none(own_account, announced):
    recompute(own_account)
    recompute(own_account)
    assert not [event for event in announced if isinstance(event, BandsChanged)]


def test_a_back_fill_announces_neither(own_account, stale_flag, announced):
    recompute(own_account)
    AccountHealth.objects.filter(account=own_account).update(band="red")
    announced.clear()
    recompute(own_account, day=TODAY - dt.timedelta(days=1), live=False)
    assert announced == []
