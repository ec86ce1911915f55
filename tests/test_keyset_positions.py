"""A keyset position (csm/pagination.py `after`): the rows after it are exactly the rows that follow it in the
ordering, whichever way its keys run, with ties on every key but the last and a computed key among them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import ARR_REPORTING_SORT_KEY, Account
from accounts.tests.factories import AccountFactory
from csm.pagination import RowAfter, _sort_keys, after, decode_cursor, encode_cursor, ordered

pytestmark = pytest.mark.django_db


@pytest.fixture
def book() -> None:
    for name, reporting in [("Acme", "10"), ("Acme", None), ("Beta", "10"), ("Acme", "10"), ("Beta", None)]:
        AccountFactory(name=name, arr_reporting=None if reporting is None else Decimal(reporting))


@pytest.mark.parametrize(
    ("declared", "descending"),
    [
        (("name", "id"), False),
        (("name", "id"), True),
        ((("arr_reporting_key", ARR_REPORTING_SORT_KEY), "id"), True),
        (("name", "-id"), False),  # keys running both ways: no single row comparison
        (("-name", "id"), True),
    ],
)
def test_the_rows_after_a_position_are_the_rows_that_follow_it(book, declared, descending):
    keys = _sort_keys(declared, descending=descending)
    rows = list(ordered(Account.objects.all(), keys))

    for position, row in enumerate(rows):
        # As a cursor carries them: dates, times and decimals as text.
        token = encode_cursor(ordering="x", values=[getattr(row, key.alias) for key in keys], reverse=False)
        values = decode_cursor(token, ordering="x", width=len(keys)).values
        following = ordered(Account.objects.all(), keys).filter(after(keys, values))
        assert [account.pk for account in following] == [account.pk for account in rows[position + 1 :]]


def test_keys_running_one_way_make_one_row_comparison(book):
    assert isinstance(after(_sort_keys(("name", "id"), descending=True), ["Acme", 1]), RowAfter)
    assert not isinstance(after(_sort_keys(("name", "-id"), descending=False), ["Acme", 1]), RowAfter)
