"""The desk's exports: the cockpit, all accounts, the alerts inbox and the portfolio's tables as CSV, with the page's filters,
sort and scope, labels not codes, converted ARR beside the original, and cells a spreadsheet cannot run."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, Coverage
from accounts.tests.factories import AccountFactory
from accounts.tests.volumes import SIZES, build_book
from core.csv_export import BOM
from desk.portfolio.tables import Table
from lifecycle.models import AccountHealth, RedFlag
from notifications.tests.factories import RedFlagFactory, default_rule
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db


def table(response) -> list[dict[str, str]]:
    """The export's rows as dicts keyed by header label."""
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body.removeprefix(BOM))))


@pytest.fixture
def varied(csm):
    today = timezone.localdate()
    return {
        "Aurora": AccountFactory(
            name="Aurora",
            domain="aurora.io",
            owner=csm,
            stage="adoption",
            tier="high",
            industry="healthcare",
            region="na",
            arr=Decimal("900000"),
            renewal_date=today + dt.timedelta(days=20),
        ),
        "Borealis": AccountFactory(
            name='=HYPERLINK("http://x","y")',
            domain="north.example",
            owner=csm,
            stage="at_risk",
            tier="tech",
            industry="retail",
            region="apac",
            arr=Decimal("12000"),
            currency="EUR",
            renewal_date=today + dt.timedelta(days=75),
        ),
        "Cirrus": AccountFactory(
            name="Cirrus",
            domain="@SUM(A1)",
            owner=csm,
            stage="success",
            tier="high",
            industry="healthcare",
            region="emea",
            arr=Decimal("250000"),
            currency="GBP",
            arr_reporting=Decimal("317500.00"),
            renewal_date=today + dt.timedelta(days=200),
        ),
    }


class TestAccountExport:
    def test_it_respects_the_filters_and_sort_and_names_every_matching_account(self, client, csm, varied):
        AccountFactory.create_batch(55, owner=csm, industry="retail")  # more than a page: all are exported
        client.force_login(csm)
        response = client.get(reverse("account-list"), {"industry": "healthcare", "sort": "-arr", "format": "csv"})
        assert [row["Account"] for row in table(response)] == ["Aurora", "Cirrus"]
        by_name = client.get(reverse("account-list"), {"industry": "healthcare", "sort": "-name", "format": "csv"})
        assert [row["Account"] for row in table(by_name)] == ["Cirrus", "Aurora"]
        stamp = timezone.localdate().isoformat()
        assert response["Content-Disposition"] == f'attachment; filename="baton-accounts-all-{stamp}.csv"'
        everything = table(client.get(reverse("account-list"), {"format": "csv"}))
        assert len(everything) == 58

    def test_labels_not_codes_and_people_by_name(self, client, csm, varied):
        client.force_login(csm)
        aurora = table(client.get(reverse("account-list"), {"industry": "healthcare", "format": "csv"}))[0]
        assert aurora["Account"] == "Aurora"
        assert (aurora["Industry"], aurora["Region"], aurora["Tier"], aurora["Stage"]) == (
            "Healthcare",
            "North America",
            "High-touch",
            "Adoption",
        )
        assert (aurora["Coverage"], aurora["Owner"], aurora["Owner username"], aurora["Pool"]) == (
            "Assigned CSM",
            "Alex Ward",
            "alex",
            "",
        )
        assert aurora["Health"] == "" and aurora["Health band"] == "" and aurora["Open flags"] == "0"

    def test_converted_arr_sits_beside_the_original_and_is_blank_without_a_rate(self, client, csm, varied):
        client.force_login(csm)
        rows = {row["Domain"]: row for row in table(client.get(reverse("account-list"), {"format": "csv"}))}
        assert (rows["aurora.io"]["ARR (USD)"], rows["aurora.io"]["ARR as written"], rows["aurora.io"]["Currency"]) == (
            "900000.00",
            "900000.00",
            "USD",
        )
        cirrus = rows["'@SUM(A1)"]
        assert (cirrus["ARR (USD)"], cirrus["ARR as written"], cirrus["Currency"]) == ("317500.00", "250000.00", "GBP")
        borealis = rows["north.example"]
        assert (borealis["ARR (USD)"], borealis["ARR as written"], borealis["Currency"]) == ("", "12000.00", "EUR")

    def test_formula_cells_are_neutralised_and_numbers_stay_numbers(self, client, csm, varied):
        AccountHealth.objects.create(
            account=varied["Aurora"], day=timezone.localdate(), score=Decimal("41.0"), band="yellow", delta_7d=-6
        )
        client.force_login(csm)
        rows = {row["ID"]: row for row in table(client.get(reverse("account-list"), {"format": "csv"}))}
        assert rows[str(varied["Borealis"].pk)]["Account"] == '\'=HYPERLINK("http://x","y")'
        assert rows[str(varied["Cirrus"].pk)]["Domain"] == "'@SUM(A1)"
        aurora = rows[str(varied["Aurora"].pk)]
        assert (aurora["Health"], aurora["Health band"], aurora["Trend (7 days)"]) == ("41.0", "Yellow", "-6.0")

    def test_the_cockpit_export_holds_only_my_desk(self, client, csm, own_account, pool_account, other_team_account):
        client.force_login(csm)
        response = client.get(reverse("cockpit"), {"format": "csv"})
        rows = {row["Account"]: row for row in table(response)}
        assert set(rows) == {"Acme Robotics", "Cobalt Bank"}
        assert rows["Cobalt Bank"]["Pool"] == "Enterprise" and rows["Cobalt Bank"]["Coverage"] == "Pooled team"
        assert "baton-accounts-mine-" in response["Content-Disposition"]

    def test_anonymous_visitors_get_no_file(self, client, varied):
        response = client.get(reverse("account-list"), {"format": "csv"})
        assert response.status_code == 302

    @pytest.mark.parametrize("url_name", ["cockpit", "account-list"])
    def test_the_page_links_its_export_with_the_current_filters(self, client, csm, varied, url_name):
        client.force_login(csm)
        page = html.unescape(client.get(reverse(url_name), {"tier": "high", "sort": "-arr"}).content.decode())
        assert 'id="export-csv" href="?tier=high&sort=-arr&format=csv">Export CSV</a>' in page

    @pytest.mark.parametrize("n", SIZES)
    def test_a_fixed_number_of_queries_however_many_accounts(self, client, django_assert_num_queries, csm, team, n):
        accounts = build_book(n, team)
        AccountHealth.objects.bulk_create(
            [AccountHealth(account=a, day=timezone.localdate(), score=50, band="yellow") for a in accounts[::2]]
        )
        client.force_login(csm)
        # session, user, the accounts with owner, pool and health in one query
        with django_assert_num_queries(3):
            rows = table(client.get(reverse("account-list"), {"format": "csv"}))
        assert len(rows) == n
        assert {row["Owner"] != "" or row["Pool"] == "Enterprise" for row in rows} == {True}


class TestAlertsExport:
    def test_it_holds_the_tab_and_filters_on_screen_with_labels(
        self, client, csm, own_account, pool_account, teammate_account
    ):
        mine = RedFlagFactory(account=own_account, reason="@SUM(A1) usage fell")
        RedFlagFactory(account=own_account, rule=default_rule("spend_rising"), severity="low")
        RedFlagFactory(account=pool_account, owner=None)
        RedFlagFactory(account=teammate_account)
        client.force_login(csm)
        response = client.get(reverse("alerts"), {"format": "csv"})
        rows = table(response)
        assert sorted(row["Account"] for row in rows) == ["Acme Robotics", "Acme Robotics", "Cobalt Bank"]
        assert "baton-alerts-mine-" in response["Content-Disposition"]
        team = table(client.get(reverse("alerts"), {"scope": "team", "format": "csv"}))
        assert len(team) == 4
        high = table(client.get(reverse("alerts"), {"severity": mine.severity, "format": "csv"}))
        row = next(row for row in high if row["ID"] == str(mine.pk))
        assert row["Reason"] == "'@SUM(A1) usage fell"
        assert row["Severity"] == mine.get_severity_display() and row["Status"] == "Open"
        assert row["Rule"] == mine.rule.name and row["Tier"] == own_account.get_tier_display()
        assert (row["Owner"], row["Owner username"], row["Covered by"]) == ("Alex Ward", "alex", "Alex Ward")
        assert row["ARR as written"] == f"{own_account.arr:.2f}" and row["Currency"] == own_account.currency
        pooled = next(row for row in rows if row["Account"] == "Cobalt Bank")
        assert pooled["Owner"] == "Enterprise pool" and pooled["Owner username"] == ""

    def test_converted_arr_is_blank_without_a_rate(self, client, csm):
        account = AccountFactory(owner=csm, currency="CHF", arr=Decimal("5000"), arr_reporting=None)
        RedFlagFactory(account=account)
        client.force_login(csm)
        (row,) = table(client.get(reverse("alerts"), {"format": "csv"}))
        assert (row["ARR (USD)"], row["ARR as written"], row["Currency"]) == ("", "5000.00", "CHF")

    def test_a_csm_cannot_export_another_teams_flags_through_the_team_tab(self, client, csm, other_team_account):
        RedFlagFactory(account=other_team_account)
        client.force_login(csm)
        assert table(client.get(reverse("alerts"), {"scope": "team", "format": "csv"})) == []
        assert len(table(client.get(reverse("alerts"), {"scope": "all", "format": "csv"}))) == 1

    def test_the_inbox_links_its_export_with_the_current_filters(self, client, csm):
        client.force_login(csm)
        page = html.unescape(client.get(reverse("alerts"), {"scope": "team", "severity": "high"}).content.decode())
        assert 'id="export-csv" href="?scope=team&severity=high&format=csv">Export CSV</a>' in page

    @pytest.mark.parametrize("n", [5, 60])
    def test_a_fixed_number_of_queries_however_many_flags(self, client, django_assert_num_queries, team, n):
        csm = CSMFactory(team=team)
        accounts = [AccountFactory(owner=csm) for _ in range(n)]
        rule = default_rule("band_red")
        RedFlag.objects.bulk_create(
            [RedFlag(rule=rule, account=a, owner=csm, severity=rule.severity, reason="x") for a in accounts]
        )
        Account.objects.filter(pk=accounts[0].pk).update(coverage=Coverage.POOLED, owner=None, pool=team)
        client.force_login(csm)
        # session, user, the flags with rule, owner, account, its owner and pool in one query
        with django_assert_num_queries(3):
            rows = table(client.get(reverse("alerts"), {"scope": "team", "format": "csv"}))
        assert len(rows) == n


def test_a_portfolio_table_goes_through_the_shared_writer():
    table_ = Table(
        name="low_arr_touchpoints",
        title="Low ARR, many touchpoints",
        headers=["Account", "ARR", "Touchpoints", "Owner"],
        rows=[['=HYPERLINK("http://x","y")', Decimal("-12.5"), -3, None]],
    )
    text = "".join(table_.csv_lines())
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
    assert rows == [["Account", "ARR", "Touchpoints", "Owner"], ['\'=HYPERLINK("http://x","y")', "-12.50", "-3", ""]]
