"""The dated history of an account's terms (renewal date, ARR and currency, tier), and what was known on a past day."""

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts import services
from accounts.models import AccountTerms, TermsSource
from accounts.selectors import account_terms_as_of
from accounts.tests.conftest import account_form_data
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

backfill = importlib.import_module("accounts.migrations.0005_terms_backfill_and_same_account_corrections")


def moment(day: dt.date, hour: int = 12) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def create(actor, **fields):
    values = {
        "name": "Echo Media",
        "industry": "media",
        "region": "emea",
        "arr": Decimal("120000"),
        "currency": "EUR",
        "contract_start": dt.date(2025, 1, 1),
        "renewal_date": dt.date(2026, 1, 1),
        "tier": "high",
    }
    values.update(fields)
    return services.account_create(actor=actor, fields=values, owner=actor)


def test_creating_an_account_keeps_its_first_terms_effective_from_its_creation(manager):
    account = create(manager)
    terms = account.terms_history.get()
    assert (terms.effective_at, terms.recorded_by, terms.source) == (account.created_at, manager, TermsSource.CREATED)
    assert (terms.contract_start, terms.renewal_date, terms.arr, terms.currency, terms.tier) == (
        dt.date(2025, 1, 1),
        dt.date(2026, 1, 1),
        Decimal("120000"),
        "EUR",
        "high",
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"arr": Decimal("150000")},
        {"currency": "GBP"},
        {"tier": "low"},
        {"renewal_date": dt.date(2027, 1, 1)},
        {"contract_start": dt.date(2025, 6, 1)},
    ],
)
def test_changing_a_term_adds_a_dated_row_in_the_same_update(manager, fields):
    account = create(manager)
    services.account_update(actor=manager, account=account, fields=fields)
    latest = account.terms_history.first()
    assert account.terms_history.count() == 2
    assert (latest.effective_at, latest.source, latest.recorded_by) == (account.updated_at, TermsSource.EDITED, manager)
    for name, value in fields.items():
        assert getattr(latest, name) == value


def test_changing_anything_else_or_nothing_adds_no_row(manager):
    account = create(manager)
    services.account_update(actor=manager, account=account, fields={"name": "Echo Media Group", "arr": account.arr})
    assert account.terms_history.count() == 1


def test_an_edit_on_the_account_page_keeps_the_new_terms(client, manager, own_account):
    client.force_login(manager)
    data = account_form_data(own_account, arr="99000")
    assert client.post(f"/accounts/{own_account.pk}/edit/", data).status_code == 302
    assert own_account.terms_history.get().arr == Decimal("99000")


def test_terms_as_of_a_past_day_are_what_was_known_then_not_what_changed_after(manager, time_machine):
    time_machine.move_to(moment(dt.date(2025, 1, 10)), tick=False)
    account = create(manager, arr=Decimal("100000"))
    time_machine.move_to(moment(dt.date(2025, 4, 1), hour=9), tick=False)
    services.account_update(actor=manager, account=account, fields={"arr": Decimal("80000")})
    time_machine.move_to(moment(dt.date(2025, 4, 1), hour=17), tick=False)
    services.account_update(actor=manager, account=account, fields={"tier": "low"})
    time_machine.move_to(moment(dt.date(2025, 7, 1)), tick=False)
    services.account_update(actor=manager, account=account, fields={"arr": Decimal("120000")})
    later = create(manager, name="Later Co")

    def known(day):
        return {pk: (terms.arr, terms.tier) for pk, terms in account_terms_as_of([account.pk, later.pk], day).items()}

    assert known(dt.date(2025, 1, 9)) == {}
    assert known(dt.date(2025, 1, 10)) == {account.pk: (Decimal("100000"), "high")}
    assert known(dt.date(2025, 3, 31)) == {account.pk: (Decimal("100000"), "high")}
    # Both of the day's changes count by its end.
    assert known(dt.date(2025, 4, 1)) == {account.pk: (Decimal("80000"), "low")}
    assert known(dt.date(2025, 6, 30)) == {account.pk: (Decimal("80000"), "low")}
    assert known(dt.date(2025, 7, 1)) == {
        account.pk: (Decimal("120000"), "low"),
        later.pk: (Decimal("120000"), "high"),
    }


def test_terms_as_of_a_day_cost_one_query_however_many_accounts(manager, django_assert_num_queries, time_machine):
    time_machine.move_to(moment(dt.date(2025, 1, 10)), tick=False)
    accounts = [create(manager, name=f"Account {i}", arr=Decimal(1000 * (i + 1))) for i in range(12)]
    time_machine.move_to(moment(dt.date(2025, 2, 10)), tick=False)
    for account in accounts[::2]:
        services.account_update(actor=manager, account=account, fields={"arr": account.arr + 1})
    time_machine.move_to(moment(dt.date(2025, 3, 10)), tick=False)
    for account in accounts[::3]:
        services.account_update(actor=manager, account=account, fields={"tier": "tech"})
    with django_assert_num_queries(1):
        as_of = account_terms_as_of([a.pk for a in accounts], dt.date(2025, 2, 28))
    assert {pk: terms.arr for pk, terms in as_of.items()} == {
        a.pk: Decimal(1000 * (i + 1)) + (1 if i % 2 == 0 else 0) for i, a in enumerate(accounts)
    }
    assert {terms.tier for terms in as_of.values()} == {"high"}
    with django_assert_num_queries(1):
        everyone = account_terms_as_of(None, dt.date(2025, 3, 10))
    assert len(everyone) == 12
    assert {pk for pk, terms in everyone.items() if terms.tier == "tech"} == {a.pk for a in accounts[::3]}


def test_ties_at_the_same_moment_go_to_the_row_written_last(manager, time_machine):
    time_machine.move_to(moment(dt.date(2025, 1, 10)), tick=False)
    account = create(manager)
    services.account_update(actor=manager, account=account, fields={"arr": Decimal("1")})
    services.account_update(actor=manager, account=account, fields={"arr": Decimal("2")})
    assert account_terms_as_of([account.pk], dt.date(2025, 1, 10))[account.pk].arr == Decimal("2")


def test_the_migration_keeps_each_existing_accounts_terms_from_its_creation():
    accounts = AccountFactory.create_batch(3)
    AccountTerms.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(backfill.BACKFILL)
    rows = {terms.account_id: terms for terms in AccountTerms.objects.all()}
    assert set(rows) == {account.pk for account in accounts}
    for account in accounts:
        terms = rows[account.pk]
        assert (terms.effective_at, terms.arr, terms.renewal_date, terms.tier, terms.source) == (
            account.created_at,
            account.arr,
            account.renewal_date,
            account.tier,
            "backfill",
        )
