"""Recording outcomes: each kind, its audit record, timeline event and announced event; corrections; refusals."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.events import OutcomeRecorded
from accounts.models import AuditAction, AuditEvent, Outcome, OutcomeKind, OutcomeSource, TimelineKind
from accounts.outcomes.selectors import account_outcomes, current_term, outcome_for_term, outcomes_between
from accounts.outcomes.services import churn_record, outcome_draft, outcome_record, outcomes_record
from accounts.tests.factories import AccountFactory, OutcomeFactory
from core import events

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _today(time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC), tick=False)


@pytest.fixture
def announced():
    """Every OutcomeRecorded announced while the test runs, after its (test) transaction commits."""
    seen: list[OutcomeRecorded] = []
    events.subscribe(OutcomeRecorded, seen.append)
    yield seen
    events._handlers[OutcomeRecorded].remove(seen.append)


def renewal(actor, account, **overrides) -> Outcome:
    values = {
        "kind": OutcomeKind.RENEWED,
        "occurred_on": dt.date(2026, 3, 1),
        "term_start": dt.date(2025, 3, 1),
        "term_end": dt.date(2026, 3, 1),
        "arr_before": Decimal("50000"),
        "arr_after": Decimal("60000"),
        "source": OutcomeSource.PAGE,
    }
    values.update(overrides)
    return outcome_record(actor=actor, account=account, **values)


def test_a_renewal_with_expansion_is_recorded_with_audit_timeline_and_an_event(
    csm, own_account, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        outcome = renewal(csm, own_account, note="Added the analytics module")
    outcome.refresh_from_db()
    assert (outcome.kind, outcome.movement, outcome.term_months, outcome.currency) == (
        "renewed",
        "expansion",
        12,
        "USD",
    )
    assert (outcome.recorded_by, outcome.source, outcome.corrects) == (csm, "page", None)
    assert outcome.recorded_at == timezone.now()
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.actor, audit.account, audit.subject_type, audit.subject_id) == (
        AuditAction.OUTCOME_RECORDED,
        csm,
        own_account,
        "outcome",
        outcome.pk,
    )
    assert audit.changes["arr_after"] == [None, "60000"]
    assert audit.reason == "Added the analytics module"
    entry = own_account.timeline.get()
    assert (entry.kind, entry.event, entry.author, entry.body) == (
        TimelineKind.SYSTEM,
        "outcome_recorded",
        csm,
        "Added the analytics module",
    )
    assert entry.summary == "Outcome: Renewed, expansion: USD 50,000 → 60,000; annual term to 1 Mar 2026"
    assert announced == [
        OutcomeRecorded(
            outcome_id=outcome.pk,
            account_id=own_account.pk,
            kind="renewed",
            occurred_on=dt.date(2026, 3, 1),
            source="page",
        )
    ]


def test_a_churn_takes_a_reason_and_leaves_no_arr(csm, own_account):
    outcome = renewal(csm, own_account, kind=OutcomeKind.CHURNED, arr_after=None, reason="competitor")
    assert (outcome.arr_after, outcome.movement, outcome.reason) == (0, "churn", "competitor")
    assert own_account.timeline.get().summary == (
        "Outcome: Churned (Went to a competitor): USD 50,000 lost; annual term to 1 Mar 2026"
    )


def test_a_downgrade_lowers_the_arr_and_keeps_the_customer(csm, own_account):
    outcome = renewal(
        csm, own_account, kind=OutcomeKind.DOWNGRADED, occurred_on=dt.date(2025, 9, 1), arr_after=Decimal("30000")
    )
    assert (outcome.movement, outcome.arr_change) == ("contraction", Decimal("-20000"))


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"kind": OutcomeKind.CHURNED, "arr_after": None}, "reason", "Say why the customer left."),
        ({"kind": OutcomeKind.CHURNED, "reason": "price"}, "arr_after", "pays nothing"),
        ({"kind": OutcomeKind.DOWNGRADED, "arr_after": Decimal("50000")}, "arr_after", "A downgrade lowers the ARR"),
        ({"arr_after": None}, "arr_after", "Say what the customer pays from now on."),
        ({"term_end": dt.date(2025, 3, 1)}, "term_end", "The term must end after it starts."),
        ({"occurred_on": dt.date(2026, 3, 3)}, "occurred_on", "has not come yet"),
        ({"arr_before": Decimal("-5")}, "arr_before", "cannot be negative"),
        ({"arr_after": Decimal("1.005")}, "arr_after", "two decimal places"),
        ({"arr_after": Decimal("1e13")}, "arr_after", "more than Baton can hold"),
        ({"currency": "EURO"}, "currency", "three-letter"),
        ({"kind": "paused"}, "kind", "renewed, downgraded or churned"),
        ({"reason": "moon_phase"}, "reason", "Unknown reason"),
    ],
)
def test_a_bad_outcome_is_refused_with_a_message_on_its_field_and_nothing_written(
    csm, own_account, nothing_written, overrides, field, message
):
    with nothing_written(), pytest.raises(ValidationError) as error:
        renewal(csm, own_account, **overrides)
    assert message in " ".join(error.value.message_dict[field])
    assert not Outcome.objects.exists()


def test_the_same_outcome_is_not_recorded_twice(csm, own_account, nothing_written):
    renewal(csm, own_account)
    with nothing_written(), pytest.raises(ValidationError, match="Already recorded: renewed on 1 Mar 2026"):
        renewal(csm, own_account, note="double click")
    assert Outcome.objects.count() == 1


# Corrections ---------------------------------------------------------------------------------------


def test_a_wrong_outcome_is_corrected_by_a_new_one_and_the_selectors_answer_with_the_correction(csm, own_account):
    wrong = renewal(csm, own_account, arr_after=Decimal("65000"))
    right = renewal(csm, own_account, arr_after=Decimal("56000"), corrects=wrong, note="The quote had a typo")
    wrong.refresh_from_db()
    assert wrong.arr_after == Decimal("65000"), "the corrected outcome stays as it was recorded"
    assert outcome_for_term(own_account.pk, dt.date(2026, 3, 1)) == right
    assert list(outcomes_between(dt.date(2026, 1, 1), TODAY)) == [right]
    audit = AuditEvent.objects.filter(action=AuditAction.OUTCOME_CORRECTED).get()
    assert audit.changes == {"arr_after": ["65000", "56000"], "note": ["", "The quote had a typo"]}
    assert own_account.timeline.filter(event="outcome_corrected").get().summary.startswith("Outcome corrected:")
    entries = account_outcomes(own_account)
    assert [(entry.outcome, entry.corrected_by, entry.effective) for entry in entries] == [
        (right, None, True),
        (wrong, right, False),
    ]


def test_a_correction_may_change_what_happened_altogether(csm, own_account):
    wrong = renewal(csm, own_account)
    churn = renewal(csm, own_account, kind=OutcomeKind.CHURNED, arr_after=None, reason="budget", corrects=wrong)
    assert outcome_for_term(own_account.pk, dt.date(2026, 3, 1)) == churn
    assert outcomes_between(TODAY - dt.timedelta(days=5), TODAY).get().arr_movement == "churn"


def test_a_correction_must_name_an_uncorrected_outcome_of_the_same_account(csm, own_account, other_team_account):
    theirs = OutcomeFactory(account=other_team_account)
    with pytest.raises(ValidationError, match="same account"):
        renewal(csm, own_account, corrects=theirs)
    first = renewal(csm, own_account)
    renewal(csm, own_account, arr_after=Decimal("61000"), corrects=first)
    with pytest.raises(ValidationError, match="corrected already") as error:
        renewal(csm, own_account, arr_after=Decimal("62000"), corrects=first)
    assert "corrects" in error.value.message_dict


# Many at once, and the current term ------------------------------------------------------------------


def test_many_outcomes_are_written_set_based_with_an_audit_record_and_timeline_entry_each(
    csm, django_assert_num_queries
):
    accounts = AccountFactory.create_batch(5)
    drafts = [
        outcome_draft(
            account=account,
            kind=OutcomeKind.RENEWED,
            occurred_on=dt.date(2026, 1, 1),
            term_start=dt.date(2025, 1, 1),
            term_end=dt.date(2026, 1, 1),
            arr_before=Decimal(1000),
            arr_after=Decimal(1100),
            source=OutcomeSource.CSV,
        )
        for account in accounts
    ]
    # Lock the accounts, read their outcomes, insert outcomes, audit records and timeline entries (plus savepoints).
    with django_assert_num_queries(7):
        written = outcomes_record(actor=csm, outcomes=drafts)
    assert len(written) == Outcome.objects.count() == AuditEvent.objects.count() == 5
    assert all(outcome.pk for outcome in written)


def test_many_outcomes_are_refused_together_when_one_is_wrong(csm, nothing_written):
    good, bad = AccountFactory.create_batch(2)
    drafts = [
        outcome_draft(
            account=account,
            kind=OutcomeKind.CHURNED,
            occurred_on=dt.date(2026, 1, 1),
            term_start=dt.date(2025, 1, 1),
            term_end=dt.date(2026, 1, 1),
            arr_before=Decimal(1000),
            reason=reason,
            source=OutcomeSource.CSV,
        )
        for account, reason in [(good, "price"), (bad, "")]
    ]
    with nothing_written(), pytest.raises(ValidationError, match="Item 2, reason: Say why the customer left."):
        outcomes_record(actor=csm, outcomes=drafts)


def test_the_current_term_starts_at_the_last_renewal_when_that_is_later_than_the_contract_start(csm):
    account = AccountFactory(contract_start=dt.date(2024, 3, 1), renewal_date=dt.date(2027, 3, 1))
    assert current_term(account) == (dt.date(2024, 3, 1), dt.date(2027, 3, 1))
    renewal(
        csm, account, term_start=dt.date(2024, 3, 1), term_end=dt.date(2025, 3, 1), occurred_on=dt.date(2025, 2, 20)
    )
    assert current_term(account) == (dt.date(2025, 3, 1), dt.date(2027, 3, 1))
    account.renewal_date = dt.date(2025, 3, 1)  # not moved on after the renewal: no end known
    assert current_term(account) == (dt.date(2025, 3, 1), None)


def test_a_churn_closes_the_current_term_at_todays_arr(csm):
    account = AccountFactory(
        contract_start=dt.date(2025, 6, 1), renewal_date=dt.date(2026, 6, 1), arr=Decimal("42000"), currency="EUR"
    )
    outcome = churn_record(actor=csm, account=account, reason="champion_left", note="Our sponsor moved on")
    assert (outcome.occurred_on, outcome.term_start, outcome.term_end) == (
        TODAY,
        dt.date(2025, 6, 1),
        dt.date(2026, 6, 1),
    )
    assert (outcome.arr_before, outcome.arr_after, outcome.currency) == (Decimal("42000"), 0, "EUR")
    assert (outcome.source, outcome.note) == ("stage_change", "Our sponsor moved on")


def test_a_churn_without_contract_dates_closes_the_term_from_creation_to_today(csm):
    account = AccountFactory(contract_start=None, renewal_date=None)
    account.created_at = timezone.now() - dt.timedelta(days=90)
    outcome = churn_record(actor=csm, account=account, reason="budget")
    assert (outcome.term_start, outcome.term_end) == (TODAY - dt.timedelta(days=90), TODAY)
    brand_new = AccountFactory(contract_start=None, renewal_date=None)
    with pytest.raises(ValidationError, match="no contract term to close"):
        churn_record(actor=csm, account=brand_new, reason="budget")
