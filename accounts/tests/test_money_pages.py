"""The exchange-rates page and /api/exchange-rates/: everyone reads; admins add, delete and import; bad input says why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, ExchangeRate
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

PAGE = reverse("exchange-rate-list")
IMPORT = reverse("exchange-rate-import")
API = reverse("api:exchange-rate-list")
TODAY = timezone.localdate()
# Session, user, the user's team (menu), the bell's unread count.
FRAME = 4


def rate(currency: str = "EUR", value: str = "1.08", days_ago: int = 0) -> ExchangeRate:
    return ExchangeRate.objects.create(
        currency=currency, rate_to_reporting=Decimal(value), effective_on=TODAY - dt.timedelta(days=days_ago)
    )


@pytest.mark.parametrize("n", [2, 40])
def test_everyone_reads_the_rates_and_the_currencies_without_one_in_a_fixed_budget(
    client, csm, n, django_assert_num_queries
):
    for day in range(n):
        rate("EUR", "1.08", days_ago=day)
    AccountFactory(currency="BRL")
    AccountFactory(currency="JPY")
    client.force_login(csm)
    with django_assert_num_queries(FRAME + 2):  # the rates (with who added them), the currencies without one
        response = client.get(PAGE)
    assert response.status_code == 200
    assert "No exchange rate for BRL, JPY." in response.content.decode()
    assert "Add a rate" not in response.content.decode()


def test_an_admin_adds_a_rate_and_the_accounts_in_its_currency_convert(client, admin):
    account = AccountFactory(currency="GBP", arr=Decimal("1000"))
    client.force_login(admin)
    response = client.post(PAGE, {"currency": "gbp", "rate_to_reporting": "1.27", "effective_on": TODAY.isoformat()})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.arr_reporting == Decimal("1270.00")
    assert AuditEvent.objects.filter(subject_type="exchangerate", actor=admin).count() == 1


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"currency": "EURO", "rate_to_reporting": "1", "effective_on": "2026-01-01"}, "currency"),
        ({"currency": "EUR", "rate_to_reporting": "-1", "effective_on": "2026-01-01"}, "rate_to_reporting"),
        ({"currency": "EUR", "rate_to_reporting": "1", "effective_on": "someday"}, "effective_on"),
    ],
)
def test_a_bad_rate_on_the_page_is_a_422_naming_the_field(client, admin, data, field):
    client.force_login(admin)
    response = client.post(PAGE, data)
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    assert not ExchangeRate.objects.exists()


def test_a_second_rate_for_the_same_currency_and_day_is_a_422(client, admin):
    rate("EUR", "1.08")
    client.force_login(admin)
    response = client.post(PAGE, {"currency": "EUR", "rate_to_reporting": "1.1", "effective_on": TODAY.isoformat()})
    assert response.status_code == 422
    assert ExchangeRate.objects.get().rate_to_reporting == Decimal("1.08")


def test_only_admins_write_rates(client, csm, manager):
    existing = rate()
    for user in (csm, manager):
        client.force_login(user)
        assert (
            client.post(PAGE, {"currency": "GBP", "rate_to_reporting": "1", "effective_on": "2026-01-01"}).status_code
            == 403
        )
        assert client.post(reverse("exchange-rate-delete", args=[existing.pk])).status_code == 403
        assert (
            client.post(IMPORT, {"file": SimpleUploadedFile("r.csv", b"currency,rate,effective_on\n")}).status_code
            == 403
        )
    assert list(ExchangeRate.objects.all()) == [existing]


def test_an_admin_deletes_a_rate_and_its_accounts_lose_their_conversion(client, admin):
    existing = rate("EUR", "1.1")
    account = AccountFactory(currency="EUR", arr=Decimal("100"), arr_reporting=Decimal("110"))
    client.force_login(admin)
    assert client.post(reverse("exchange-rate-delete", args=[existing.pk])).status_code == 302
    account.refresh_from_db()
    assert account.arr_reporting is None


def test_an_admin_edits_a_rate_on_its_page_and_the_accounts_reconvert(client, admin):
    existing = rate("EUR", "1.10", days_ago=5)
    account = AccountFactory(currency="EUR", arr=Decimal("1000"), arr_reporting=Decimal("1100"))
    client.force_login(admin)
    edit = reverse("exchange-rate-edit", args=[existing.pk])
    page = client.get(edit)
    assert page.status_code == 200
    assert page.context["form"].initial["rate_to_reporting"] == Decimal("1.1")
    response = client.post(
        edit, {"rate_to_reporting": "1.2", "effective_on": (TODAY - dt.timedelta(days=5)).isoformat()}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.arr_reporting == Decimal("1200.00")
    event = AuditEvent.objects.get(subject_type="exchangerate", action="exchange_rate_updated")
    assert event.actor == admin


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"rate_to_reporting": "0", "effective_on": "2026-01-01"}, "rate_to_reporting"),
        ({"rate_to_reporting": "abc", "effective_on": "2026-01-01"}, "rate_to_reporting"),
        ({"rate_to_reporting": "1.2", "effective_on": "31/01/2026"}, "effective_on"),
    ],
)
def test_a_bad_edit_is_a_422_and_the_rate_stays(client, admin, data, field):
    existing = rate("EUR", "1.10")
    client.force_login(admin)
    response = client.post(reverse("exchange-rate-edit", args=[existing.pk]), data)
    assert response.status_code == 422
    assert response.context["form"].errors[field]
    existing.refresh_from_db()
    assert existing.rate_to_reporting == Decimal("1.10")


def test_moving_a_rate_onto_a_day_that_has_one_is_a_422(client, admin):
    rate("EUR", "1.10", days_ago=0)
    older = rate("EUR", "1.05", days_ago=9)
    client.force_login(admin)
    response = client.post(
        reverse("exchange-rate-edit", args=[older.pk]), {"rate_to_reporting": "1.05", "effective_on": TODAY.isoformat()}
    )
    assert response.status_code == 422
    older.refresh_from_db()
    assert older.effective_on == TODAY - dt.timedelta(days=9)


def test_only_admins_edit_rates(client, csm, manager):
    existing = rate("EUR", "1.10")
    for user in (csm, manager):
        client.force_login(user)
        edit = reverse("exchange-rate-edit", args=[existing.pk])
        assert client.get(edit).status_code == 403
        assert client.post(edit, {"rate_to_reporting": "9", "effective_on": TODAY.isoformat()}).status_code == 403
    existing.refresh_from_db()
    assert existing.rate_to_reporting == Decimal("1.10")
    assert client.get(reverse("exchange-rate-edit", args=[99999])).status_code == 403


CSV = b"currency,rate,effective_on\nEUR,1.08,2026-01-01\nGBP,1.27,2026-01-01\n"


def test_a_csv_import_checks_first_then_writes(client, admin):
    client.force_login(admin)
    checked = client.post(IMPORT, {"file": SimpleUploadedFile("rates.csv", CSV), "dry_run": "on"})
    assert checked.status_code == 200
    assert "2 rates would be added" in checked.content.decode()
    assert not ExchangeRate.objects.exists()
    written = client.post(IMPORT, {"file": SimpleUploadedFile("rates.csv", CSV)})
    assert written.status_code == 302
    assert ExchangeRate.objects.count() == 2


def test_a_csv_with_bad_rows_is_a_422_naming_each_row_by_its_line(client, admin):
    client.force_login(admin)
    response = client.post(
        IMPORT, {"file": SimpleUploadedFile("rates.csv", b"currency,rate,effective_on\nEUR,zero,2026-01-01\n")}
    )
    assert response.status_code == 422
    assert "Row 2, rate:" in response.content.decode()
    assert not ExchangeRate.objects.exists()


def test_a_file_that_is_not_text_is_a_422(client, admin):
    client.force_login(admin)
    response = client.post(IMPORT, {"file": SimpleUploadedFile("rates.csv", b"\xff\xfe\x00bad")})
    assert response.status_code == 422


# --- API -------------------------------------------------------------------------------------------


def test_everyone_signed_in_lists_rates_by_api(api, csm):
    rate("EUR", "1.08")
    response = api(csm, auth="token").get(API)
    assert response.status_code == 200
    [row] = response.json()["results"]
    assert (row["currency"], row["rate_to_reporting"], row["effective_on"]) == ("EUR", "1.08000000", TODAY.isoformat())


def test_signed_out_callers_read_no_rates(api):
    assert api().get(API).status_code in {401, 403}


def test_an_admin_adds_changes_and_deletes_a_rate_by_api(api, admin):
    account = AccountFactory(currency="EUR", arr=Decimal("1000"))
    client = api(admin, auth="token")
    created = client.post(
        API, {"currency": "eur", "rate_to_reporting": "1.1", "effective_on": TODAY.isoformat()}, format="json"
    )
    assert created.status_code == 201, created.json()
    url = reverse("api:exchange-rate-detail", args=[created.json()["id"]])
    assert client.patch(url, {"rate_to_reporting": "1.2"}, format="json").status_code == 200
    account.refresh_from_db()
    assert account.arr_reporting == Decimal("1200.00")
    assert client.patch(url, {"currency": "GBP"}, format="json").status_code == 400
    assert client.delete(url).status_code == 204
    account.refresh_from_db()
    assert account.arr_reporting is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "EURO", "rate_to_reporting": "1", "effective_on": "2026-01-01"}, "currency"),
        ({"currency": "EUR", "rate_to_reporting": "0", "effective_on": "2026-01-01"}, "rate_to_reporting"),
        ({"currency": "EUR", "rate_to_reporting": "x", "effective_on": "2026-01-01"}, "rate_to_reporting"),
        ({"currency": "EUR", "rate_to_reporting": "1"}, "effective_on"),
    ],
)
def test_a_bad_rate_by_api_is_a_400_naming_the_field(api, admin, body, field):
    response = api(admin, auth="token").post(API, body, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_duplicate_rate_by_api_is_a_400(api, admin):
    rate("EUR", "1.08")
    response = api(admin, auth="token").post(
        API, {"currency": "EUR", "rate_to_reporting": "1.1", "effective_on": TODAY.isoformat()}, format="json"
    )
    assert response.status_code == 400


def test_a_csm_cannot_write_rates_by_api(api, csm):
    response = api(csm, auth="token").post(
        API, {"currency": "EUR", "rate_to_reporting": "1.1", "effective_on": "2026-01-01"}, format="json"
    )
    assert response.status_code == 403
    assert not ExchangeRate.objects.exists()


def test_an_admin_imports_rates_by_api_checking_first(api, admin):
    client = api(admin, auth="token")
    url = reverse("api:exchange-rate-import-csv")
    checked = client.post(f"{url}?dry_run=1", {"file": SimpleUploadedFile("r.csv", CSV)}, format="multipart")
    assert checked.status_code == 200, checked.content
    assert checked.json() == {"created": 2, "updated": 0, "unchanged": 0, "dry_run": True}
    assert not ExchangeRate.objects.exists()
    written = client.post(url, {"file": SimpleUploadedFile("r.csv", CSV)}, format="multipart")
    assert written.status_code == 200 and ExchangeRate.objects.count() == 2


def test_a_bad_csv_by_api_is_a_400_naming_each_row_and_a_csm_cannot_import(api, admin, csm):
    url = reverse("api:exchange-rate-import-csv")
    bad = b"currency,rate,effective_on\nEUR,1.08,2026-01-01\nEURO,1,2026-01-01\n"
    response = api(admin, auth="token").post(url, {"file": SimpleUploadedFile("r.csv", bad)}, format="multipart")
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"index": 1, "field": "currency", "message": "A currency is three capital letters, e.g. EUR."}
    ]
    assert api(admin, auth="token").post(url, {}, format="multipart").status_code == 400
    refused = api(csm, auth="token").post(url, {"file": SimpleUploadedFile("r.csv", CSV)}, format="multipart")
    assert refused.status_code == 403
    assert not ExchangeRate.objects.exists()
