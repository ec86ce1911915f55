"""How signals get in: bulk API/CSV ingestion, check-in calls and the CSM pulse."""

from lifecycle.signals.services.bulk import (
    MAX_ROWS,
    REQUIRED_COLUMNS,
    SPECS,
    IngestResult,
    RowError,
    SignalKind,
    invoices_ingest,
    queue_account_recompute,
    signals_ingest,
    surveys_ingest,
    tickets_ingest,
    usage_ingest,
)
from lifecycle.signals.services.checkins import AnswerInput, checkin_log
from lifecycle.signals.services.csv_files import csv_import, csv_rows
from lifecycle.signals.services.pulse import PULSE_LABELS, PulseView, pulse_latest, pulse_rate

__all__ = [
    "MAX_ROWS",
    "REQUIRED_COLUMNS",
    "PULSE_LABELS",
    "PulseView",
    "SPECS",
    "AnswerInput",
    "IngestResult",
    "RowError",
    "SignalKind",
    "checkin_log",
    "csv_import",
    "csv_rows",
    "invoices_ingest",
    "pulse_latest",
    "pulse_rate",
    "queue_account_recompute",
    "signals_ingest",
    "surveys_ingest",
    "tickets_ingest",
    "usage_ingest",
]
