"""The product catalogue's pages: everyone signed in reads it; admins add, change and delete products.

A key is stored trimmed and lower-case and is unique whatever its case; a product that
entitlements or usage rows refer to cannot be deleted (409, saying what holds it).
"""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, Product
from accounts.products import services
from accounts.tests.factories import EntitlementFactory, ProductFactory
from lifecycle.models import ProductUsageDaily

pytestmark = pytest.mark.django_db

LIST = reverse("product-list")
NEW = reverse("product-create")


def edit_url(product) -> str:
    return reverse("product-edit", args=[product.pk])


def delete_url(product) -> str:
    return reverse("product-delete", args=[product.pk])


@pytest.fixture
def reports() -> Product:
    return ProductFactory(key="reports", name="Reports", description="Dashboards and exports")


def test_everyone_signed_in_reads_the_catalogue_with_how_many_accounts_hold_each_product(
    client, other_csm, own_account, teammate_account, reports
):
    year_ago = timezone.localdate() - dt.timedelta(days=365)
    EntitlementFactory(account=own_account, product=reports)
    EntitlementFactory(account=teammate_account, product=reports, starts_on=year_ago, ends_on=year_ago)
    ProductFactory(key="mobile", name="Mobile")
    client.force_login(other_csm)
    response = client.get(LIST)
    assert response.status_code == 200
    listed = {product.key: (product.holders, product.ever_held) for product in response.context["products"]}
    assert listed == {"reports": (1, 2), "mobile": (0, 0)}
    page = response.content.decode()
    assert "Dashboards and exports" in page and "<code>reports</code>" in page
    # Reading is all a CSM does here: no way to change the catalogue is offered.
    assert NEW not in page and edit_url(reports) not in page and delete_url(reports) not in page


def test_the_menu_offers_the_catalogue_to_admins(client, admin, csm):
    client.force_login(admin)
    assert f'href="{LIST}"' in client.get(reverse("cockpit")).content.decode()
    client.force_login(csm)
    assert f'href="{LIST}"' not in client.get(reverse("cockpit")).content.decode()


def test_someone_signed_out_is_sent_to_log_in(client, reports):
    for url in (LIST, NEW, edit_url(reports), delete_url(reports)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("n", [10, 200])
def test_the_catalogue_page_runs_a_fixed_number_of_queries(client, csm, own_account, django_assert_num_queries, n):
    products = Product.objects.bulk_create(ProductFactory.build_batch(n))
    for product in products[:5]:
        EntitlementFactory(account=own_account, product=product)
    client.force_login(csm)
    # Session, user, the user's team (menu), the bell's unread count, the products with their counts.
    with django_assert_num_queries(5):
        response = client.get(LIST)
    assert len(response.context["products"]) == n


def test_an_admin_adds_a_product_its_key_trimmed_and_lower_case_and_audited(client, admin):
    client.force_login(admin)
    response = client.post(NEW, {"key": "  Advanced-Reports ", "name": " Advanced reports ", "description": ""})
    assert response.status_code == 302 and response["Location"] == LIST
    product = Product.objects.get()
    assert (product.key, product.name) == ("advanced-reports", "Advanced reports")
    audit = AuditEvent.objects.get(subject_type="product")
    assert audit.action == services.PRODUCT_CREATED and audit.actor == admin and audit.account is None
    assert audit.changes["key"] == [None, "advanced-reports"]


@pytest.mark.parametrize("key", ["REPORTS", " reports "])
def test_a_key_taken_in_any_case_is_refused_with_the_product_that_has_it(client, admin, reports, key):
    client.force_login(admin)
    response = client.post(NEW, {"key": key, "name": "Reports again"})
    assert response.status_code == 422
    assert "The key “reports” is taken by Reports" in response.content.decode()
    assert Product.objects.count() == 1


@pytest.mark.parametrize(
    ("key", "message"),
    [("   ", "This field is required."), ("rep\torts", "no tabs or line breaks"), ("x" * 101, "at most 100")],
)
def test_a_blank_or_unprintable_or_long_key_is_refused(client, admin, key, message):
    client.force_login(admin)
    response = client.post(NEW, {"key": key, "name": "Reports"})
    assert response.status_code == 422
    assert message.lower() in response.content.decode().lower()
    assert not Product.objects.exists()


def test_an_admin_renames_a_product_and_changes_its_key(client, admin, reports):
    client.force_login(admin)
    response = client.get(edit_url(reports))
    assert response.status_code == 200 and response.context["form"].initial["key"] == "reports"
    response = client.post(
        edit_url(reports), {"key": "Reporting", "name": "Reporting", "description": "Dashboards and exports"}
    )
    assert response.status_code == 302
    reports.refresh_from_db()
    assert (reports.key, reports.name) == ("reporting", "Reporting")
    audit = AuditEvent.objects.get(subject_type="product")
    assert audit.changes == {"key": ["reports", "reporting"], "name": ["Reports", "Reporting"]}


def test_renaming_to_another_products_key_is_refused_and_nothing_changes(client, admin, reports):
    mobile = ProductFactory(key="mobile", name="Mobile")
    client.force_login(admin)
    response = client.post(edit_url(mobile), {"key": "Reports", "name": "Mobile"})
    assert response.status_code == 422
    assert "taken by Reports" in response.content.decode()
    mobile.refresh_from_db()
    assert mobile.key == "mobile" and not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["csm", "manager", "other_manager"])
def test_only_admins_change_the_catalogue(client, request, reports, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, {"key": "mobile", "name": "Mobile"}).status_code == 403
    assert client.post(edit_url(reports), {"key": "reports", "name": "Renamed"}).status_code == 403
    assert client.post(delete_url(reports)).status_code == 403
    assert list(Product.objects.values_list("key", "name")) == [("reports", "Reports")]


def test_an_admin_deletes_a_product_nothing_refers_to(client, admin, reports):
    client.force_login(admin)
    page = client.get(delete_url(reports)).content.decode()
    assert "No account holds it" in page
    response = client.post(delete_url(reports))
    assert response.status_code == 302
    assert not Product.objects.exists()
    audit = AuditEvent.objects.get(subject_type="product")
    assert audit.subject_id == reports.pk and audit.changes["key"] == ["reports", None]


def test_a_product_accounts_hold_is_not_deleted_and_the_page_says_why(client, admin, own_account, reports):
    EntitlementFactory(account=own_account, product=reports)
    client.force_login(admin)
    confirm = client.get(delete_url(reports))
    assert "1 account holds it (1 entitlement)" in confirm.content.decode()
    assert "btn-danger" not in confirm.content.decode()  # nothing to click
    response = client.post(delete_url(reports))
    assert response.status_code == 409
    assert "Reports is in use and cannot be deleted: 1 account holds it" in response.content.decode()
    assert Product.objects.filter(pk=reports.pk).exists() and not AuditEvent.objects.exists()


def test_a_product_with_usage_rows_is_not_deleted(admin, own_account, reports):
    ProductUsageDaily.objects.create(account=own_account, product=reports, day=timezone.localdate(), key_events=3)
    with pytest.raises(services.ProductInUse, match="daily product usage refers to it"):
        services.product_delete(actor=admin, product=reports)
    assert Product.objects.filter(pk=reports.pk).exists()
