"""/api/products/ and /api/entitlements/: the same rules as the pages, by session and by token.

Everyone signed in reads both; admins change the catalogue; whoever may change an account
changes its entitlements. Bad input is a 400 that says what is wrong; a product in use, a 409.
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Entitlement, Product
from accounts.products import services
from accounts.tests.factories import AccountFactory, EntitlementFactory, ProductFactory

pytestmark = pytest.mark.django_db

PRODUCTS = reverse("api:product-list")
ENTITLEMENTS = reverse("api:entitlement-list")
TODAY = timezone.localdate()
YEAR_START = TODAY.replace(month=1, day=1)


def product_url(product) -> str:
    return reverse("api:product-detail", args=[product.pk])


def entitlement_url(entitlement) -> str:
    return reverse("api:entitlement-detail", args=[entitlement.pk])


@pytest.fixture
def reports():
    return ProductFactory(key="reports", name="Reports")


# --- Products ----------------------------------------------------------------------------------------


def test_everyone_signed_in_lists_the_catalogue_with_holders(api, csm, own_account, reports):
    EntitlementFactory(account=own_account, product=reports)
    response = api(csm, auth="token").get(PRODUCTS)
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "id": reports.pk,
            "key": "reports",
            "name": "Reports",
            "description": "",
            "holders": 1,
            "created_at": response.json()["results"][0]["created_at"],
        }
    ]


def test_signed_out_callers_read_nothing(api, reports):
    assert api().get(PRODUCTS).status_code in {401, 403}
    assert api().get(ENTITLEMENTS).status_code in {401, 403}


def test_an_admin_adds_a_product_with_its_key_normalised(api, admin):
    response = api(admin, auth="token").post(PRODUCTS, {"key": " Mobile ", "name": "Mobile"}, format="json")
    assert response.status_code == 201
    assert response.json()["key"] == "mobile" and response.json()["holders"] == 0
    assert Product.objects.get().key == "mobile"
    assert AuditEvent.objects.get().subject_type == "product"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"key": "REPORTS", "name": "Again"}, "key", "The key “reports” is taken by Reports"),
        ({"key": "   ", "name": "Blank"}, "key", "This field may not be blank."),
        ({"key": "x" * 101, "name": "Long"}, "key", "Ensure this field has no more than 100 characters."),
        ({"key": "new"}, "name", "This field is required."),
    ],
)
def test_bad_product_input_is_a_400_saying_what_is_wrong(api, admin, reports, payload, field, message):
    response = api(admin).post(PRODUCTS, payload, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert Product.objects.count() == 1


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_only_admins_change_the_catalogue(api, request, reports, who):
    client = api(request.getfixturevalue(who), auth="token")
    assert client.post(PRODUCTS, {"key": "mobile", "name": "Mobile"}, format="json").status_code == 403
    assert client.patch(product_url(reports), {"name": "Renamed"}, format="json").status_code == 403
    assert client.delete(product_url(reports)).status_code == 403
    assert list(Product.objects.values_list("name", flat=True)) == ["Reports"]


def test_an_admin_renames_a_product_and_a_taken_key_is_refused(api, admin, reports):
    mobile = ProductFactory(key="mobile", name="Mobile")
    client = api(admin)
    response = client.patch(product_url(mobile), {"name": "Mobile apps", "key": "MOBILE-APPS"}, format="json")
    assert response.status_code == 200 and response.json()["key"] == "mobile-apps"
    response = client.patch(product_url(mobile), {"key": "Reports"}, format="json")
    assert response.status_code == 400 and "taken by Reports" in response.json()["key"][0]
    mobile.refresh_from_db()
    assert mobile.key == "mobile-apps"


def test_deleting_a_product_in_use_is_a_409_and_an_unused_one_goes(api, admin, own_account, reports):
    EntitlementFactory(account=own_account, product=reports)
    unused = ProductFactory(key="unused", name="Unused")
    client = api(admin)
    response = client.delete(product_url(reports))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("Reports is in use and cannot be deleted: 1 account holds it")
    assert client.delete(product_url(unused)).status_code == 204
    assert list(Product.objects.values_list("key", flat=True)) == ["reports"]


# --- Entitlements ----------------------------------------------------------------------------------


def test_the_list_filters_by_account_product_and_day_in_force(api, csm, own_account, teammate_account, reports):
    mobile = ProductFactory(key="mobile", name="Mobile")
    held = EntitlementFactory(account=own_account, product=reports, seats=40)
    EntitlementFactory(account=own_account, product=mobile, ends_on=YEAR_START + dt.timedelta(days=9))
    EntitlementFactory(account=teammate_account, product=reports)
    client = api(csm)
    assert client.get(ENTITLEMENTS).json()["count"] == 3
    by_account = client.get(ENTITLEMENTS, {"account": own_account.pk}).json()
    assert by_account["count"] == 2
    by_key = client.get(ENTITLEMENTS, {"product": "Reports", "account": own_account.pk}).json()["results"]
    assert by_key == [
        {
            "id": held.pk,
            "account": own_account.pk,
            "product": "reports",
            "product_name": "Reports",
            "seats": 40,
            "starts_on": YEAR_START.isoformat(),
            "ends_on": None,
            "in_force": True,
            "created_at": by_key[0]["created_at"],
        }
    ]
    assert client.get(ENTITLEMENTS, {"product": mobile.pk}).json()["count"] == 1
    later = (YEAR_START + dt.timedelta(days=10)).isoformat()
    assert client.get(ENTITLEMENTS, {"account": own_account.pk, "in_force_on": later}).json()["count"] == 1
    assert client.get(ENTITLEMENTS, {"account": 99999}).status_code == 400
    assert client.get(ENTITLEMENTS, {"in_force_on": "soon"}).status_code == 400
    assert client.get(ENTITLEMENTS, {"product": "9" * 30}).json()["count"] == 0


@pytest.mark.parametrize("n", [10, 200])
def test_the_entitlement_list_runs_a_fixed_number_of_queries(api, csm, team, django_assert_num_queries, n):
    products = Product.objects.bulk_create(ProductFactory.build_batch(3))
    accounts = [AccountFactory(owner=csm) for _ in range(3)]
    Entitlement.objects.bulk_create(
        EntitlementFactory.build(
            account=accounts[i % 3], product=products[i // 3 % 3], starts_on=YEAR_START.replace(year=2000 + i // 9)
        )
        for i in range(n)
    )
    client = api(csm)
    with django_assert_num_queries(4):  # session, user, count, page (with each row's product and account)
        response = client.get(ENTITLEMENTS, {"page_size": 500})
    assert response.json()["count"] == n


PERMISSIONS = [
    ("csm", "own_account", True),
    ("csm", "pool_account", True),
    ("csm", "teammate_account", False),
    ("other_csm", "own_account", False),
    ("manager", "teammate_account", True),
    ("other_manager", "own_account", False),
    ("admin", "other_team_account", True),
]


@pytest.mark.parametrize(("who", "account", "allowed"), PERMISSIONS)
def test_adding_needs_the_right_to_change_the_account(api, request, reports, who, account, allowed):
    account = request.getfixturevalue(account)
    client = api(request.getfixturevalue(who), auth="token")
    payload = {"account": account.pk, "product": "reports", "seats": 10, "starts_on": YEAR_START.isoformat()}
    response = client.post(ENTITLEMENTS, payload, format="json")
    assert response.status_code == (201 if allowed else 403)
    assert Entitlement.objects.filter(account=account).exists() is allowed


@pytest.mark.parametrize(("who", "account", "allowed"), PERMISSIONS)
def test_changing_and_deleting_need_the_right_to_change_the_account(api, request, reports, who, account, allowed):
    entitlement = EntitlementFactory(account=request.getfixturevalue(account), product=reports, seats=10)
    client = api(request.getfixturevalue(who))
    response = client.patch(entitlement_url(entitlement), {"seats": 20}, format="json")
    assert response.status_code == (200 if allowed else 403)
    entitlement.refresh_from_db()
    assert entitlement.seats == (20 if allowed else 10)
    assert client.delete(entitlement_url(entitlement)).status_code == (204 if allowed else 403)
    assert Entitlement.objects.exists() is not allowed


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"product": "nope"}, "product", "Object with key=nope does not exist."),
        ({"seats": 0}, "seats", "Ensure this value is greater than or equal to 1."),
        ({"starts_on": "yesterday"}, "starts_on", "Date has wrong format."),
        ({"ends_on": "2000-01-01"}, "ends_on", "It cannot end before it starts"),
        ({"account": 99999}, "account", "Invalid pk"),
    ],
)
def test_bad_entitlement_input_is_a_400_saying_what_is_wrong(api, csm, own_account, reports, payload, field, message):
    data = {"account": own_account.pk, "product": "reports", "starts_on": YEAR_START.isoformat(), **payload}
    response = api(csm).post(ENTITLEMENTS, data, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert not Entitlement.objects.exists()


def test_an_overlapping_entitlement_is_a_400_and_one_cannot_move_to_another_account(
    api, csm, own_account, pool_account, reports
):
    held = EntitlementFactory(account=own_account, product=reports)
    client = api(csm)
    later = {
        "account": own_account.pk,
        "product": "reports",
        "starts_on": (YEAR_START + dt.timedelta(days=5)).isoformat(),
    }
    response = client.post(ENTITLEMENTS, later, format="json")
    assert response.status_code == 400 and response.json()["starts_on"][0].startswith("Overlaps Reports from")
    response = client.patch(entitlement_url(held), {"account": pool_account.pk}, format="json")
    assert response.status_code == 400 and "cannot move to another account" in response.json()["account"][0]
    held.refresh_from_db()
    assert held.account == own_account


def test_every_api_write_is_audited(api, csm, own_account, reports):
    client = api(csm)
    payload = {"account": own_account.pk, "product": "reports", "starts_on": YEAR_START.isoformat()}
    created = client.post(ENTITLEMENTS, payload, format="json").json()
    client.patch(reverse("api:entitlement-detail", args=[created["id"]]), {"seats": 5}, format="json")
    client.delete(reverse("api:entitlement-detail", args=[created["id"]]))
    audits = AuditEvent.objects.filter(subject_type="entitlement", subject_id=created["id"]).order_by("pk")
    assert [audit.changes.get("seats") for audit in audits] == [[None, None], [None, 5], [5, None]]
    assert [audit.action for audit in audits] == [
        services.ENTITLEMENT_CREATED,
        services.ENTITLEMENT_UPDATED,
        services.ENTITLEMENT_DELETED,
    ]
