"""What the accounts app's set-based writes share: quoting, INSERT heads and the audit record's columns.

The tier apply (accounts.segments.sql) and the import (accounts.imports.sql) both write audit records
with INSERT ... SELECT, in plain SQL that SQLite and PostgreSQL both run, and the import loads more as rows;
all of them list an audit record's columns in the one order kept here.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

# What accounts.services.audit_event names an account as.
ACCOUNT_SUBJECT = "account"
# An audit record's columns, in the order the INSERT ... SELECT statements and the loaded rows give them.
AUDIT_COLUMNS = (
    "account_id",
    "actor_id",
    "actor_name",
    "action",
    "subject_type",
    "subject_id",
    "changes",
    "reason",
    "created_at",
)


def quote(name: str) -> str:
    """A table or column name as the database at hand quotes it."""
    return connection.ops.quote_name(name)


def insert_into(model: type[Any], fields: tuple[str, ...]) -> str:
    """The head of an INSERT into `model`'s table: `fields` are field names or their columns ("account_id")."""
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns})"
