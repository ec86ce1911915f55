"""CSV import (preview first, nothing written unless the whole file is valid) and export in the same columns."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.conftest import (  # noqa: F401
    admin,
    csm,
    own_account,
    team,
    teammate,
    teammate_account,
)
from lifecycle.models import UsageDaily
from lifecycle.signals import services as ingest

pytestmark = pytest.mark.django_db

URL = "/signals/import/"


def usage_csv(*lines: str) -> str:
    return "account,day,active_users,key_events\n" + "\n".join(lines) + "\n"


def upload(client, kind: str, text: str):
    return client.post(URL, {"kind": kind, "file": SimpleUploadedFile("signals.csv", text.encode(), "text/csv")})


def test_the_import_url_is_stable():
    assert reverse("signal-import") == URL


def test_a_valid_file_is_previewed_and_written_only_on_confirmation(client, csm, own_account):
    client.force_login(csm)
    text = usage_csv(f"{own_account.pk},2025-05-01,12,300", "acme.example,2025-05-02,14,310")
    preview = upload(client, "usage", text)
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "All 2 rows are valid." in body and "Nothing has been written yet." in body
    assert UsageDaily.objects.count() == 0

    confirmed = client.post(URL, {"kind": "usage", "content": preview.context["confirm_form"].initial["content"]})
    assert confirmed.status_code == 302
    assert UsageDaily.objects.count() == 2
    message = list(confirmed.wsgi_request._messages)[0].message
    assert message == "Imported 2 daily usage rows: 2 new, 0 updated, 0 unchanged."


def test_a_file_with_bad_lines_shows_each_problem_by_line_and_writes_nothing(
    client, csm, own_account, teammate_account
):
    client.force_login(csm)
    text = usage_csv(
        f"{own_account.pk},2025-05-01,12,300",
        f"{own_account.pk},01/05/2025,12,300",
        f"{teammate_account.pk},2025-05-01,-4,300",
    )
    response = upload(client, "usage", text)
    assert response.status_code == 422
    errors = [(e.index + 2, e.field) for e in response.context["errors"]]
    assert errors == [(3, "day"), (4, "active_users"), (4, "account")]
    body = response.content.decode()
    assert "3 problems found; nothing was written." in body
    assert "You cannot write signals for this account." in body
    assert response.context["confirm_form"] is None
    assert UsageDaily.objects.count() == 0


def test_a_wrong_header_is_reported_once(client, admin):
    client.force_login(admin)
    response = upload(client, "usage", "account,date,users\n1,2025-05-01,3\n")
    assert [(e.index, e.field) for e in response.context["errors"]] == [(-1, "header"), (-1, "header")]
    assert "Unknown columns: date, users" in response.content.decode()


def test_a_file_that_is_not_utf8_is_refused_with_a_clear_message(client, admin):
    client.force_login(admin)
    response = client.post(
        URL, {"kind": "usage", "file": SimpleUploadedFile("s.csv", "account,day\n1,Ü".encode("utf-16"), "text/csv")}
    )
    assert response.status_code == 422
    assert "not UTF-8" in response.content.decode()


def test_the_confirm_step_checks_the_file_again(client, csm, own_account, teammate_account):
    """A tampered or stale preview cannot slip rows past the checks."""
    client.force_login(csm)
    response = client.post(URL, {"kind": "usage", "content": usage_csv(f"{teammate_account.pk},2025-05-01,3,1")})
    assert response.status_code == 422
    assert UsageDaily.objects.count() == 0


def test_the_import_page_shows_the_columns_for_every_kind(client, csm):
    client.force_login(csm)
    body = client.get(URL).content.decode()
    for kind in ingest.SignalKind.values:
        for column in ingest.SPECS[kind].columns:
            assert f">{column}</code>" in body


def test_export_writes_the_import_columns_for_one_account_and_can_be_imported_again(client, admin, own_account):
    ingest.usage_ingest(
        actor=admin,
        rows=[
            {"account": own_account.pk, "day": "2025-05-01", "active_users": 12},
            {"account": own_account.pk, "day": "2025-05-02", "active_users": 13, "licences_owned": 20},
        ],
    )
    client.force_login(admin)
    response = client.get(reverse("signal-export"), {"kind": "usage", "account": own_account.pk, "since": "2025-05-02"})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith(f'attachment; filename="baton-usage-account-{own_account.pk}-')
    text = b"".join(response.streaming_content).decode("utf-8-sig")  # as the upload reads it
    assert list(csv.reader(io.StringIO(text))) == [
        ["account", "day", "product", "active_users", "key_events", "minutes", "licences_used", "licences_owned"],
        [str(own_account.pk), "2025-05-02", "", "13", "0", "", "0", "20"],
    ]
    again = ingest.csv_import(kind="usage", text=text, actor=admin, dry_run=True)
    assert (again.ok, again.unchanged) == (True, 1)


def test_export_of_an_unknown_kind_is_404_and_a_bad_filter_is_400(client, admin):
    client.force_login(admin)
    assert client.get(reverse("signal-export"), {"kind": "moods"}).status_code == 404
    assert client.get(reverse("signal-export"), {"kind": "usage", "since": "soon"}).status_code == 400
