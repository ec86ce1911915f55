"""Batches of rows sent at once (signals, entitlements): what is wrong with one row, in one shape everywhere.

A batch is validated whole before anything is written; each problem names the row by
its 0-based position, the field, and what is wrong, so an integration can fix and resend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RowError:
    """What is wrong with one row: `index` is its 0-based position in the batch, -1 the batch as a whole."""

    index: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "message": self.message}
