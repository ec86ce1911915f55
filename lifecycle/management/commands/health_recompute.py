"""Score one day, or a range of days, for every account: back-filling history after an import."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.text import counted
from lifecycle.health.backfill import DayOutcome, health_backfill_days
from lifecycle.health.recompute import DEFAULT_CHUNK_SIZE


def _day(value: str) -> dt.date:
    # Only YYYY-MM-DD, as the help says: fromisoformat alone would also read 20261120 or 2026-W47-1.
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date; give it as YYYY-MM-DD.") from None


class Command(BaseCommand):
    help = (
        "Score every account for a day (default today), or each day of a range oldest first, from the "
        "signals as they stood that day. Snapshots upsert, so a rerun changes nothing; current health "
        "only moves for the latest day scored. Raises no red flags unless --raise-flags."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--day", help="YYYY-MM-DD; default today. Not in the future.")
        parser.add_argument("--until", help="YYYY-MM-DD: score every day from --day to this one, oldest first.")
        parser.add_argument(
            "--scorecard",
            type=int,
            metavar="ID",
            help="Score every account with this scorecard instead of each account's applicable one.",
        )
        parser.add_argument(
            "--raise-flags",
            action="store_true",
            help="Raise the red flags that fire, dated on the day they belong to; nobody is notified.",
        )
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE, help="Accounts per transaction.")

    def handle(self, *args, **options) -> None:
        first_day = _day(options["day"]) if options["day"] else timezone.localdate()
        last_day = _day(options["until"]) if options["until"] else first_day
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        try:
            outcomes = health_backfill_days(
                first_day=first_day,
                last_day=last_day,
                scorecard_id=options["scorecard"],
                raise_flags=options["raise_flags"],
                chunk_size=options["chunk_size"],
                on_day=self._report,
            )
        except ValidationError as error:
            messages = (message for field_messages in error.message_dict.values() for message in field_messages)
            raise CommandError(" ".join(messages)) from None
        total = sum(outcome.scored for outcome in outcomes)
        self.stdout.write(
            self.style.SUCCESS(f"{counted(len(outcomes), 'day')}, {counted(total, 'account-day')} scored.")
        )

    def _report(self, outcome: DayOutcome) -> None:
        flags = f", {counted(outcome.flags_raised, 'flag')} raised" if outcome.flags_raised else ""
        self.stdout.write(
            f"{outcome.day}: {outcome.scored} of {counted(outcome.accounts, 'account')} scored{flags} "
            f"in {outcome.seconds:.1f} s"
        )
        self.stdout.flush()
