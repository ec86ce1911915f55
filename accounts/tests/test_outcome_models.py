"""Outcome rows: the movement and term length they derive, and the invariants the database itself refuses to break."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from accounts.models import Movement, Outcome, OutcomeKind
from accounts.outcomes import admin as outcomes_admin
from accounts.outcomes import services
from accounts.tests.factories import AccountFactory, OutcomeFactory

pytestmark = pytest.mark.django_db

JAN_1 = dt.date(2025, 1, 1)


@pytest.mark.parametrize(
    ("kind", "before", "after", "movement"),
    [
        (OutcomeKind.RENEWED, 50000, 60000, Movement.EXPANSION),
        (OutcomeKind.RENEWED, 50000, 50000, Movement.FLAT),
        (OutcomeKind.RENEWED, 50000, 45000, Movement.CONTRACTION),
        (OutcomeKind.DOWNGRADED, 50000, 30000, Movement.CONTRACTION),
        (OutcomeKind.CHURNED, 50000, 0, Movement.CHURN),
    ],
)
def test_the_arr_movement_is_derived_the_same_in_python_and_in_sql(kind, before, after, movement):
    outcome = OutcomeFactory(
        kind=kind,
        arr_before=Decimal(before),
        arr_after=Decimal(after),
        reason="budget" if kind == OutcomeKind.CHURNED else "",
    )
    assert outcome.movement == movement
    assert Outcome.objects.with_movement().get(pk=outcome.pk).arr_movement == movement
    assert not hasattr(Outcome, "arr_movement"), "the movement is derived, never stored"


def test_the_arr_change_is_given_in_money_and_percent():
    outcome = OutcomeFactory.build(arr_before=Decimal("50000"), arr_after=Decimal("60000"))
    assert (outcome.arr_change, outcome.arr_change_percent) == (Decimal("10000"), Decimal("20.0"))
    assert OutcomeFactory.build(arr_before=Decimal(0), arr_after=Decimal(100)).arr_change_percent is None


@pytest.mark.parametrize(
    ("start", "end", "months", "label"),
    [
        (dt.date(2025, 2, 1), dt.date(2025, 3, 1), 1, "Monthly"),
        (dt.date(2025, 1, 1), dt.date(2025, 2, 1), 1, "Monthly"),
        (dt.date(2025, 1, 1), dt.date(2025, 7, 1), 6, "6 months"),
        (JAN_1, dt.date(2026, 1, 1), 12, "Annual"),
        (dt.date(2024, 1, 1), dt.date(2025, 1, 1), 12, "Annual"),  # a leap year
        (JAN_1, dt.date(2027, 1, 1), 24, "2-year"),
        (JAN_1, dt.date(2028, 1, 1), 36, "3-year"),
    ],
)
def test_the_term_length_tells_monthly_annual_and_multi_year_contracts_apart(start, end, months, label):
    outcome = OutcomeFactory.build(term_start=start, term_end=end)
    assert (outcome.term_months, outcome.term_label) == (months, label)


# The database refuses what the services never write ---------------------------------------------


def _valid(**overrides) -> dict:
    values = {
        "account": AccountFactory(),
        "kind": OutcomeKind.RENEWED,
        "occurred_on": JAN_1,
        "term_start": dt.date(2024, 1, 1),
        "term_end": JAN_1,
        "arr_before": Decimal("50000"),
        "arr_after": Decimal("50000"),
        "currency": "USD",
        "source": "page",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "constraint"),
    [
        ({"kind": "paused"}, "outcome_kind_valid"),
        ({"source": "carrier_pigeon"}, "outcome_source_valid"),
        ({"reason": "moon_phase"}, "outcome_reason_valid"),
        ({"term_end": dt.date(2024, 1, 1)}, "outcome_term_end_after_start"),
        ({"term_end": dt.date(2023, 6, 1)}, "outcome_term_end_after_start"),
        ({"arr_before": Decimal("-1")}, "outcome_arr_not_negative"),
        ({"arr_after": Decimal("-1")}, "outcome_arr_not_negative"),
        ({"kind": OutcomeKind.CHURNED, "arr_after": Decimal(0)}, "outcome_churn_has_reason_and_no_arr"),
        (
            {"kind": OutcomeKind.CHURNED, "reason": "budget", "arr_after": Decimal(10)},
            "outcome_churn_has_reason_and_no_arr",
        ),
        ({"kind": OutcomeKind.DOWNGRADED, "arr_after": Decimal("50000")}, "outcome_downgrade_lowers_arr"),
        ({"kind": OutcomeKind.DOWNGRADED, "arr_after": Decimal("60000")}, "outcome_downgrade_lowers_arr"),
    ],
)
def test_the_database_refuses_an_outcome_that_breaks_an_invariant(overrides, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        with transaction.atomic():
            Outcome.objects.create(**_valid(**overrides))


def test_the_invariants_allow_the_three_kinds_done_right():
    Outcome.objects.create(**_valid(arr_after=Decimal(0)))  # a renewal at no charge is still a renewal
    Outcome.objects.create(**_valid(kind=OutcomeKind.DOWNGRADED, arr_after=Decimal("20000"), reason="budget"))
    Outcome.objects.create(**_valid(kind=OutcomeKind.CHURNED, arr_after=Decimal(0), reason="competitor"))
    assert Outcome.objects.count() == 3


def test_an_outcome_is_corrected_at_most_once_and_never_by_itself():
    original = OutcomeFactory()
    OutcomeFactory(account=original.account, corrects=original)
    with pytest.raises(IntegrityError), transaction.atomic():
        OutcomeFactory(account=original.account, corrects=original)
    with pytest.raises(IntegrityError), transaction.atomic():
        Outcome.objects.filter(pk=original.pk).update(corrects=original)


def test_the_database_refuses_a_correction_naming_another_accounts_outcome():
    theirs = OutcomeFactory()
    mine = AccountFactory()
    with pytest.raises(IntegrityError, match="outcome_corrects_same_account"), transaction.atomic():
        OutcomeFactory(account=mine, corrects=theirs)
    ours = OutcomeFactory(account=mine)
    correction = OutcomeFactory(account=mine, corrects=ours)
    with pytest.raises(IntegrityError, match="outcome_corrects_same_account"), transaction.atomic():
        Outcome.objects.filter(pk=correction.pk).update(corrects=theirs)


def test_deleting_an_account_takes_its_outcomes_and_corrections_with_it():
    original = OutcomeFactory()
    OutcomeFactory(account=original.account, corrects=original)
    original.account.delete()
    assert not Outcome.objects.exists()


# Append-only ---------------------------------------------------------------------------------------


def test_outcomes_have_no_update_or_delete_path_in_services_or_admin(rf, admin):
    assert not [name for name in dir(services) if name.startswith("outcome") and name.endswith(("_update", "_delete"))]
    request = rf.get("/")
    request.user = admin
    model_admin = outcomes_admin.OutcomeAdmin(Outcome, outcomes_admin.admin.site)
    outcome = OutcomeFactory()
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, outcome)
    assert not model_admin.has_delete_permission(request, outcome)


def test_the_effective_outcomes_leave_out_every_corrected_link_of_a_chain():
    first = OutcomeFactory()
    second = OutcomeFactory(account=first.account, corrects=first, arr_after=Decimal("55000"))
    third = OutcomeFactory(account=first.account, corrects=second, arr_after=Decimal("57000"))
    other = OutcomeFactory()
    assert set(Outcome.objects.effective()) == {third, other}
