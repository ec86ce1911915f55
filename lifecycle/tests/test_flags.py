"""Red-flag services: raising from firings (dedup, snooze wake-up, re-raise after resolve) and the workflow."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Coverage, TimelineEntry
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
from lifecycle.flags.rules import Firing
from lifecycle.flags.services import (
    flag_acknowledge,
    flag_resolve,
    flag_snooze,
    flags_clear,
    flags_reassign,
    flags_sync,
)
from lifecycle.models import FlagStatus, RedFlag
from notifications.models import Notification
from notifications.tests.factories import RedFlagFactory, default_rule

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2025, 6, 2, 2, 0, tzinfo=dt.UTC)


def firing(account, kind: str = "band_red", reason: str = "Health band is red (score 31).") -> Firing:
    rule = default_rule(kind)
    return Firing(rule.pk, account.pk, rule.severity, reason, {"score": 31})


def sync_on(day: dt.datetime, *firings: Firing, capture=None):
    with time_machine.travel(day, tick=False):
        if capture is None:
            return flags_sync(firings=list(firings), today=timezone.localdate())
        with capture(execute=True):
            return flags_sync(firings=list(firings), today=timezone.localdate())


def test_a_firing_raises_one_open_flag_owned_by_the_account_owner(csm, own_account, django_capture_on_commit_callbacks):
    result = sync_on(MONDAY, firing(own_account), capture=django_capture_on_commit_callbacks)
    flag = RedFlag.objects.get()
    assert result.raised_ids == [flag.pk]
    assert (flag.status, flag.owner, flag.severity, flag.reason) == (
        "open",
        csm,
        "high",
        "Health band is red (score 31).",
    )
    assert flag.values == {"score": 31}
    assert TimelineEntry.objects.get(event="flag_raised").summary == "Red flag raised: Health band turned red"
    # after commit, the owner hears about it in the app and by email
    assert Notification.objects.get().recipient == csm
    assert mail.outbox[0].to == [csm.email]


def test_the_same_firing_twice_keeps_one_flag_and_notifies_once(csm, own_account, django_capture_on_commit_callbacks):
    sync_on(MONDAY, firing(own_account), capture=django_capture_on_commit_callbacks)
    again = sync_on(MONDAY + dt.timedelta(days=1), firing(own_account), capture=django_capture_on_commit_callbacks)
    assert (again.raised_ids, again.reopened_ids, again.unchanged) == ([], [], 1)
    assert RedFlag.objects.count() == 1
    assert Notification.objects.count() == 1
    assert len(mail.outbox) == 1


def test_an_acknowledged_flag_is_left_alone(csm, own_account):
    sync_on(MONDAY, firing(own_account))
    flag_acknowledge(actor=csm, flag=RedFlag.objects.get())
    result = sync_on(MONDAY + dt.timedelta(days=1), firing(own_account, reason="Still red (score 25)."))
    flag = RedFlag.objects.get()
    assert result.unchanged == 1
    assert (flag.status, flag.reason) == ("acknowledged", "Health band is red (score 31).")


def test_one_run_raises_many_flags_in_a_fixed_number_of_queries(django_assert_max_num_queries, team):
    accounts = [AccountFactory() for _ in range(30)]
    firings = [firing(a, kind) for a in accounts for kind in ("band_red", "usage_drop")]
    # existing flags, rule names, owners, insert, new ids, timeline, which start a risk play,
    # and the savepoint pair around it all
    with time_machine.travel(MONDAY, tick=False), django_assert_max_num_queries(9):
        result = flags_sync(firings=firings, today=MONDAY.date())
    assert len(result.raised_ids) == 60


def test_a_snoozed_flag_stays_quiet_until_its_date_then_fires_again(
    csm, own_account, django_capture_on_commit_callbacks
):
    sync_on(MONDAY, firing(own_account), capture=django_capture_on_commit_callbacks)
    flag = RedFlag.objects.get()
    with time_machine.travel(MONDAY, tick=False):
        flag_snooze(actor=csm, flag=flag, until=dt.date(2025, 6, 5))
    for day in (3, 4):  # Tuesday and Wednesday: still snoozed
        result = sync_on(
            MONDAY + dt.timedelta(days=day - 2), firing(own_account), capture=django_capture_on_commit_callbacks
        )
        assert result.unchanged == 1
        assert RedFlag.objects.get().status == FlagStatus.SNOOZED
    thursday = MONDAY + dt.timedelta(days=3)
    result = sync_on(
        thursday, firing(own_account, reason="Still red (score 22)."), capture=django_capture_on_commit_callbacks
    )
    flag = RedFlag.objects.get()
    assert result.reopened_ids == [flag.pk] and result.raised_ids == []
    assert (flag.status, flag.snoozed_until, flag.reason, flag.raised_at) == (
        "open",
        None,
        "Still red (score 22).",
        thursday,
    )
    titles = list(Notification.objects.order_by("created_at").values_list("title", flat=True))
    assert titles == [
        f"Red flag: Health band turned red · {own_account}",
        f"Re-opened: Health band turned red · {own_account}",
    ]
    assert "re-opened" in mail.outbox[-1].subject


def test_a_snoozed_flag_whose_rule_stopped_firing_stays_snoozed(csm, own_account):
    sync_on(MONDAY, firing(own_account))
    with time_machine.travel(MONDAY, tick=False):
        flag_snooze(actor=csm, flag=RedFlag.objects.get(), until=dt.date(2025, 6, 3))
    other = AccountFactory(owner=csm)
    sync_on(MONDAY + dt.timedelta(days=5), firing(other))
    assert RedFlag.objects.get(account=own_account).status == FlagStatus.SNOOZED


def test_a_resolved_flag_can_fire_again_as_a_new_flag(csm, own_account):
    sync_on(MONDAY, firing(own_account))
    first = RedFlag.objects.get()
    flag_resolve(actor=csm, flag=first, note="Exec call held; sponsor re-engaged.")
    result = sync_on(MONDAY + dt.timedelta(days=1), firing(own_account))
    second = RedFlag.objects.exclude(pk=first.pk).get()
    assert result.raised_ids == [second.pk]
    first.refresh_from_db()
    assert (first.status, first.resolution_note, first.resolved_by) == (
        "resolved",
        "Exec call held; sponsor re-engaged.",
        csm,
    )
    assert second.status == "open"


def test_a_pooled_accounts_flag_has_no_owner_and_every_pool_member_hears(
    csm, teammate, manager, pool_account, django_capture_on_commit_callbacks
):
    sync_on(MONDAY, firing(pool_account), capture=django_capture_on_commit_callbacks)
    assert RedFlag.objects.get().owner is None
    recipients = set(Notification.objects.values_list("recipient__username", flat=True))
    assert recipients == {"alex", "sam", "maria"}


def test_a_firing_for_an_account_that_no_longer_exists_raises_nothing(own_account):
    gone = Firing(default_rule("band_red").pk, 999_999, "high", "red", {})
    assert sync_on(MONDAY, gone).raised_ids == []
    assert not RedFlag.objects.exists()


class TestWorkflow:
    def test_the_owner_acknowledges_and_the_timeline_says_who(self, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        flag = flag_acknowledge(actor=csm, flag=flag)
        assert (flag.status, flag.acknowledged_by) == ("acknowledged", csm)
        assert TimelineEntry.objects.get(event="flag_acknowledged").author == csm

    def test_acknowledging_twice_is_refused(self, csm, own_account):
        flag = flag_acknowledge(actor=csm, flag=RedFlagFactory(account=own_account))
        with pytest.raises(ValidationError, match="already|acknowledged; it cannot be acknowledged"):
            flag_acknowledge(actor=csm, flag=flag)

    def test_a_snooze_date_must_be_in_the_future_and_nothing_changes(self, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        for until in (timezone.localdate(), timezone.localdate() - dt.timedelta(days=1)):
            with pytest.raises(ValidationError, match="future"):
                flag_snooze(actor=csm, flag=flag, until=until)
        with pytest.raises(ValidationError, match="at most 365 days"):
            flag_snooze(actor=csm, flag=flag, until=timezone.localdate() + dt.timedelta(days=400))
        flag.refresh_from_db()
        assert (flag.status, flag.snoozed_until) == ("open", None)
        assert not TimelineEntry.objects.filter(event="flag_snoozed").exists()

    def test_resolving_needs_a_note(self, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        with pytest.raises(ValidationError, match="Say what was done"):
            flag_resolve(actor=csm, flag=flag, note="   ")
        flag.refresh_from_db()
        assert flag.status == "open"

    def test_a_resolved_flag_cannot_be_snoozed(self, csm, own_account):
        flag = flag_resolve(actor=csm, flag=RedFlagFactory(account=own_account), note="Done")
        with pytest.raises(ValidationError, match="resolved; it cannot be snoozed"):
            flag_snooze(actor=csm, flag=flag, until=timezone.localdate() + dt.timedelta(days=3))

    def test_a_csm_of_another_team_cannot_act_and_nothing_changes(self, other_csm, own_account):
        flag = RedFlagFactory(account=own_account)
        with pytest.raises(PermissionDenied):
            flag_acknowledge(actor=other_csm, flag=flag)
        flag.refresh_from_db()
        assert flag.status == "open" and not TimelineEntry.objects.exists()

    def test_the_team_manager_and_admins_may_act(self, manager, admin, own_account):
        flag_acknowledge(actor=manager, flag=RedFlagFactory(account=own_account))
        flag_resolve(actor=admin, flag=RedFlag.objects.get(), note="Checked")
        assert RedFlag.objects.get().status == "resolved"

    def test_another_teams_manager_may_not(self, other_manager, own_account):
        with pytest.raises(PermissionDenied):
            flag_resolve(actor=other_manager, flag=RedFlagFactory(account=own_account), note="Nope")


def test_a_handover_moves_the_accounts_unresolved_flags_to_the_new_owner(csm, teammate, own_account):
    open_flag = RedFlagFactory(account=own_account)
    snoozed = RedFlagFactory(
        account=own_account,
        rule=default_rule("usage_drop"),
        status="snoozed",
        snoozed_until=timezone.now() + dt.timedelta(days=3),
    )
    resolved = RedFlagFactory(
        account=own_account, rule=default_rule("nps_detractor"), status="resolved", resolved_at=timezone.now()
    )
    moved = flags_reassign(account=own_account, to_user=teammate, created_by_system_only=True)
    assert moved == 2
    owners = dict(RedFlag.objects.values_list("pk", "owner__username"))
    assert owners == {open_flag.pk: "sam", snoozed.pk: "sam", resolved.pk: "alex"}
    # nothing left to move the second time
    assert flags_reassign(account=own_account, to_user=teammate, created_by_system_only=False) == 0


def test_moving_a_book_into_a_pool_leaves_its_flags_to_the_team(csm, team, own_account):
    RedFlagFactory(account=own_account)
    own_account.coverage, own_account.owner, own_account.pool = Coverage.POOLED, None, team
    own_account.save()
    assert flags_reassign(account=own_account, to_user=None, created_by_system_only=False) == 1
    assert RedFlag.objects.get().owner is None


# --- cleared: the rule no longer fires -----------------------------------------------------------


def clear_on(day: dt.datetime, accounts, *firings: Firing, kinds=("band_red", "usage_drop")) -> int:
    """The recompute's clearing step for `accounts` with these rules evaluated and these firings."""
    with time_machine.travel(day, tick=False):
        return flags_clear(
            firings=list(firings),
            account_ids=[account.pk for account in accounts],
            rule_ids=[default_rule(kind).pk for kind in kinds],
            today=timezone.localdate(),
        )


def test_a_flag_whose_rule_no_longer_fires_is_cleared_with_when_and_why(csm, own_account):
    sync_on(MONDAY, firing(own_account))
    tuesday = MONDAY + dt.timedelta(days=1)
    assert clear_on(tuesday, [own_account]) == 1
    flag = RedFlag.objects.get()
    assert (flag.status, flag.cleared_at, flag.cleared_reason) == (
        "cleared",
        tuesday,
        "Condition no longer holds on 3 Jun 2025: Health band turned red",
    )
    assert not RedFlag.objects.unresolved().exists()
    # The flag row says it; the timeline is left to what people and new flags do.
    assert not TimelineEntry.objects.filter(event__icontains="clear").exists()


def test_open_acknowledged_and_snoozed_flags_clear_a_resolved_one_stays_resolved(csm, own_account):
    sync_on(MONDAY, firing(own_account), firing(own_account, "usage_drop"))
    band_red, usage_drop = RedFlag.objects.order_by("pk")
    with time_machine.travel(MONDAY, tick=False):
        flag_snooze(actor=csm, flag=band_red, until=dt.date(2025, 6, 10))
        flag_resolve(actor=csm, flag=usage_drop, note="Rolled out to the new team.")
    clear_on(MONDAY + dt.timedelta(days=1), [own_account])
    band_red.refresh_from_db()
    usage_drop.refresh_from_db()
    assert (band_red.status, band_red.snoozed_until) == ("cleared", None)
    assert (usage_drop.status, usage_drop.cleared_at, usage_drop.cleared_reason) == ("resolved", None, "")

    other = AccountFactory(owner=csm)
    sync_on(MONDAY, firing(other))
    flag_acknowledge(actor=csm, flag=RedFlag.objects.get(account=other))
    clear_on(MONDAY + dt.timedelta(days=1), [other])
    assert RedFlag.objects.get(account=other).status == "cleared"


def test_a_flag_still_firing_an_account_out_of_scope_and_a_rule_not_evaluated_are_left_alone(csm, own_account):
    elsewhere = AccountFactory(owner=csm)
    sync_on(MONDAY, firing(own_account), firing(own_account, "usage_drop"), firing(elsewhere))
    # band_red still fires; usage_drop was not evaluated (switched off); `elsewhere` is not in this run.
    clear_on(MONDAY + dt.timedelta(days=1), [own_account], firing(own_account), kinds=("band_red",))
    assert set(RedFlag.objects.values_list("status", flat=True)) == {"open"}


def test_a_back_fill_of_an_earlier_day_leaves_flags_raised_after_it_alone(csm, own_account):
    sync_on(MONDAY, firing(own_account))
    assert clear_on(MONDAY + dt.timedelta(days=3), [own_account]) == 1
    sync_on(MONDAY + dt.timedelta(days=4), firing(own_account))
    # Back-filling the Saturday before: the new flag (raised Friday) says nothing about that day.
    with time_machine.travel(MONDAY + dt.timedelta(days=5), tick=False):
        flags_clear(
            firings=[],
            account_ids=[own_account.pk],
            rule_ids=[default_rule("band_red").pk],
            today=dt.date(2025, 5, 31),
        )
    assert list(RedFlag.objects.order_by("pk").values_list("status", flat=True)) == ["cleared", "open"]


def test_a_cleared_flag_leaves_room_for_a_new_flag_when_the_rule_fires_again(
    csm, own_account, django_capture_on_commit_callbacks
):
    sync_on(MONDAY, firing(own_account), capture=django_capture_on_commit_callbacks)
    clear_on(MONDAY + dt.timedelta(days=1), [own_account])
    again = sync_on(
        MONDAY + dt.timedelta(days=2),
        firing(own_account, reason="Red again."),
        capture=django_capture_on_commit_callbacks,
    )
    first, second = RedFlag.objects.order_by("pk")
    assert again.raised_ids == [second.pk]
    assert (first.status, second.status, second.reason) == ("cleared", "open", "Red again.")
    # News again: the owner hears about the new flag.
    assert Notification.objects.count() == 2


def test_a_cleared_flag_cannot_be_worked(csm, own_account):
    sync_on(MONDAY, firing(own_account))
    clear_on(MONDAY + dt.timedelta(days=1), [own_account])
    flag = RedFlag.objects.get()
    for act in (
        lambda: flag_acknowledge(actor=csm, flag=flag),
        lambda: flag_resolve(actor=csm, flag=flag, note="Done"),
        lambda: flag_snooze(actor=csm, flag=flag, until=timezone.localdate() + dt.timedelta(days=3)),
    ):
        with pytest.raises(ValidationError, match="This flag is cleared"):
            act()
    flag.refresh_from_db()
    assert flag.status == "cleared"


def test_the_database_requires_a_time_exactly_when_a_flag_is_cleared(own_account):
    rule = default_rule("band_red")
    for fields in ({"status": "cleared"}, {"status": "open", "cleared_at": timezone.now()}):
        with pytest.raises(IntegrityError), transaction.atomic():
            RedFlag.objects.create(rule=rule, account=own_account, severity="high", reason="x", **fields)
