"""The alerts inbox: scope tabs with counts, filters, most severe first, a query count that does not grow, and the
flood guard's warnings above it for admins and managers."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from lifecycle.flags.models import FloodWarning
from lifecycle.health.recompute import health_recompute_all_inline
from lifecycle.models import RedFlag
from lifecycle.tests.test_flood_guard import silent_book
from notifications.tests.factories import RedFlagFactory, default_rule
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

KINDS = ["band_red", "usage_drop", "no_touchpoint", "nps_detractor", "ticket_spike"]
TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def now():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


class TestInbox:
    def test_a_csm_sees_their_own_and_their_pools_flags_under_mine(
        self, client, csm, own_account, pool_account, teammate_account
    ):
        mine = RedFlagFactory(account=own_account)
        pooled = RedFlagFactory(account=pool_account, owner=None)
        RedFlagFactory(account=teammate_account)
        client.force_login(csm)
        response = client.get(reverse("alerts"))
        assert response.context["scope"] == "mine"
        assert {row.flag.pk for row in response.context["rows"]} == {mine.pk, pooled.pk}
        assert dict((key, count) for key, _, count in response.context["scopes"]) == {"mine": 2, "team": 3, "all": 3}
        page = response.content.decode()
        assert "Health band is red (score 31)." in page and "Enterprise pool" in page

    def test_a_manager_starts_on_the_team_tab_and_may_act_on_every_row(
        self, client, manager, own_account, teammate_account, other_team_account
    ):
        for account in (own_account, teammate_account, other_team_account):
            RedFlagFactory(account=account)
        client.force_login(manager)
        response = client.get(reverse("alerts"))
        assert response.context["scope"] == "team"
        assert [row.can_act for row in response.context["rows"]] == [True, True]
        everything = client.get(reverse("alerts"), {"scope": "all"}).context["rows"]
        assert sorted(row.can_act for row in everything) == [False, True, True]

    def test_filters_narrow_the_list_and_resolved_flags_need_asking_for(self, client, csm, own_account):
        RedFlagFactory(account=own_account)
        RedFlagFactory(account=own_account, rule=default_rule("spend_rising"), severity="low")
        done = RedFlagFactory(
            account=own_account, rule=default_rule("usage_drop"), status="resolved", resolved_at=timezone.now()
        )
        client.force_login(csm)
        low = client.get(reverse("alerts"), {"severity": "low"}).context["rows"]
        assert [row.flag.rule.kind for row in low] == ["spend_rising"]
        assert len(client.get(reverse("alerts")).context["rows"]) == 2
        resolved = client.get(reverse("alerts"), {"status": "resolved"}).context["rows"]
        assert [row.flag.pk for row in resolved] == [done.pk]
        by_rule = client.get(reverse("alerts"), {"rule": default_rule("band_red").pk}).context["rows"]
        assert [row.flag.rule.kind for row in by_rule] == ["band_red"]

    def test_cleared_flags_leave_the_inbox_and_show_when_and_why_apart_from_resolved_ones(
        self, client, csm, own_account
    ):
        RedFlagFactory(account=own_account)
        cleared = RedFlagFactory(
            account=own_account,
            rule=default_rule("usage_drop"),
            status="cleared",
            cleared_at=timezone.now(),
            cleared_reason="Condition no longer holds on 3 Jun 2025: Usage down 30% vs previous 4 weeks",
        )
        RedFlagFactory(
            account=own_account, rule=default_rule("spend_rising"), status="resolved", resolved_at=timezone.now()
        )
        client.force_login(csm)
        assert [row.flag.rule.kind for row in client.get(reverse("alerts")).context["rows"]] == ["band_red"]
        response = client.get(reverse("alerts"), {"status": "cleared"})
        assert [row.flag.pk for row in response.context["rows"]] == [cleared.pk]
        page = response.content.decode()
        assert "Cleared · " in page and "Condition no longer holds on 3 Jun 2025" in page
        assert "Acknowledge</button>" not in page and ">Resolved</span>" not in page
        history = client.get(reverse("alerts"), {"status": "any"}).content.decode()
        assert "Cleared · " in history and ">Resolved</span>" in history

    def test_most_severe_first(self, client, csm, own_account):
        RedFlagFactory(account=own_account, rule=default_rule("spend_rising"), severity="low")
        RedFlagFactory(account=own_account, rule=default_rule("renewal_not_green"), severity="critical")
        RedFlagFactory(account=own_account, rule=default_rule("no_touchpoint"), severity="medium")
        client.force_login(csm)
        rows = client.get(reverse("alerts")).context["rows"]
        assert [row.flag.severity for row in rows] == ["critical", "medium", "low"]

    @pytest.mark.parametrize("n", [5, 60])
    def test_the_inbox_query_count_does_not_grow_with_flags(self, client, django_assert_num_queries, team, n):
        csm = CSMFactory(team=team)
        accounts = [AccountFactory(owner=csm if i % 2 else CSMFactory(team=team)) for i in range(n // len(KINDS) + 1)]
        rules = [default_rule(kind) for kind in KINDS]
        RedFlag.objects.bulk_create(
            [
                RedFlag(rule=rule, account=account, owner=account.owner, severity=rule.severity, reason="x")
                for account in accounts
                for rule in rules
            ][:n]
        )
        client.force_login(csm)
        # session, user, team (nav), bell, tab counts, rule choices, page count, page of flags
        with django_assert_num_queries(8):
            response = client.get(reverse("alerts"), {"scope": "team"})
        assert len(response.context["rows"]) == min(n, 50)


class TestFloodWarnings:
    """A rule that flagged more than the flood share of the book in a night heads the inbox for admins and managers."""

    @pytest.fixture
    def flooded(self, now):
        rule = silent_book(accounts=10, silent=5)
        health_recompute_all_inline(day=TODAY)
        return FloodWarning.objects.get(rule=rule)

    def test_a_rule_that_flagged_half_the_book_heads_the_inbox_for_managers_and_admins(
        self, client, flooded, manager, admin
    ):
        for user in (manager, admin):
            client.force_login(user)
            response = client.get(reverse("alerts"))
            assert response.context["flood_banner"].warnings == [flooded]
            page = " ".join(response.content.decode().split())
            assert "Flood guard: a rule flagged much of the book in one night" in page
            assert (
                "<strong>No touchpoint in 30 days</strong> raised <strong>5 new flags</strong> on the night of "
                "23 Nov 2026: <strong>50% of the book</strong> (10 accounts), above the 20% limit." in page
            )
            assert "Every flag was raised: none was held back." in page
            assert f"?scope=all&amp;rule={flooded.rule_id}" in page
        # Only an admin may change the share.
        assert reverse("flood-guard") in page
        client.force_login(manager)
        assert reverse("flood-guard") not in client.get(reverse("alerts")).content.decode()

    @pytest.mark.parametrize(
        ("accounts", "said"),
        [
            (
                1,
                "raised <strong>1 new flag</strong> on the night of 23 Nov 2026: <strong>100% of the book</strong> "
                "(1 account)",
            ),
            (
                2,
                "raised <strong>2 new flags</strong> on the night of 23 Nov 2026: <strong>100% of the book</strong> "
                "(2 accounts)",
            ),
        ],
    )
    def test_the_banner_counts_flags_and_accounts_in_english(self, client, now, manager, accounts, said):
        silent_book(accounts=accounts, silent=accounts)
        health_recompute_all_inline(day=TODAY)
        client.force_login(manager)
        page = " ".join(client.get(reverse("alerts")).content.decode().split())
        assert said in page

    def test_csms_do_not_see_it(self, client, flooded, csm):
        client.force_login(csm)
        response = client.get(reverse("alerts"))
        assert not response.context["flood_banner"]
        assert "Flood guard" not in response.content.decode()

    def test_acknowledging_it_in_place_takes_it_off_the_inbox(self, client, flooded, manager):
        client.force_login(manager)
        url = reverse("flood-warning-acknowledge", args=[flooded.pk])
        response = client.post(url, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert 'id="flood-warnings"' in response.content.decode() and "Acknowledge" not in response.content.decode()
        flooded.refresh_from_db()
        assert flooded.acknowledged_by == manager
        assert not client.get(reverse("alerts")).context["flood_banner"]

    def test_a_plain_post_goes_back_to_the_inbox(self, client, flooded, admin):
        client.force_login(admin)
        response = client.post(reverse("flood-warning-acknowledge", args=[flooded.pk]), follow=True)
        assert response.redirect_chain[-1][0] == reverse("alerts")
        assert "acknowledged" in response.content.decode()

    def test_a_csm_cannot_acknowledge_it_and_an_unknown_one_is_a_404(self, client, flooded, csm, manager):
        client.force_login(csm)
        assert client.post(reverse("flood-warning-acknowledge", args=[flooded.pk])).status_code == 403
        flooded.refresh_from_db()
        assert flooded.acknowledged_at is None
        client.force_login(manager)
        assert client.post(reverse("flood-warning-acknowledge", args=[flooded.pk + 99])).status_code == 404

    def test_the_banner_costs_a_manager_one_query(self, client, flooded, manager, django_assert_num_queries):
        client.force_login(manager)
        # session, user, team (nav), bell, tab counts, rule choices, page count (none on the team's tab, so no
        # page of flags to read), and the flood warnings: one more than a CSM's inbox
        with django_assert_num_queries(8):
            client.get(reverse("alerts"))
