"""The flood guard: a rule that flags more than the admins' share of the book in one night raises every flag
all the same, and leaves a warning for admins and managers, announced, until one of them acknowledges it.

The nightly runs here take the Python path on SQLite and the set-based path on PostgreSQL (the integration
pass runs this file there too); the guard counts the flags either path raised.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditAction, AuditEvent, Stage, TimelineKind
from accounts.tests.conftest import *  # noqa: F403  (the people of the permission table, api)
from accounts.tests.factories import AccountFactory, TimelineEntryFactory
from core import events
from lifecycle.flags.events import FloodWarningsRaised
from lifecycle.flags.models import AlertSettings, FloodWarning
from lifecycle.flags.services import alert_settings_update, flood_guard_check, flood_warning_acknowledge
from lifecycle.health.recompute import health_recompute_all_inline
from lifecycle.models import AlertRule, RedFlag

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
NOON = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def now():
    with time_machine.travel(NOON, tick=False):
        yield


class Announced(list):
    """The FloodWarningsRaised events announced during a test (the other events are let through unheard)."""

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, FloodWarningsRaised):
            self.append(event)


@pytest.fixture
def announced(monkeypatch) -> Announced:
    heard = Announced()
    monkeypatch.setattr(events, "announce", heard)
    return heard


def silent_book(*, accounts: int, silent: int) -> AlertRule:
    """A book of high-touch accounts in Baton and in success for 100 days, `silent` of them without a touchpoint.

    Only one rule is active, no touchpoint in 30 days: it fires on exactly the silent accounts.
    """
    AlertRule.objects.update(active=False)
    rule = AlertRule.objects.create(name="No touchpoint in 30 days", kind="no_touchpoint", severity="medium")
    entered = timezone.now() - dt.timedelta(days=100)
    for n in range(accounts):
        account = AccountFactory(tier="high", stage=Stage.SUCCESS, stage_entered_at=entered)
        Account.objects.filter(pk=account.pk).update(created_at=entered)
        if n >= silent:
            TimelineEntryFactory(
                account=account,
                kind=TimelineKind.TOUCHPOINT,
                channel="call",
                occurred_at=timezone.now() - dt.timedelta(days=2),
            )
    return rule


class TestTheNightlyRun:
    def test_a_rule_firing_on_half_the_book_raises_every_flag_and_a_warning(self, now, announced):
        rule = silent_book(accounts=10, silent=5)
        health_recompute_all_inline(day=TODAY, chunk_size=4)
        # Never a cap: all five flags are raised.
        assert RedFlag.objects.filter(rule=rule).count() == 5
        warning = FloodWarning.objects.get()
        assert (warning.rule, warning.day, warning.fired, warning.book_size) == (rule, TODAY, 5, 10)
        assert (warning.share, warning.limit) == (Decimal("0.5"), Decimal("0.2"))
        assert (warning.share_percent, warning.limit_percent) == ("50%", "20%")
        assert warning.acknowledged_at is None
        assert announced == [FloodWarningsRaised(warning_ids=(warning.pk,), day=TODAY, notify=True)]

    def test_a_rule_at_or_below_the_share_raises_its_flags_and_no_warning(self, now, announced):
        rule = silent_book(accounts=10, silent=2)
        health_recompute_all_inline(day=TODAY)
        assert RedFlag.objects.filter(rule=rule).count() == 2
        assert not FloodWarning.objects.exists() and announced == []

    def test_the_share_is_the_admins_setting(self, now, admin):
        silent_book(accounts=10, silent=2)
        alert_settings_update(actor=admin, flood_share="0.15")
        health_recompute_all_inline(day=TODAY)
        assert FloodWarning.objects.get().limit == Decimal("0.15")

    def test_churned_accounts_are_not_the_book(self, now):
        silent_book(accounts=4, silent=1)
        AccountFactory.create_batch(6, stage=Stage.CHURNED)
        health_recompute_all_inline(day=TODAY)
        warning = FloodWarning.objects.get()
        assert (warning.fired, warning.book_size, warning.share_percent) == (1, 4, "25%")

    def test_running_the_night_again_changes_nothing_and_announces_nothing(self, now, announced):
        silent_book(accounts=10, silent=5)
        health_recompute_all_inline(day=TODAY)
        announced.clear()
        health_recompute_all_inline(day=TODAY)
        assert FloodWarning.objects.get().fired == 5 and announced == []

    def test_flags_woken_from_a_snooze_are_not_new(self, now):
        rule = silent_book(accounts=10, silent=5)
        health_recompute_all_inline(day=TODAY - dt.timedelta(days=1))
        FloodWarning.objects.all().delete()
        RedFlag.objects.filter(rule=rule).update(status="snoozed", snoozed_until=timezone.now() - dt.timedelta(hours=1))
        health_recompute_all_inline(day=TODAY)
        assert RedFlag.objects.filter(rule=rule, status="open").count() == 5
        assert not FloodWarning.objects.filter(day=TODAY).exists()


class TestTheCheck:
    def test_a_warning_that_grew_the_same_day_comes_back_after_acknowledgement(self, now, manager, announced):
        rule = silent_book(accounts=10, silent=5)
        health_recompute_all_inline(day=TODAY)
        warning = flood_warning_acknowledge(actor=manager, warning=FloodWarning.objects.get())
        assert warning.acknowledged_by == manager
        flood_warning_acknowledge(actor=manager, warning=warning)  # twice keeps the first, audited once
        [entry] = AuditEvent.objects.filter(action=AuditAction.FLOOD_WARNING_ACKNOWLEDGED)
        assert (entry.actor, entry.subject_id) == (manager, warning.pk)
        RedFlag.objects.create(
            rule=rule, account=AccountFactory(), severity="medium", reason="One more", raised_at=timezone.now()
        )
        announced.clear()
        assert flood_guard_check(day=TODAY, run_started_at=timezone.now()) == [warning.pk]
        warning.refresh_from_db()
        assert warning.fired == 6 and warning.book_size == 11 and warning.acknowledged_at is None
        assert [event.warning_ids for event in announced] == [(warning.pk,)]

    @pytest.mark.parametrize("silent, said", [(1, "1 new flag"), (2, "2 new flags")])
    def test_the_acknowledgement_in_the_audit_log_counts_the_flags(self, now, manager, silent, said):
        silent_book(accounts=2, silent=silent)
        health_recompute_all_inline(day=TODAY)
        flood_warning_acknowledge(actor=manager, warning=FloodWarning.objects.get())
        [entry] = AuditEvent.objects.filter(action=AuditAction.FLOOD_WARNING_ACKNOWLEDGED)
        assert entry.reason == f"No touchpoint in 30 days: {said} on {TODAY}"

    def test_an_empty_book_is_never_flooded(self, now):
        assert flood_guard_check(day=TODAY, run_started_at=timezone.now()) == []

    def test_only_admins_and_managers_acknowledge(self, now, csm):
        silent_book(accounts=2, silent=2)
        health_recompute_all_inline(day=TODAY)
        with pytest.raises(PermissionDenied):
            flood_warning_acknowledge(actor=csm, warning=FloodWarning.objects.get())
        assert FloodWarning.objects.get().acknowledged_at is None


class TestTheSetting:
    @pytest.mark.parametrize("share", ["0", "-0.1", "1.01", "2", "abc", "NaN", "0.0001"])
    def test_the_flood_share_is_a_share_of_the_book(self, admin, share):
        with pytest.raises(ValidationError) as error:
            alert_settings_update(actor=admin, flood_share=share)
        assert "flood_share" in error.value.message_dict
        assert not AlertSettings.objects.exists()

    def test_an_admin_sets_it_and_the_row_says_who(self, admin):
        saved = alert_settings_update(actor=admin, flood_share=Decimal("1"))
        assert (saved.flood_share, saved.updated_by) == (Decimal("1"), admin)
        assert AlertSettings.objects.current().flood_share == Decimal("1")

    def test_a_change_of_share_is_in_the_audit_log_and_setting_the_same_share_again_is_not(self, admin):
        alert_settings_update(actor=admin, flood_share="0.35")
        alert_settings_update(actor=admin, flood_share="0.350")
        [entry] = AuditEvent.objects.filter(action=AuditAction.ALERT_SETTINGS_CHANGED)
        assert (entry.actor, entry.changes) == (admin, {"flood_share": ["0.20", "0.35"]})

    def test_only_admins_set_it(self, manager):
        with pytest.raises(PermissionDenied):
            alert_settings_update(actor=manager, flood_share="0.5")

    def test_until_set_the_default_is_a_fifth_of_the_book(self):
        assert AlertSettings.objects.current().flood_share == Decimal("0.2")


class TestTheFloodGuardPage:
    def url(self) -> str:
        return reverse("flood-guard")

    def test_an_admin_sets_the_share_on_the_page(self, client, admin):
        client.force_login(admin)
        response = client.post(self.url(), {"flood_share": "0.35"}, follow=True)
        assert response.redirect_chain[-1][0] == self.url()
        assert "Flood share set to 0.35." in response.content.decode()
        assert AlertSettings.objects.current().flood_share == Decimal("0.35")

    @pytest.mark.parametrize("share", ["0", "1.5", "-1", "lots", ""])
    def test_a_bad_share_is_a_422_with_the_fields_error_and_nothing_saved(self, client, admin, share):
        client.force_login(admin)
        response = client.post(self.url(), {"flood_share": share})
        assert response.status_code == 422
        assert response.context["form"].errors["flood_share"]
        assert 'id="flood-guard-form"' in response.content.decode()
        assert not AlertSettings.objects.exists()

    def test_it_lists_the_latest_warnings_with_who_acknowledged_them(self, client, now, admin, manager):
        silent_book(accounts=4, silent=2)
        health_recompute_all_inline(day=TODAY)
        flood_warning_acknowledge(actor=manager, warning=FloodWarning.objects.get())
        client.force_login(admin)
        page = client.get(self.url()).content.decode()
        assert "No touchpoint in 30 days" in page and "50%" in page and f"by {manager}" in page

    @pytest.mark.parametrize("method", ["get", "post"])
    def test_managers_and_csms_cannot_open_it(self, client, manager, csm, method):
        for user in (manager, csm):
            client.force_login(user)
            assert getattr(client, method)(self.url(), {"flood_share": "0.5"}).status_code == 403
        assert not AlertSettings.objects.exists()


class TestTheApi:
    def test_everyone_reads_the_settings_and_only_admins_change_them(self, api, csm, admin):
        url = reverse("api:alert-settings")
        assert api(csm).get(url).json()["flood_share"] == "0.200"
        assert api(csm).patch(url, {"flood_share": "0.5"}, format="json").status_code == 403
        response = api(admin, auth="token").patch(url, {"flood_share": "0.5"}, format="json")
        assert response.status_code == 200 and response.json()["flood_share"] == "0.500"
        assert response.json()["updated_by"] == admin.pk

    @pytest.mark.parametrize("share", ["0", "1.001", "-0.5", "many", None])
    def test_a_bad_share_is_a_400(self, api, admin, share):
        response = api(admin).patch(reverse("api:alert-settings"), {"flood_share": share}, format="json")
        assert response.status_code == 400 and "flood_share" in response.json()
        assert not AlertSettings.objects.exists()

    def test_admins_and_managers_list_and_acknowledge_warnings_and_csms_cannot(self, api, now, csm, manager):
        silent_book(accounts=4, silent=4)
        health_recompute_all_inline(day=TODAY)
        warning = FloodWarning.objects.get()
        assert api(csm).get(reverse("api:flood-warning-list")).status_code == 403
        acknowledge = reverse("api:flood-warning-acknowledge", args=[warning.pk])
        assert api(csm).post(acknowledge).status_code == 403
        listed = api(manager).get(reverse("api:flood-warning-list"), {"acknowledged": "false"}).json()
        assert [row["id"] for row in listed["results"]] == [warning.pk]
        assert listed["results"][0]["share"] == "1.0000" and listed["results"][0]["fired"] == 4
        response = api(manager, auth="token").post(acknowledge)
        assert response.status_code == 200 and response.json()["acknowledged_by"] == manager.pk
        assert api(manager).get(reverse("api:flood-warning-list"), {"acknowledged": "false"}).json()["count"] == 0
