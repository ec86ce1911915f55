"""The alerts inbox: scope tabs with counts, filters, most severe first, and a query count that does not grow."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from lifecycle.models import RedFlag
from notifications.tests.factories import RedFlagFactory, default_rule
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

KINDS = ["band_red", "usage_drop", "no_touchpoint", "nps_detractor", "ticket_spike"]


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
