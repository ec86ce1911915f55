"""The demo's products: a catalogue of six modules, and entitlements that tell each account's commercial story."""

import datetime as dt
import random
from collections import Counter, defaultdict
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone

from accounts.demo.products import CATALOGUE, catalogue_create, seed_products
from accounts.models import Account, Entitlement, Product, Stage, Tier
from accounts.tests.factories import AccountFactory, ProductFactory

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def test_the_catalogue_is_created_once_and_an_admins_changes_are_kept():
    ProductFactory(key="mobile", name="Mobile apps (renamed by an admin)")
    catalogue = catalogue_create()
    assert set(catalogue) == {key for key, _, _ in CATALOGUE} == set(Product.objects.values_list("key", flat=True))
    assert catalogue["mobile"].name == "Mobile apps (renamed by an admin)"
    assert catalogue_create().keys() == catalogue.keys() and Product.objects.count() == len(CATALOGUE)


def test_every_account_holds_core_with_its_licences_as_seats_and_bigger_tiers_hold_more(django_assert_num_queries):
    accounts = [
        AccountFactory(tier=tier, contract_start=TODAY - dt.timedelta(days=100))
        for tier in [Tier.HIGH_TOUCH, Tier.LOW_TOUCH, Tier.TECH_TOUCH] * 10
    ]
    licences = {account.pk: 10 + index for index, account in enumerate(accounts)}
    catalogue = catalogue_create()
    with django_assert_num_queries(1):  # one INSERT (of up to 2,000 rows): set-based
        seed_products(accounts, today=TODAY, rng=random.Random(1), licences=licences, catalogue=catalogue)
    core = dict(Entitlement.objects.filter(product__key="core").values_list("account_id", "seats"))
    assert core == licences  # no renewal yet, so one core entitlement each, for all the licences
    held = Counter()
    for account_id, tier, count in Account.objects.annotate(n=Count("entitlements")).values_list("pk", "tier", "n"):
        held[tier] += count
    assert held[Tier.HIGH_TOUCH] > held[Tier.LOW_TOUCH] > held[Tier.TECH_TOUCH] >= 10
    # Modules sold as a platform fee have no seats; the others a share of the licences.
    assert not Entitlement.objects.filter(product__key__in=["automation", "integrations"], seats__isnull=False).exists()
    reports = list(Entitlement.objects.filter(product__key="reports").values_list("seats", "account_id"))
    assert reports, "the seed gives some accounts the reports module"
    for seats, account_id in reports:
        assert 1 <= seats <= licences[account_id]


def test_the_entitlements_keep_every_rule_and_tell_the_accounts_history():
    call_command("seed_demo", seed=3, accounts=120, stdout=StringIO())
    accounts = Account.objects.all()
    assert Entitlement.objects.values("account").distinct().count() == accounts.count()
    assert not Entitlement.objects.filter(starts_on__gt=TODAY).exists()
    # An account holds a product once at a time.
    spans = defaultdict(list)
    for account_id, product_id, starts_on, ends_on in Entitlement.objects.values_list(
        "account_id", "product_id", "starts_on", "ends_on"
    ).order_by("starts_on"):
        for _, earlier_end in spans[(account_id, product_id)]:
            assert earlier_end is not None and earlier_end < starts_on
        spans[(account_id, product_id)].append((starts_on, ends_on))
    # Every current customer holds core today; a churned one holds nothing any more.
    in_force = Q(entitlements__starts_on__lte=TODAY) & (
        Q(entitlements__ends_on__isnull=True) | Q(entitlements__ends_on__gte=TODAY)
    )
    current = accounts.exclude(stage=Stage.CHURNED)
    assert current.filter(in_force, entitlements__product__key="core").distinct().count() == current.count()
    churned = accounts.filter(stage=Stage.CHURNED)
    assert churned.exists() and not churned.filter(in_force).exists()
    # Some history to show: core seats that grew at a renewal, and modules given up.
    assert Entitlement.objects.filter(product__key="core", ends_on__isnull=False, account__in=current).exists()
    assert Entitlement.objects.exclude(product__key="core").filter(ends_on__lt=TODAY, account__in=current).exists()
