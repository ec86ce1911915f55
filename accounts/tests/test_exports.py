"""Accounts' own exports: the account rows every list export starts from, the exchange rates,
whose file goes back in through the rates import, and an import's problems file."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.imports.models import ImportJob
from accounts.models import Account, Coverage, Entitlement, ExchangeRate, Product
from accounts.selectors import account_csv_rows, account_export_columns
from accounts.tests.factories import AccountFactory
from core.csv_export import BOM

pytestmark = pytest.mark.django_db

RATES = reverse("exchange-rate-list")
TODAY = timezone.localdate()


def table(response) -> tuple[bytes, list[dict[str, str]]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content)
    assert body.decode("utf-8").startswith(BOM)
    return body, list(csv.DictReader(io.StringIO(body.decode("utf-8").removeprefix(BOM))))


class TestAccountRows:
    def test_labels_names_and_money_beside_the_original(self, csm, team):
        AccountFactory(
            name="Zürich Re",
            owner=csm,
            industry="financial_services",
            region="emea",
            tier="tech",
            stage="at_risk",
            arr=Decimal("80000"),
            currency="CHF",
            arr_reporting=None,
        )
        AccountFactory(name="Pool Co", coverage=Coverage.POOLED, owner=None, pool=team, arr=Decimal("1000"))
        labels = [column.label for column in account_export_columns()]
        rows = [dict(zip(labels, row, strict=True)) for row in account_csv_rows(Account.objects.with_list_columns())]
        zurich, pooled = sorted(rows, key=lambda row: row["Account"], reverse=True)
        assert (zurich["Industry"], zurich["Region"], zurich["Tier"], zurich["Stage"]) == (
            "Financial services",
            "EMEA",
            "Tech-touch",
            "Renewal at risk",
        )
        assert (zurich["Owner"], zurich["Owner username"], zurich["Pool"]) == ("Alex Ward", "alex", "")
        assert labels[labels.index("ARR (USD)") : labels.index("Currency") + 1] == [
            "ARR (USD)",
            "ARR as written",
            "Currency",
        ]
        assert (zurich["ARR (USD)"], zurich["ARR as written"], zurich["Currency"]) == (None, Decimal("80000"), "CHF")
        assert (pooled["Coverage"], pooled["Owner"], pooled["Pool"]) == ("Pooled team", "", "Enterprise")
        assert pooled["ARR (USD)"] == Decimal("1000")

    @pytest.mark.parametrize("n", [3, 60])
    def test_one_query_however_many_accounts(self, csm, team, django_assert_num_queries, n):
        AccountFactory.create_batch(n, owner=csm)
        with django_assert_num_queries(1):
            rows = list(account_csv_rows(Account.objects.with_list_columns()))
        assert len(rows) == n


class TestExchangeRateExport:
    def test_everyone_exports_the_rates_in_the_import_columns_and_the_file_goes_back_in(self, client, csm, admin):
        ExchangeRate.objects.create(currency="EUR", rate_to_reporting=Decimal("1.08"), effective_on=TODAY)
        ExchangeRate.objects.create(
            currency="JPY",
            rate_to_reporting=Decimal("100"),
            effective_on=TODAY - dt.timedelta(days=3),
            created_by=admin,
        )
        client.force_login(csm)
        response = client.get(RATES, {"format": "csv"})
        assert "baton-exchange-rates-to-USD-" in response["Content-Disposition"]
        body, rows = table(response)
        assert [(row["currency"], row["rate"], row["effective_on"]) for row in rows] == [
            ("EUR", "1.08", TODAY.isoformat()),
            ("JPY", "100", (TODAY - dt.timedelta(days=3)).isoformat()),
        ]
        assert rows[1]["Added by"] == "Ada Admin"
        client.force_login(admin)
        again = client.post(
            reverse("exchange-rate-import"), {"file": SimpleUploadedFile("rates.csv", body), "dry_run": "on"}
        )
        assert again.status_code == 200
        assert "0 rates would be added, 0 changed, 2 unchanged" in again.content.decode()

    def test_the_page_links_its_export(self, client, csm):
        client.force_login(csm)
        assert 'id="export-csv" href="?format=csv">Export CSV</a>' in client.get(RATES).content.decode()

    @pytest.mark.parametrize("n", [2, 30])
    def test_a_fixed_number_of_queries_however_many_rates(self, client, csm, admin, django_assert_num_queries, n):
        ExchangeRate.objects.bulk_create(
            [
                ExchangeRate(
                    currency="EUR",
                    rate_to_reporting=Decimal("1.08"),
                    effective_on=TODAY - dt.timedelta(days=i),
                    created_by=admin,
                )
                for i in range(n)
            ]
        )
        client.force_login(csm)
        # session, user, the rates with who added them
        with django_assert_num_queries(3):
            _, rows = table(client.get(RATES, {"format": "csv"}))
        assert len(rows) == n


class TestImportProblemsFile:
    def test_the_problems_file_goes_through_the_shared_writer(self, client, admin):
        client.force_login(admin)
        upload = SimpleUploadedFile("a.csv", b'Website,Company\n=HYPERLINK("http://x"),X\n', content_type="text/csv")
        client.post(reverse("import-start"), {"kind": "accounts", "file": upload})
        job = ImportJob.objects.get()
        client.post(
            reverse("import-mapping", args=[job.pk]), {"column_0": "domain", "column_1": "name", "date_format": "iso"}
        )
        download = client.get(reverse("import-errors", args=[job.pk]))
        assert download["Content-Type"] == "text/csv; charset=utf-8"
        text = download.content.decode("utf-8")
        assert text.startswith(BOM)
        header, *problems = list(csv.reader(io.StringIO(text.removeprefix(BOM))))
        assert header == ["line", "column", "message"]
        assert problems and problems[0][0] == "2"
        assert not any(cell.startswith(("=", "+", "-", "@")) for row in problems for cell in row)


class TestProductExport:
    def test_everyone_exports_the_catalogue_with_how_many_accounts_hold_each(self, client, csm):
        product = Product.objects.create(key="reports", name="@Reports", description="-1 dashboards")
        Entitlement.objects.create(
            account=AccountFactory(), product=product, seats=5, starts_on=TODAY - dt.timedelta(days=10)
        )
        client.force_login(csm)
        response = client.get(reverse("product-list"), {"format": "csv"})
        _, rows = table(response)
        assert rows == [
            {
                "Product": "'@Reports",
                "Key": "reports",
                "Description": "'-1 dashboards",
                "Accounts today": "1",
                "Ever held": "1",
            }
        ]
        assert (
            'id="export-csv" href="?format=csv">Export CSV</a>' in client.get(reverse("product-list")).content.decode()
        )

    @pytest.mark.parametrize("n", [2, 20])
    def test_one_query_for_the_catalogue_however_many_products(self, client, csm, django_assert_num_queries, n):
        Product.objects.bulk_create([Product(key=f"p{i}", name=f"P{i}") for i in range(n)])
        client.force_login(csm)
        with django_assert_num_queries(3):  # session, user, the products with their counts
            _, rows = table(client.get(reverse("product-list"), {"format": "csv"}))
        assert len(rows) == n
