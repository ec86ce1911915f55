"""In-place flag actions, the Account 360 selectors, and the flags/rules API (the inbox page is desk's)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.conftest import (  # noqa: F401
    admin,
    api,
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
    teammate_account,
)
from accounts.tests.factories import AccountFactory
from lifecycle.flags.selectors import open_flag_counts, open_flags_for_account
from lifecycle.models import AlertRule, RedFlag
from notifications.tests.factories import RedFlagFactory, default_rule

pytestmark = pytest.mark.django_db

KINDS = ["band_red", "usage_drop", "no_touchpoint", "nps_detractor", "ticket_spike"]


def tomorrow() -> str:
    return (timezone.localdate() + dt.timedelta(days=1)).isoformat()


class TestActions:
    def test_acknowledge_in_place_returns_the_row(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        response = client.post(reverse("flag-acknowledge", args=[flag.pk]), {"layout": "row"}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        body = response.content.decode()
        assert body.lstrip().startswith(f'<tr id="flag-{flag.pk}"') and "Acknowledged" in body
        flag.refresh_from_db()
        assert (flag.status, flag.acknowledged_by) == ("acknowledged", csm)

    def test_snooze_with_a_date_picker_value(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        response = client.post(reverse("flag-snooze", args=[flag.pk]), {"until": tomorrow()}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and "Snoozed" in response.content.decode()
        flag.refresh_from_db()
        assert flag.status == "snoozed" and timezone.localdate(flag.snoozed_until).isoformat() == tomorrow()

    def test_a_snooze_in_the_past_is_refused_in_place_and_changes_nothing(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        response = client.post(reverse("flag-snooze", args=[flag.pk]), {"until": yesterday}, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
        assert "Snooze until a date in the future." in response.content.decode()
        flag.refresh_from_db()
        assert flag.status == "open"

    def test_an_action_in_the_inbox_brings_its_counts_up_to_date(
        self, client, django_assert_num_queries, csm, own_account
    ):
        snoozing, staying = (RedFlagFactory(account=own_account, rule=default_rule(kind)) for kind in KINDS[:2])
        client.force_login(csm)
        inbox = reverse("alerts") + "?scope=mine&severity="
        # The snooze as from anywhere (9), then the tab counts and the count of the inbox's list (2).
        with django_assert_num_queries(11):
            response = client.post(
                reverse("flag-snooze", args=[snoozing.pk]),
                {"until": tomorrow(), "layout": "row", "next": inbox},
                HTTP_HX_REQUEST="true",
            )
        assert response.status_code == 200
        counts = response.context["inbox"]
        assert counts["scope"] == "mine" and counts["tab_query_string"] == "severity="
        assert dict((key, n) for key, _, n in counts["scopes"])["mine"] == 1
        assert counts["flag_count"] == 1
        body = response.content.decode()
        assert body.lstrip().startswith(f'<tr id="flag-{snoozing.pk}"')
        assert '<ul class="nav nav-tabs mb-0" id="alert-scopes" hx-swap-oob="true">' in body
        assert (
            '<div class="text-muted small px-3 pt-3 pb-2" id="result-count" hx-swap-oob="true">1 flag left</div>'
            in body
        )
        # The row's forms keep returning to the inbox, not to the action just taken.
        assert 'name="next" value="/alerts/?scope=mine&amp;severity="' in body
        assert f'value="{reverse("flag-snooze", args=[snoozing.pk])}"' not in body
        staying.refresh_from_db()
        assert staying.status == "open"

    def test_an_action_outside_the_inbox_or_refused_sends_no_counts(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        from_cockpit = client.post(
            reverse("flag-acknowledge", args=[flag.pk]),
            {"layout": "row", "next": reverse("cockpit")},
            HTTP_HX_REQUEST="true",
        )
        assert from_cockpit.context["inbox"] is None and "hx-swap-oob" not in from_cockpit.content.decode()
        yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
        refused = client.post(
            reverse("flag-snooze", args=[flag.pk]),
            {"until": yesterday, "layout": "row", "next": reverse("alerts")},
            HTTP_HX_REQUEST="true",
        )
        assert refused.status_code == 422
        assert refused.context["inbox"] is None and "hx-swap-oob" not in refused.content.decode()

    def test_resolve_with_a_note_from_the_account_360_card(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        response = client.post(
            reverse("flag-resolve", args=[flag.pk]),
            {"note": "Champion replaced; intro call booked", "layout": "card"},
            HTTP_HX_REQUEST="true",
        )
        assert response.content.decode().lstrip().startswith(f'<li id="flag-card-{flag.pk}"')
        flag.refresh_from_db()
        assert (flag.status, flag.resolution_note) == ("resolved", "Champion replaced; intro call booked")

    def test_a_plain_post_redirects_back_with_a_message(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        response = client.post(reverse("flag-acknowledge", args=[flag.pk]), {"next": "/alerts/?scope=all"})
        assert response.status_code == 302 and response.url == "/alerts/?scope=all"
        response = client.post(reverse("flag-resolve", args=[flag.pk]), {"note": "", "next": "https://evil.example/"})
        assert response.url == reverse("alerts")

    @pytest.mark.parametrize("action", ["flag-acknowledge", "flag-snooze", "flag-resolve"])
    def test_the_wrong_user_gets_403_and_nothing_changes(self, client, other_csm, own_account, action):
        flag = RedFlagFactory(account=own_account)
        client.force_login(other_csm)
        response = client.post(
            reverse(action, args=[flag.pk]), {"until": tomorrow(), "note": "x"}, HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 403
        flag.refresh_from_db()
        assert (flag.status, flag.snoozed_until, flag.resolution_note) == ("open", None, "")

    def test_actions_need_a_post_and_a_known_flag(self, client, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client.force_login(csm)
        assert client.get(reverse("flag-acknowledge", args=[flag.pk])).status_code == 405
        assert client.post(reverse("flag-acknowledge", args=[flag.pk + 1000])).status_code == 404


class TestAccount360Selectors:
    def test_open_flags_for_an_account_in_one_query(self, django_assert_num_queries, own_account):
        RedFlagFactory(account=own_account, rule=default_rule("spend_rising"), severity="low")
        RedFlagFactory(
            account=own_account,
            rule=default_rule("usage_drop"),
            status="snoozed",
            snoozed_until=timezone.now() + dt.timedelta(days=2),
        )
        RedFlagFactory(
            account=own_account, rule=default_rule("no_touchpoint"), status="resolved", resolved_at=timezone.now()
        )
        with django_assert_num_queries(1):
            flags = open_flags_for_account(own_account)
            kinds = [(f.rule.kind, f.owner.username) for f in flags]
        assert kinds == [("usage_drop", "alex"), ("spend_rising", "alex")]
        RedFlagFactory(account=own_account, rule=default_rule("band_red"), status="cleared", cleared_at=timezone.now())
        assert len(open_flags_for_account(own_account)) == 2

    def test_open_flag_counts_in_one_query_leave_quiet_snoozes_out(
        self, django_assert_num_queries, own_account, teammate_account
    ):
        RedFlagFactory(account=own_account)
        RedFlagFactory(account=own_account, rule=default_rule("usage_drop"), status="acknowledged")
        RedFlagFactory(
            account=own_account,
            rule=default_rule("spend_rising"),
            status="snoozed",
            snoozed_until=timezone.now() + dt.timedelta(days=2),
        )
        RedFlagFactory(account=teammate_account, status="snoozed", snoozed_until=timezone.now() - dt.timedelta(hours=1))
        with django_assert_num_queries(1):
            counts = open_flag_counts([own_account.pk, teammate_account.pk])
        assert counts == {own_account.pk: 2, teammate_account.pk: 1}

    def test_the_account_panel_renders_flags_with_actions_for_editors(self, rf, csm, other_csm, own_account):
        from django.template.loader import render_to_string

        RedFlagFactory(account=own_account)
        request = rf.get("/")
        request.user = csm
        context = {"account": own_account, "flags": open_flags_for_account(own_account), "can_edit": True}
        html = render_to_string("lifecycle/flags/partials/account_flags.html", context, request=request)
        assert "Health band turned red" in html and "Acknowledge" in html
        context["can_edit"] = False
        html = render_to_string("lifecycle/flags/partials/account_flags.html", context, request=request)
        assert "Health band turned red" in html and "Acknowledge" not in html


class TestApi:
    def test_everyone_reads_rules_only_admins_write(self, api, csm, admin):
        assert api(csm).get(reverse("api:alert-rule-list")).json()["count"] == AlertRule.objects.count()
        payload = {"name": "Quiet for 45 days", "kind": "no_touchpoint", "severity": "low", "params": {"days": 45}}
        assert api(csm).post(reverse("api:alert-rule-list"), payload, format="json").status_code == 403
        response = api(admin).post(reverse("api:alert-rule-list"), payload, format="json")
        assert response.status_code == 201 and response.json()["params"] == {"days": 45}

    def test_nonsense_params_are_a_400_and_nothing_is_written(self, api, admin):
        before = AlertRule.objects.count()
        payload = {"name": "Broken", "kind": "usage_drop", "params": {"percent": "lots"}}
        response = api(admin).post(reverse("api:alert-rule-list"), payload, format="json")
        assert response.status_code == 400
        assert response.json() == {"params": ["'percent' must be a number, not 'lots'."]}
        assert AlertRule.objects.count() == before

    def test_flags_filter_by_status_and_account(self, api, csm, own_account, teammate_account):
        RedFlagFactory(account=own_account)
        RedFlagFactory(account=teammate_account, status="resolved", resolved_at=timezone.now())
        client = api(csm, auth="token")
        assert len(client.get(reverse("api:red-flag-list")).json()["results"]) == 2
        body = client.get(reverse("api:red-flag-list"), {"status": "action"}).json()
        assert [r["account_name"] for r in body["results"]] == ["Acme Robotics"]
        assert (
            client.get(reverse("api:red-flag-list"), {"account": teammate_account.pk, "count": "true"}).json()["count"]
            == 1
        )

    def test_cleared_flags_say_when_and_why_and_filter_apart(self, api, csm, own_account):
        RedFlagFactory(account=own_account)
        cleared_at = timezone.now()
        RedFlagFactory(
            account=own_account,
            rule=default_rule("usage_drop"),
            status="cleared",
            cleared_at=cleared_at,
            cleared_reason="Condition no longer holds on 3 Jun 2025: Usage down 30% vs previous 4 weeks",
        )
        client = api(csm, auth="token")
        body = client.get(reverse("api:red-flag-list"), {"status": "cleared"}).json()
        assert [(r["status"], r["cleared_reason"]) for r in body["results"]] == [
            ("cleared", "Condition no longer holds on 3 Jun 2025: Usage down 30% vs previous 4 weeks")
        ]
        assert body["results"][0]["cleared_at"] == cleared_at.isoformat().replace("+00:00", "Z")
        for status in ("action", "unresolved"):
            assert len(client.get(reverse("api:red-flag-list"), {"status": status}).json()["results"]) == 1

    def test_acknowledge_snooze_resolve_through_the_api(self, api, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        client = api(csm, auth="token")
        assert client.post(reverse("api:red-flag-acknowledge", args=[flag.pk])).json()["status"] == "acknowledged"
        snoozed = client.post(reverse("api:red-flag-snooze", args=[flag.pk]), {"until": tomorrow()}, format="json")
        assert snoozed.json()["status"] == "snoozed"
        bad = client.post(reverse("api:red-flag-resolve", args=[flag.pk]), {"note": ""}, format="json")
        assert bad.status_code == 400
        done = client.post(reverse("api:red-flag-resolve", args=[flag.pk]), {"note": "Fixed"}, format="json")
        assert done.json()["status"] == "resolved" and done.json()["resolution_note"] == "Fixed"

    def test_a_past_snooze_is_a_400(self, api, csm, own_account):
        flag = RedFlagFactory(account=own_account)
        response = api(csm).post(reverse("api:red-flag-snooze", args=[flag.pk]), {"until": "2020-01-01"}, format="json")
        assert response.status_code == 400 and response.json() == {"until": ["Snooze until a date in the future."]}

    def test_the_wrong_user_gets_403_through_the_api_and_nothing_changes(self, api, other_manager, own_account):
        flag = RedFlagFactory(account=own_account)
        response = api(other_manager).post(
            reverse("api:red-flag-resolve", args=[flag.pk]), {"note": "x"}, format="json"
        )
        assert response.status_code == 403
        flag.refresh_from_db()
        assert flag.status == "open"

    @pytest.mark.parametrize("n", [5, 60])
    def test_the_flags_api_query_count_does_not_grow(self, api, django_assert_num_queries, csm, n):
        rules = [default_rule(kind) for kind in KINDS]
        accounts = [AccountFactory() for _ in range(n // len(KINDS) + 1)]
        RedFlag.objects.bulk_create(
            [
                RedFlag(rule=r, account=a, owner=a.owner, severity=r.severity, reason="x")
                for a in accounts
                for r in rules
            ][:n]
        )
        client = api(csm, auth="token")
        # token + user, page (rule and account joined): keyset pages count nothing unless asked
        with django_assert_num_queries(2):
            response = client.get(reverse("api:red-flag-list"), {"page_size": 500})
        assert len(response.json()["results"]) == n
