"""Bulk signal ingestion: every row checked first, nothing written on any error, upserts that are safe to resend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.conftest import (  # noqa: F401
    admin,
    csm,
    manager,
    other_csm,
    other_team,
    other_team_account,
    own_account,
    pool_account,
    team,
    teammate,
    teammate_account,
)
from accounts.tests.factories import AccountFactory, ContactFactory
from lifecycle.models import Invoice, SupportTicket, SurveyResponse, UsageDaily
from lifecycle.signals import services as ingest

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def usage_row(target, days_ago: int = 1, **values) -> dict:
    row = {
        "account": target.pk,
        "day": (TODAY - dt.timedelta(days=days_ago)).isoformat(),
        "active_users": 40,
        "key_events": 900,
        "licences_used": 45,
        "licences_owned": 50,
    }
    row.update(values)
    return row


def errors_of(result: ingest.IngestResult) -> set[tuple[int, str]]:
    return {(error.index, error.field) for error in result.errors}


def pending_recomputes() -> set[int]:
    """Accounts the health engine has been asked to recompute (lifecycle.health.recompute)."""
    from lifecycle.health.models import PendingRecompute

    return set(PendingRecompute.objects.values_list("account_id", flat=True))


# --- Usage ------------------------------------------------------------------------------------------


def test_usage_rows_are_created_and_counted(admin, own_account):
    result = ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1), usage_row(own_account, 2)])
    assert result.ok
    assert (result.accepted, result.created, result.updated, result.unchanged) == (2, 2, 0, 0)
    assert result.account_ids == [own_account.pk]
    day = UsageDaily.objects.get(account=own_account, day=TODAY - dt.timedelta(days=1))
    assert (day.active_users, day.key_events, day.licences_used, day.licences_owned) == (40, 900, 45, 50)


def test_resending_the_same_usage_changes_nothing_and_a_changed_value_updates_in_place(admin, own_account):
    rows = [usage_row(own_account, days_ago) for days_ago in range(1, 8)]
    ingest.usage_ingest(actor=admin, rows=rows)

    again = ingest.usage_ingest(actor=admin, rows=rows)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)
    assert again.account_ids == []  # nothing changed, so no recompute either
    assert UsageDaily.objects.count() == 7

    rows[3]["active_users"] = 12
    changed = ingest.usage_ingest(actor=admin, rows=rows)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 6)
    assert UsageDaily.objects.count() == 7
    assert UsageDaily.objects.get(account=own_account, day=TODAY - dt.timedelta(days=4)).active_users == 12


def test_an_account_can_be_named_by_domain_in_any_case(admin, own_account):
    result = ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, account="ACME.example")])
    assert result.ok, result.errors
    assert UsageDaily.objects.get().account == own_account


def test_a_domain_two_accounts_share_must_be_sent_as_an_id(admin, own_account):
    AccountFactory(domain="acme.example")
    result = ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, account="acme.example")])
    assert [(e.index, e.field) for e in result.errors] == [(0, "account")]
    assert "send the id" in result.errors[0].message


def test_one_bad_row_rejects_the_whole_batch_with_row_level_errors(admin, own_account):
    rows = [
        usage_row(own_account, 1),
        usage_row(own_account, 2, active_users=-3),
        usage_row(own_account, 3, day="31/03/2025"),
        usage_row(own_account, 4, account=999_999),
        usage_row(own_account, 5, licences_owned="many"),
        usage_row(own_account, -2),  # the day after tomorrow
        {"account": own_account.pk},
        usage_row(own_account, 6, activeUsers=3),
        "not an object",
    ]
    result = ingest.usage_ingest(actor=admin, rows=rows)
    assert not result.ok
    assert errors_of(result) == {
        (1, "active_users"),
        (2, "day"),
        (3, "account"),
        (4, "licences_owned"),
        (5, "day"),
        (6, "day"),
        (6, "active_users"),
        (7, "activeUsers"),
        (8, "row"),
    }
    messages = {(e.index, e.field): e.message for e in result.errors}
    assert messages[(1, "active_users")] == "Cannot be negative (got -3)."
    assert messages[(3, "account")] == "No account has id 999999."
    assert "future" in messages[(5, "day")]
    assert UsageDaily.objects.count() == 0


def test_licences_used_may_exceed_licences_owned(admin, own_account):
    result = ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, licences_used=60, licences_owned=50)])
    assert result.ok


def test_the_same_account_and_day_twice_in_one_batch_is_an_error(admin, own_account):
    result = ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1), usage_row(own_account, 1)])
    assert errors_of(result) == {(1, "day")}
    assert "Row 0" in result.errors[0].message
    assert UsageDaily.objects.count() == 0


def test_more_than_the_maximum_rows_is_refused_before_reading_them(admin, own_account, monkeypatch):
    monkeypatch.setattr(ingest.bulk, "MAX_ROWS", 3)
    result = ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, d) for d in range(1, 5)])
    assert [(e.index, e.field) for e in result.errors] == [(-1, "rows")]


def test_a_dry_run_reports_what_would_change_and_writes_nothing(admin, own_account):
    ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1)])
    preview = ingest.usage_ingest(
        actor=admin, rows=[usage_row(own_account, 1, active_users=1), usage_row(own_account, 2)], dry_run=True
    )
    assert (preview.created, preview.updated, preview.unchanged, preview.written) == (1, 1, 0, False)
    assert UsageDaily.objects.get().active_users == 40


# --- Who may write ---------------------------------------------------------------------------------


def test_a_csm_writes_signals_for_their_own_and_their_pools_accounts(csm, own_account, pool_account):
    result = ingest.usage_ingest(actor=csm, rows=[usage_row(own_account), usage_row(pool_account)])
    assert result.ok, result.errors


def test_a_csm_cannot_write_signals_for_someone_elses_account(csm, own_account, teammate_account):
    result = ingest.usage_ingest(actor=csm, rows=[usage_row(own_account), usage_row(teammate_account)])
    assert result.forbidden
    assert [(e.index, e.field, e.message) for e in result.errors] == [
        (1, "account", "You cannot write signals for this account.")
    ]
    assert UsageDaily.objects.count() == 0


def test_admins_and_managers_feed_any_account(admin, manager, other_team_account):
    assert ingest.usage_ingest(actor=admin, rows=[usage_row(other_team_account, 1)]).ok
    assert ingest.usage_ingest(actor=manager, rows=[usage_row(other_team_account, 2)]).ok


# --- Tickets, surveys, invoices ------------------------------------------------------------------------


def test_tickets_upsert_on_account_and_external_id(admin, own_account):
    row = {
        "account": own_account.pk,
        "external_id": "ZD-1",
        "subject": "Export fails",
        "severity": "HIGH",
        "opened_at": "2025-03-01T09:00:00Z",
    }
    assert ingest.tickets_ingest(actor=admin, rows=[row]).created == 1
    assert ingest.tickets_ingest(actor=admin, rows=[row]).unchanged == 1
    closed = ingest.tickets_ingest(actor=admin, rows=[{**row, "closed_at": "2025-03-02T10:00:00+01:00"}])
    assert (closed.created, closed.updated) == (0, 1)
    ticket = SupportTicket.objects.get()
    assert ticket.severity == "high"
    assert ticket.closed_at == dt.datetime(2025, 3, 2, 9, 0, tzinfo=dt.UTC)


def test_a_ticket_cannot_close_before_it_opened_or_have_an_unknown_severity(admin, own_account):
    rows = [
        {"account": own_account.pk, "external_id": "1", "opened_at": "2025-03-02", "closed_at": "2025-03-01"},
        {"account": own_account.pk, "external_id": "2", "opened_at": "2025-03-02", "severity": "blocker"},
        {"account": own_account.pk, "opened_at": "yesterday"},
    ]
    result = ingest.tickets_ingest(actor=admin, rows=rows)
    assert errors_of(result) == {(0, "closed_at"), (1, "severity"), (2, "external_id"), (2, "opened_at")}
    assert SupportTicket.objects.count() == 0


def test_survey_scores_must_fit_their_kind(admin, own_account):
    base = {"account": own_account.pk, "responded_at": "2025-03-01T12:00:00Z"}
    rows = [
        {**base, "external_id": "n1", "kind": "nps", "score": 0},
        {**base, "external_id": "n2", "kind": "nps", "score": 11},
        {**base, "external_id": "c1", "kind": "csat", "score": 0},
        {**base, "external_id": "c2", "kind": "csat", "score": 5},
        {**base, "external_id": "x1", "kind": "ces", "score": 3},
    ]
    result = ingest.surveys_ingest(actor=admin, rows=rows)
    assert errors_of(result) == {(1, "score"), (2, "score"), (4, "kind")}
    assert SurveyResponse.objects.count() == 0


def test_the_same_external_id_may_be_an_nps_and_a_csat_response(admin, own_account):
    base = {"account": own_account.pk, "responded_at": "2025-03-01T12:00:00Z", "external_id": "r-7"}
    result = ingest.surveys_ingest(
        actor=admin, rows=[{**base, "kind": "nps", "score": 9}, {**base, "kind": "csat", "score": 4}]
    )
    assert result.created == 2


def test_a_survey_respondent_is_linked_by_email_when_known(admin, own_account):
    champion = ContactFactory(account=own_account, email="Ana@Acme.example")
    base = {"account": own_account.pk, "responded_at": "2025-03-01T12:00:00Z", "kind": "nps", "score": 3}
    ingest.surveys_ingest(
        actor=admin,
        rows=[
            {**base, "external_id": "1", "contact_email": "ana@acme.example", "comment": "Too slow"},
            {**base, "external_id": "2", "contact_email": "stranger@acme.example"},
        ],
    )
    assert SurveyResponse.objects.get(external_id="1").contact == champion
    assert SurveyResponse.objects.get(external_id="2").contact is None


def test_invoices_take_the_accounts_currency_unless_given_and_refuse_negative_or_float_amounts(admin, own_account):
    own_account.currency = "EUR"
    own_account.save()
    ok = ingest.invoices_ingest(
        actor=admin,
        rows=[
            {"account": own_account.pk, "external_id": "INV-1", "issued_on": "2025-01-31", "amount": "1250.5"},
            {
                "account": own_account.pk,
                "external_id": "INV-2",
                "issued_on": "2025-02-28",
                "amount": 900,
                "currency": "usd",
            },
        ],
    )
    assert ok.created == 2
    assert list(Invoice.objects.order_by("external_id").values_list("amount", "currency")) == [
        (Decimal("1250.50"), "EUR"),
        (Decimal("900.00"), "USD"),
    ]
    bad = ingest.invoices_ingest(
        actor=admin,
        rows=[
            {"account": own_account.pk, "external_id": "INV-3", "issued_on": "2025-03-31", "amount": "-1"},
            {"account": own_account.pk, "external_id": "INV-4", "issued_on": "2025-03-31", "amount": 10.1},
            {"account": own_account.pk, "external_id": "INV-5", "issued_on": "2025-03-31", "amount": "1.005"},
            {
                "account": own_account.pk,
                "external_id": "INV-6",
                "issued_on": "2025-03-31",
                "amount": "9",
                "currency": "€",
            },
        ],
    )
    assert errors_of(bad) == {(0, "amount"), (1, "amount"), (2, "amount"), (3, "currency")}
    assert Invoice.objects.count() == 2


# --- After commit, and at scale -------------------------------------------------------------------------


def test_exactly_the_accounts_whose_signals_changed_are_queued_for_recompute(
    admin, own_account, pool_account, django_capture_on_commit_callbacks
):
    from lifecycle.health.models import PendingRecompute

    ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1)])
    assert pending_recomputes() == {own_account.pk}
    PendingRecompute.objects.all().delete()  # as if the recompute ran

    with django_capture_on_commit_callbacks() as callbacks:
        ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1), usage_row(pool_account, 1)])
    assert pending_recomputes() == {pool_account.pk}  # own_account's row was unchanged
    assert len(callbacks) == 1  # the debounced recompute task, sent once the rows are committed


def test_nothing_is_queued_when_the_batch_is_rejected_or_unchanged(
    admin, own_account, django_capture_on_commit_callbacks
):
    from lifecycle.health.models import PendingRecompute

    ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1)])
    PendingRecompute.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 2, active_users=-1)])
        ingest.usage_ingest(actor=admin, rows=[usage_row(own_account, 1)])
    assert callbacks == []
    assert pending_recomputes() == set()


def test_queries_do_not_grow_with_rows(admin, csm):
    accounts = [AccountFactory(owner=csm) for _ in range(5)]
    rows = [usage_row(account, days_ago) for account in accounts for days_ago in range(1, 101)]  # 500 rows

    with CaptureQueriesContext(connection) as first:
        result = ingest.usage_ingest(actor=csm, rows=rows)
    assert result.created == 500
    inserts = [q for q in first.captured_queries if q["sql"].startswith('INSERT INTO "lifecycle_usagedaily"')]
    reads = [q for q in first.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    assert len(reads) == 2  # the accounts, and the rows that already exist
    batch = min(ingest.bulk.WRITE_BATCH, connection.ops.bulk_batch_size(["a"] * 8, rows))  # account, day and six values
    assert len(inserts) == -(-500 // batch)

    # Resending is pure reading: the same two queries, whatever the number of rows.
    with CaptureQueriesContext(connection) as again:
        ingest.usage_ingest(actor=csm, rows=rows)
    assert [
        q["sql"].split()[0] for q in again.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ] == [
        "SELECT",
        "SELECT",
    ]
