import datetime as dt
from decimal import Decimal

import factory
from django.conf import settings
from django.utils import timezone

from accounts.models import (
    Account,
    Contact,
    Coverage,
    Entitlement,
    Industry,
    Outcome,
    OutcomeKind,
    OutcomeSource,
    Product,
    Region,
    Tier,
    TimelineEntry,
    TimelineKind,
)
from users.tests.factories import CSMFactory


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Account {n:04d}")
    domain = factory.LazyAttribute(lambda a: a.name.lower().replace(" ", "") + ".example")
    industry = Industry.SOFTWARE
    region = Region.EMEA
    arr = Decimal("50000")
    # What converted_arr_refresh writes while no exchange rate exists; a test with rates refreshes it.
    arr_reporting = factory.LazyAttribute(
        lambda a: a.arr if getattr(a, "currency", "USD") == settings.BATON_REPORTING_CURRENCY else None
    )
    contract_start = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=200))
    renewal_date = factory.LazyFunction(lambda: timezone.localdate() + dt.timedelta(days=165))
    tier = Tier.LOW_TOUCH
    coverage = Coverage.ASSIGNED
    owner = factory.SubFactory(CSMFactory)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    title = "Head of Operations"
    email = factory.Sequence(lambda n: f"contact{n}@customer.example")


class TimelineEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TimelineEntry

    account = factory.SubFactory(AccountFactory)
    kind = TimelineKind.NOTE
    summary = "Context from the last QBR"


class OutcomeFactory(factory.django.DjangoModelFactory):
    """A flat annual renewal that closed yesterday; rows straight into the table, as a test's given history."""

    class Meta:
        model = Outcome

    account = factory.SubFactory(AccountFactory)
    kind = OutcomeKind.RENEWED
    occurred_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))
    term_end = factory.LazyAttribute(lambda o: o.occurred_on)
    term_start = factory.LazyAttribute(lambda o: o.term_end.replace(year=o.term_end.year - 1))
    arr_before = Decimal("50000")
    arr_after = Decimal("50000")
    currency = "USD"
    source = OutcomeSource.PAGE


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    key = factory.Sequence(lambda n: f"module-{n}")
    name = factory.Sequence(lambda n: f"Module {n}")


class EntitlementFactory(factory.django.DjangoModelFactory):
    """Held since the start of the year, for 50 seats, until further notice."""

    class Meta:
        model = Entitlement

    account = factory.SubFactory(AccountFactory)
    product = factory.SubFactory(ProductFactory)
    seats = 50
    starts_on = factory.LazyFunction(lambda: timezone.localdate().replace(month=1, day=1))
    ends_on = None
