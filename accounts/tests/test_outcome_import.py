"""Importing outcomes from CSV: a dry run that writes nothing, then exactly what it showed; clear words for bad files."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import AuditEvent, Outcome, TimelineEntry
from accounts.outcomes.csv_files import outcomes_csv_import, outcomes_csv_preview
from accounts.tests.factories import AccountFactory, OutcomeFactory

pytestmark = pytest.mark.django_db

URL = reverse("outcome-import")
HEADER = "account,kind,occurred_on,term_start,term_end,arr_before,arr_after,currency,reason,note"


def upload(client, text: str | bytes, name: str = "outcomes.csv"):
    content = text.encode() if isinstance(text, str) else text
    return client.post(URL, {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def confirm(client, preview_response, **changes):
    form = preview_response.context["confirm_form"]
    data = {"content": form.initial["content"], "digest": form.initial["digest"], **changes}
    return client.post(URL, data)


@pytest.fixture
def book(own_account, teammate_account, other_team_account):
    """Acme (id and domain known), Birch (same team), Delta (another team's)."""
    return own_account, teammate_account, other_team_account


def good_file(own_account, teammate_account) -> str:
    return "\n".join(
        [
            HEADER,
            f"{own_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,48000,52000,,,Added 10 seats",
            "birch.example,Churned,2025-06-30,2024-07-01,2025-07-01,12000,,EUR,Went to a competitor,",
            f"{own_account.pk},downgraded,2025-09-01,2025-03-01,2026-03-01,52000,40000,USD,budget,",
        ]
    )


def test_the_dry_run_previews_what_would_be_recorded_and_writes_nothing(client, manager, book, nothing_written):
    own_account, teammate_account, _ = book
    client.force_login(manager)
    with nothing_written():
        response = upload(client, good_file(own_account, teammate_account))
    assert response.status_code == 200
    assert not Outcome.objects.exists()
    summary = response.context["summary"]
    assert (summary.outcomes, summary.accounts) == (3, 2)
    assert summary.by_kind == [("Renewed", 1), ("Downgraded", 1), ("Churned", 1)]
    assert summary.by_movement == [("Expansion", 1), ("Contraction", 1), ("Churn", 1)]
    assert summary.arr == [("EUR", Decimal("12000"), Decimal("0")), ("USD", Decimal("100000"), Decimal("92000"))]
    page = response.content.decode()
    assert "All 3 rows are valid." in page and "Nothing has been written yet." in page
    assert 'id="confirm-form"' in page and "Birch Health" in page and "Went to a competitor" in page


def test_the_import_writes_exactly_what_the_dry_run_showed(client, manager, book):
    own_account, teammate_account, _ = book
    client.force_login(manager)
    preview = upload(client, good_file(own_account, teammate_account))
    response = confirm(client, preview)
    assert response.status_code == 302 and response.url == URL
    written = list(Outcome.objects.order_by("occurred_on"))
    assert [(o.account, o.kind, o.arr_before, o.arr_after, o.currency, o.reason, o.source) for o in written] == [
        (own_account, "renewed", Decimal("48000"), Decimal("52000"), "USD", "", "csv"),
        (teammate_account, "churned", Decimal("12000"), Decimal("0"), "EUR", "competitor", "csv"),
        (own_account, "downgraded", Decimal("52000"), Decimal("40000"), "USD", "budget", "csv"),
    ]
    assert {o.recorded_by for o in written} == {manager}
    assert AuditEvent.objects.count() == TimelineEntry.objects.filter(event="outcome_recorded").count() == 3
    page = client.get(URL).content.decode()
    assert "Recorded 3 outcomes for 2 accounts." in page


def test_importing_the_same_file_again_records_nothing_twice(client, manager, book, nothing_written):
    own_account, teammate_account, _ = book
    client.force_login(manager)
    confirm(client, upload(client, good_file(own_account, teammate_account)))
    with nothing_written():
        again = upload(client, good_file(own_account, teammate_account))
    assert again.status_code == 422
    assert [error.line for error in again.context["errors"]] == [2, 3, 4]
    assert all("Already recorded" in error.message for error in again.context["errors"])


def test_mixed_good_and_bad_rows_write_nothing_and_every_problem_is_listed_by_line_and_column(
    client, manager, book, nothing_written
):
    own_account, teammate_account, other_team_account = book
    AccountFactory(name="Twin A", domain="twins.example", owner=manager)
    AccountFactory(name="Twin B", domain="twins.example", owner=manager)
    text = "\n".join(
        [
            HEADER,
            f"{own_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,48000,52000,,,fine",
            "birch.example,churned,2025-06-30,2024-07-01,2025-07-01,12000,,,,",
            f"{own_account.pk},renewed,01/03/2025,2024-03-01,2025-03-01,48000,52000,,,",
            f"{own_account.pk},downgraded,2025-04-01,2025-03-01,2026-03-01,52000,60000,,,",
            "nobody.example,renewed,2025-03-01,2024-03-01,2025-03-01,1,1,,,",
            f"{other_team_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,1,1,,,",
            "twins.example,renewed,2025-03-01,2024-03-01,2025-03-01,1,1,,,",
            f"{own_account.pk},renewed,2025-03-01,2025-03-01,2024-03-01,1 000,1,,,",
            f"{own_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,48000,52000,,,same as line 2",
            f"{own_account.pk},promoted,2025-03-01,2024-03-01,2025-03-01,1,1,,,",
        ]
    )
    client.force_login(manager)
    with nothing_written():
        response = upload(client, text)
    assert response.status_code == 422
    assert not Outcome.objects.exists()
    found = [(error.line, error.column, error.message) for error in response.context["errors"]]
    assert found == [
        (3, "reason", "Say why the customer left."),
        (4, "occurred_on", "Use a date like 2025-03-31."),
        (5, "arr_after", found[2][2]),
        (6, "account", "No account has the domain nobody.example."),
        (7, "account", "You cannot record outcomes for this account."),
        (8, "account", found[5][2]),
        (9, "arr_before", "Use a number like 50000 or 50000.00, without thousands separators."),
        (10, "row", "The same outcome as line 2."),
        (11, "kind", "Use renewed, downgraded or churned (got “promoted”)."),
    ]
    assert found[2][2].startswith("A downgrade lowers the ARR")
    assert re.fullmatch(r"Accounts \d+, \d+ share the domain twins.example: name the account by its id.", found[5][2])
    page = response.content.decode()
    assert "9 problems found; nothing was written." in page and 'id="confirm-form"' not in page


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "outcomes.csv", "The file is empty: its first line must name the columns."),
        (b"\n\n", "outcomes.csv", "The file is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb1\xe4", "outcomes.csv", "not CSV text"),
        (b"\xff\xfe\x00a\x00c\x00c", "outcomes.csv", "not CSV text"),
        (b"account,kind\n1,renewed\n", "outcomes.xlsx", "outcomes.xlsx is not a CSV file"),
    ],
)
def test_a_bad_file_gets_a_clear_message_and_writes_nothing(client, manager, nothing_written, content, name, message):
    client.force_login(manager)
    with nothing_written():
        response = upload(client, content, name=name)
    assert response.status_code == 422
    assert message in " ".join(response.context["upload_form"].errors["file"])
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("account,kind,occurred_on\n1,renewed,2025-03-01\n", "Missing columns: term_start, term_end, arr_before."),
        (HEADER + ",colour\n", "Unknown column: colour."),
        (HEADER + "\n", "The file names its columns but has no rows."),
    ],
)
def test_a_file_with_the_wrong_columns_or_no_rows_is_explained(client, manager, nothing_written, text, message):
    client.force_login(manager)
    with nothing_written():
        response = upload(client, text)
    assert response.status_code == 422
    assert any(message in error.message for error in response.context["errors"])


def test_a_file_saved_by_excel_with_a_byte_order_mark_or_semicolons_reads_the_same(manager, own_account):
    row = f"{own_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,48000,52000,,,"
    with_bom = ("\ufeff" + HEADER + "\n" + row + "\n").encode("utf-8")
    semicolons = (HEADER + "\n" + row).replace(",", ";")
    for text in (with_bom.decode("utf-8-sig"), with_bom.decode("utf-8"), semicolons):
        result = outcomes_csv_preview(actor=manager, text=text)
        assert result.ok, result.errors
        assert [planned.outcome.arr_after for planned in result.planned] == [Decimal("52000")]


def test_a_bom_file_uploads_through_the_page(client, manager, own_account):
    row = f"{own_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,48000,52000,,,"
    client.force_login(manager)
    response = upload(client, ("\ufeff" + HEADER + "\r\n" + row + "\r\n").encode())
    assert response.status_code == 200 and response.context["summary"].outcomes == 1


def test_the_import_checks_again_and_writes_nothing_when_the_data_changed_since_the_preview(
    client, manager, book, nothing_written
):
    own_account, teammate_account, _ = book
    client.force_login(manager)
    preview = upload(client, good_file(own_account, teammate_account))
    # Meanwhile someone records the first line's renewal by hand.
    OutcomeFactory(
        account=own_account,
        occurred_on=dt.date(2025, 3, 1),
        term_start=dt.date(2024, 3, 1),
        term_end=dt.date(2025, 3, 1),
    )
    with nothing_written():
        response = confirm(client, preview)
    assert response.status_code == 422
    assert response.context["errors"][0].line == 2 and "Already recorded" in response.context["errors"][0].message
    assert Outcome.objects.count() == 1


def test_an_import_whose_accounts_moved_since_the_preview_shows_the_new_preview_instead(manager, book):
    own_account, teammate_account, _ = book
    text = good_file(own_account, teammate_account)
    preview = outcomes_csv_preview(actor=manager, text=text)
    teammate_account.domain = "birch-old.example"
    teammate_account.save()
    AccountFactory(name="New Birch", domain="birch.example", owner=manager)
    result = outcomes_csv_import(actor=manager, text=text, digest=preview.digest)
    assert result.stale and result.ok and not result.written
    assert not Outcome.objects.exists()
    again = outcomes_csv_import(actor=manager, text=text, digest=result.digest)
    assert len(again.written) == 3


def test_a_tampered_confirmation_is_sent_back_to_upload(client, manager, book):
    client.force_login(manager)
    response = client.post(URL, {"content": "x" * 10, "digest": ""}, follow=True)
    assert response.redirect_chain[-1][0] == URL
    assert "did not come back intact" in response.content.decode()
    assert not Outcome.objects.exists()


def test_a_manager_imports_only_their_teams_accounts_and_an_admin_any(client, manager, admin, book):
    own_account, _, other_team_account = book
    text = f"{HEADER}\n{other_team_account.pk},renewed,2025-03-01,2024-03-01,2025-03-01,1,1,,,"
    client.force_login(manager)
    assert upload(client, text).status_code == 422
    client.force_login(admin)
    assert upload(client, text).status_code == 200


@pytest.mark.parametrize("role", ["csm", "teammate"])
def test_csms_cannot_import_outcomes(client, request, role, book, nothing_written):
    own_account, teammate_account, _ = book
    client.force_login(request.getfixturevalue(role))
    assert client.get(URL).status_code == 403
    with nothing_written():
        assert upload(client, good_file(own_account, teammate_account)).status_code == 403
        assert client.post(URL, {"content": good_file(own_account, teammate_account), "digest": "x"}).status_code == 403


def test_the_import_page_shows_the_columns_and_needs_a_sign_in(client, manager):
    response = client.get(URL)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(manager)
    page = client.get(URL).content.decode()
    assert 'id="column-help"' in page and "champion_left" in page and "Upload a file" in page
