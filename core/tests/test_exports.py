"""The shared CSV writer: streamed, UTF-8 with a byte-order mark, formula cells neutralised, numbers kept numbers."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.utils import timezone

from core.csv_export import BOM, Column, columns_response, csv_response, export_filename, neutralise


def read(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.reader(io.StringIO(body.removeprefix(BOM))))


@pytest.mark.parametrize(
    "text",
    ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1", "-1+2", "\tcmd", "\r=1", "=1+2", "-"],
)
def test_a_text_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", [-5, Decimal("-1250.50"), -0.25, 0, 12, Decimal("900000.00")])
def test_real_numbers_negative_ones_too_stay_numbers(value):
    assert neutralise(value) == value


def test_plain_text_blanks_booleans_and_dates_read_as_people_write_them():
    assert neutralise("Zürich AG") == "Zürich AG"
    assert neutralise("a=b") == "a=b"  # only the first character makes a formula
    assert neutralise(None) == ""
    assert neutralise(True) == "Yes" and neutralise(False) == "No"
    assert neutralise(dt.date(2026, 3, 31)) == "2026-03-31"
    moment = timezone.make_aware(dt.datetime(2026, 3, 31, 14, 5, 59))
    assert neutralise(moment) == "2026-03-31 14:05"


def test_the_response_streams_utf8_with_a_bom_a_header_and_neutralised_cells():
    rows = iter([['=HYPERLINK("http://x","y")', -3, Decimal("-1.50")], ['Zoë, "the" client', 4, None]])
    response = csv_response("accounts-all", ["Name", "Count", "Amount"], rows)
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    stamp = timezone.localdate().isoformat()
    assert response["Content-Disposition"] == f'attachment; filename="baton-accounts-all-{stamp}.csv"'
    assert read(response) == [
        ["Name", "Count", "Amount"],
        ['\'=HYPERLINK("http://x","y")', "-3", "-1.50"],
        ['Zoë, "the" client', "4", ""],
    ]


def test_rows_are_read_only_as_the_response_is_sent():
    taken = []

    def rows():
        for n in range(3):
            taken.append(n)
            yield [n]

    response = csv_response("numbers", ["N"], rows())
    assert taken == []
    chunks = iter(response.streaming_content)
    assert next(chunks).decode() == BOM + "N\r\n"
    assert taken == []
    assert next(chunks).decode() == "0\r\n" and taken == [0]


def test_columns_label_the_header_and_read_each_object():
    columns = [Column("Name", lambda obj: obj["name"]), Column("Owner", lambda obj: obj["owner"] or "")]
    response = columns_response("x", columns, [{"name": "@SUM(A1)", "owner": None}])
    assert read(response) == [["Name", "Owner"], ["'@SUM(A1)", ""]]


def test_a_filename_keeps_only_safe_characters():
    assert export_filename('acc"ounts/../all', on=dt.date(2026, 1, 2)) == "baton-acc-ounts-..-all-2026-01-02.csv"
