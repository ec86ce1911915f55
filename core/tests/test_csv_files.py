"""The shared CSV reading: header checks, line numbers, blank lines, semicolons; the upload field's plain words."""

import pytest
from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile

from core.csv_files import CsvFileField, RowError, read_csv

COLUMNS = ("account", "day", "count")


def read(text: str, max_rows: int = 10):
    return read_csv(text, columns=COLUMNS, required=("account", "day"), max_rows=max_rows)


def test_rows_come_with_their_line_numbers_values_stripped_and_blank_lines_skipped():
    parsed = read("Account , Day\n\n acme.example , 2025-03-01 \n,\nbirch.example,2025-03-02\n")
    assert parsed.errors == []
    assert [(row.line, row.values) for row in parsed.rows] == [
        (3, {"account": "acme.example", "day": "2025-03-01"}),
        (5, {"account": "birch.example", "day": "2025-03-02"}),
    ]


def test_header_problems_are_reported_once_and_no_row_is_read():
    parsed = read("account,colour,colour\nacme,red,blue\n")
    assert parsed.rows == []
    assert [error.message for error in parsed.errors] == [
        "Unknown column: colour. The columns are: account, day, count.",
        "Missing column: day.",
        "Named twice: colour.",
    ]
    assert {error.line for error in parsed.errors} == {1}


def test_a_line_with_too_many_values_and_a_file_with_too_many_rows_are_refused():
    assert read("account,day\na,b,c\n").errors == [RowError(2, "row", "3 values for 2 columns: is a comma unquoted?")]
    too_many = read("account,day\n" + "a,b\n" * 3, max_rows=2)
    assert too_many.errors == [RowError(None, "file", "At most 2 rows per file: split it.")]


def test_semicolon_separated_files_read_like_comma_separated_ones():
    assert read("account;day;count\nacme;2025-03-01;1,5\n").rows[0].values == {
        "account": "acme",
        "day": "2025-03-01",
        "count": "1,5",
    }


class UploadForm(forms.Form):
    file = CsvFileField()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("data.csv", "\ufeffaccount,day\n".encode(), "account,day\n"),
        ("DATA.TXT", b"account,day\n", "account,day\n"),
        ("data.xlsx", b"account,day\n", "data.xlsx is not a CSV file."),
        ("data.csv", b"\x00\x01account", "The file is not CSV text"),
        ("data.csv", "account;day".encode("utf-16"), "The file is not CSV text"),
        ("data.csv", b"", "The file is empty"),
        ("data.csv", b"   \n", "The file is empty"),
    ],
)
def test_the_upload_field_gives_the_text_or_says_what_is_wrong(name, content, expected):
    form = UploadForm(files={"file": SimpleUploadedFile(name, content)})
    if form.is_valid():
        assert form.cleaned_data["file"] == expected
    else:
        assert expected in form.errors["file"][0]
