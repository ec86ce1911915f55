"""Query budgets of the catalogue's and the entitlements' pages and lists: the same count with 10 rows or 200.

The Account 360's (one query for its "Products" panel) is desk's: desk/tests/test_query_counts.py.
"""

import pytest
from django.urls import reverse

from accounts.models import Product
from accounts.tests.factories import ProductFactory
from accounts.tests.volumes import SIZES, build_entitlements

pytestmark = pytest.mark.django_db

# Session, user, the user's team (menu), the bell's unread count.
FRAME = 4


@pytest.fixture
def book(request, own_account):
    """`n` products, the account holding each of them (every other one ended)."""
    return build_entitlements(request.param, own_account)


def pages(account, entitlement) -> dict[str, tuple[str, int]]:
    """Each page with the queries it adds to the frame."""
    args = [account.pk, entitlement.pk]
    return {
        # The account (with its owner and pool, for the permission), the product choices.
        "add": (reverse("entitlement-create", args=[account.pk]), 2),
        # The account, the entitlement with its product, the product choices.
        "edit": (reverse("entitlement-edit", args=args), 3),
        # The account, the entitlement with its product.
        "end": (reverse("entitlement-end", args=args), 2),
        "delete": (reverse("entitlement-delete", args=args), 2),
    }


@pytest.mark.parametrize("book", SIZES, indirect=True)
@pytest.mark.parametrize("page", ["add", "edit", "end", "delete"])
def test_the_entitlement_pages_budget(client, csm, own_account, book, page, django_assert_num_queries):
    url, queries = pages(own_account, book[0])[page]
    client.force_login(csm)
    with django_assert_num_queries(FRAME + queries):
        response = client.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("n", SIZES)
def test_the_catalogue_forms_budget(client, admin, own_account, n, django_assert_num_queries):
    build_entitlements(n, own_account)
    product = Product.objects.first()
    client.force_login(admin)
    frame = FRAME - 1  # an admin has no team for the menu to name
    with django_assert_num_queries(frame):
        assert client.get(reverse("product-create")).status_code == 200
    with django_assert_num_queries(frame + 1):  # the product
        assert client.get(reverse("product-edit", args=[product.pk])).status_code == 200
    # The product, its entitlements counted, and whether any other table refers to it (daily product usage).
    with django_assert_num_queries(frame + 3):
        assert client.get(reverse("product-delete", args=[product.pk])).status_code == 200


@pytest.mark.parametrize("n", SIZES)
def test_the_product_list_endpoint_budget(api, csm, own_account, n, django_assert_num_queries):
    build_entitlements(n, own_account)
    ProductFactory()
    client = api(csm)
    with django_assert_num_queries(4):  # session, user, count, page with each product's holders
        response = client.get(reverse("api:product-list"), {"page_size": 500})
    assert response.json()["count"] == n + 1
