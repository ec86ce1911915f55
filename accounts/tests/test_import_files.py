"""Whatever wrote the file, it is read, or refused with a message a person can act on: never a crash."""

from __future__ import annotations

import codecs

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.imports import reader
from accounts.imports.models import ImportStatus
from accounts.imports.services import import_dry_run, import_execute, import_upload
from accounts.models import Account

pytestmark = pytest.mark.django_db


def upload(actor, content: bytes, name: str = "accounts.csv"):
    return import_upload(actor=actor, kind="accounts", upload=SimpleUploadedFile(name, content))


def refused(actor, content: bytes, name: str = "accounts.csv") -> str:
    with pytest.raises(ValidationError) as error:
        upload(actor, content, name)
    return " ".join(error.value.message_dict["file"])


def rows_text(csm, *, delimiter: str = ",") -> str:
    lines = [
        ["Domain", "Name", "Owner", "Why they bought"],
        ["zürich.example", "Zürich Versicherung", csm.username, "Ça marche"],
    ]
    return "\r\n".join(delimiter.join(line) for line in lines) + "\r\n"


@pytest.mark.parametrize(
    ("encoding", "prefix", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("latin-1", b"", "latin-1"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
    ],
)
def test_encodings_are_recognised_and_read(admin, csm, encoding, prefix, expected):
    text = rows_text(csm).replace("zürich.example", "zurich.example")
    job = upload(admin, prefix + text.encode(encoding))
    assert job.encoding == expected
    assert job.header == ["Domain", "Name", "Owner", "Why they bought"]
    job = import_execute(job_id=import_dry_run(job_id=job.pk).pk)
    assert job.status == ImportStatus.DONE, job.errors
    account = Account.objects.get()
    assert (account.name, account.why_they_bought) == ("Zürich Versicherung", "Ça marche")


def test_latin_1_is_said_in_the_summary():
    fmt = reader.FileFormat(encoding="latin-1", delimiter=";", header=("a",))
    assert "not UTF-8" in fmt.encoding_label and fmt.delimiter_label == "semicolon"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed(admin, csm, delimiter):
    job = upload(admin, rows_text(csm, delimiter=delimiter).replace("zürich", "zurich").encode())
    assert job.delimiter == delimiter
    assert job.mapping["Domain"] == "domain"


def test_quoted_newlines_stay_in_their_value_and_lines_are_counted(admin, csm):
    text = (
        "Domain,Name,Owner,Why they bought\n"
        f'a.example,A,{csm.username},"Two\nlines, and a comma"\n'
        f"b.example,B,nobody,\n"
    )
    job = import_dry_run(job_id=upload(admin, text.encode()).pk)
    assert job.errors == [
        {"line": 4, "column": "owner", "message": "No one in Baton has the email or username “nobody”."}
    ]
    text = text.replace("nobody", csm.username)
    import_execute(job_id=import_dry_run(job_id=upload(admin, text.encode()).pk).pk)
    assert Account.objects.get(domain="a.example").why_they_bought == "Two\nlines, and a comma"


def test_an_empty_file_is_refused(admin):
    assert "empty" in refused(admin, b"")
    assert "empty" in refused(admin, b"\n\n  \n")


def test_a_header_without_rows_is_refused_at_the_dry_run(admin):
    job = import_dry_run(job_id=upload(admin, b"Domain,Name\n").pk)
    assert job.status == ImportStatus.INVALID
    assert job.errors[0]["message"] == "The file names its columns but has no rows."


def test_a_binary_file_is_refused(admin):
    assert "binary" in refused(admin, b"\x00\x01\x02\x03" * 100)
    assert "not CSV" in refused(admin, b"PK\x03\x04" + b"\x00" * 100, name="accounts.xlsx")


def test_duplicate_header_names_are_named(admin):
    message = refused(admin, b"Domain,Name,name\na.example,A,B\n")
    assert "“name” more than once" in message


def test_an_oversized_file_is_refused(admin, monkeypatch):
    monkeypatch.setattr(reader, "MAX_FILE_BYTES", 100)
    assert "larger than" in refused(admin, b"Domain,Name\n" + b"a.example,A\n" * 20)


def test_a_value_past_the_limit_is_named_by_line_and_column(admin, csm, monkeypatch):
    monkeypatch.setattr(reader, "MAX_FIELD_CHARS", 20)
    job = upload(admin, f"Domain,Name,Owner\na.example,{'x' * 21},{csm.username}\n".encode())
    job = import_dry_run(job_id=job.pk)
    assert job.errors == [{"line": 2, "column": "Name", "message": "21 characters; at most 20."}]


def test_a_quote_left_open_swallowing_the_file_is_a_message(admin, csm):
    text = f'Domain,Name,Owner\na.example,"never closed,{csm.username}\n' + "b.example,B,x\n" * 20000
    job = import_dry_run(job_id=upload(admin, text.encode()).pk)
    assert job.status == ImportStatus.INVALID
    assert "longer than" in job.errors[-1]["message"]


def test_too_many_rows_is_refused(admin, csm, monkeypatch):
    monkeypatch.setattr(reader, "MAX_ROWS", 3)
    text = "Domain,Name,Owner\n" + "".join(f"a{n}.example,A,{csm.username}\n" for n in range(5))
    job = import_dry_run(job_id=upload(admin, text.encode()).pk)
    assert job.status == ImportStatus.INVALID
    assert job.errors[-1]["message"] == "The file has more than 3 rows: split it into smaller files."


def test_a_row_with_more_values_than_columns(admin, csm):
    job = import_dry_run(job_id=upload(admin, f"Domain,Name,Owner\na.example,A,{csm.username},extra\n".encode()).pk)
    assert job.errors[0]["column"] == "row" and "unquoted" in job.errors[0]["message"]


def test_blank_rows_are_skipped_and_short_rows_padded_with_lines_counted_as_written(admin, csm):
    text = f"Domain,Name,Owner\n\n , ,\t\nx.example,X,{csm.username}\ny.example,Y\n"
    job = import_dry_run(job_id=upload(admin, text.encode()).pk)
    assert job.rows == 2
    assert [(error["line"], error["column"]) for error in job.errors] == [(5, "owner")]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("48000", "48000.00"),
        ("48000.5", "48000.50"),
        ("48,000.00", "48000.00"),
        ("1,234,567.89", "1234567.89"),
        ("0", "0.00"),
        ("007", "7.00"),
        ("1.234,50", "1234.50"),
        ("1 234,50", "1234.50"),
        ("48000,50", "48000.50"),
        ("123.456", "123456.00"),
        ("999,999,999,999.99", "999999999999.99"),
    ],
)
def test_amounts_read_the_same_on_the_quick_path_and_the_general_one(text, amount):
    from decimal import Decimal

    from accounts.imports.columns import parse_amount

    assert parse_amount(text) == Decimal(amount) and str(parse_amount(text)) == amount


@pytest.mark.parametrize("text", ["1,000,000,000,000", "9999999999999", "-5", "12.345", "€ 5", "1,23,456"])
def test_amounts_out_of_range_or_malformed_are_refused_or_read_as_before(text):
    from accounts.imports.columns import BadValue, parse_amount

    expected = {"12.345": "12345.00"}  # a dot before three digits is a thousands separator
    if text in expected:
        assert str(parse_amount(text)) == expected[text]
    else:
        with pytest.raises(BadValue):
            parse_amount(text)


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("example.com", "example.com"),
        ("Example.COM", "example.com"),
        ("https://www.Example.com/about?x=1#y", "example.com"),
        ("http://example.com:8080", "example.com"),
        ("www.example.com.", "example.com"),
        ("sub.www.example.com", "sub.www.example.com"),
        ("ftp://files.example.org/x", "files.example.org"),
    ],
)
def test_domains_are_read_without_scheme_www_path_or_port(text, domain):
    from accounts.imports.columns import parse_domain

    assert parse_domain(text) == domain


@pytest.mark.parametrize("text", ["not a domain", "www.", "https://", "localhost", "-bad.example"])
def test_what_is_not_a_domain_is_refused(text):
    from accounts.imports.columns import BadValue, parse_domain

    with pytest.raises(BadValue):
        parse_domain(text)
