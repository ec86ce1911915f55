"""Model fields of the lifecycle app."""

from __future__ import annotations

from django.db import models


class WrittenJSONField(models.JSONField):
    """JSON kept as written: PostgreSQL `json` rather than `jsonb`.

    For write-heavy history read back whole (a score snapshot per account per
    day): `json` only checks the text, while `jsonb` parses it into a tree,
    which cost more than everything else the nightly recompute writes.
    Nothing filters inside these values, so jsonb's operators are not missed.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        # psycopg2 decodes `json` columns itself (it only leaves `jsonb` to Django).
        if isinstance(value, (dict, list)):
            return value
        return super().from_db_value(value, expression, connection)
