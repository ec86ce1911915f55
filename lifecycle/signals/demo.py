"""Believable signals for the demo company and for benchmarks.

Each account gets a story that the health score and red-flag rules can
find: steady or growing usage, a decline in the last weeks, an onboarding
that never took off; a ticket spike; promoters and detractors; spend going
up or down; check-in calls kept or missed; the owner's gut feel.

Everything is generated from the caller's `random.Random`, so a seed gives
the same company every time. On PostgreSQL the big tables are written with
COPY from an in-memory buffer, flushed in chunks, which keeps 100,000
accounts × 90 days of usage (9 million rows) to a few minutes; other
databases get `bulk_create`.
"""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, TextIO

from django.db import connection, models
from django.db.models import OuterRef, Subquery

from accounts.models import Account, Channel, Stage, TimelineEntry, TimelineKind
from lifecycle.models import (
    CheckIn,
    CheckInAnswer,
    CheckInQuestion,
    Invoice,
    PulseRating,
    PulseReason,
    SupportTicket,
    SurveyResponse,
    UsageDaily,
)

AccountRow = tuple[int, str, str, dt.date | None]  # id, tier, stage, contract_start
UsageProfile = tuple[int, float, float]  # licences owned, share of them active on a weekday, key events per user

COPY_CHUNK_ROWS = 200_000
BULK_BATCH = 2000
# Weekday activity, Monday first: people work less at weekends.
WEEKDAY_FACTOR = (1.0, 1.04, 1.02, 0.97, 0.86, 0.32, 0.22)

HEALTHY, GROWING, DECLINING, STALLED, RAMPING, FADING = (
    "healthy",
    "growing",
    "declining",
    "stalled",
    "ramping",
    "fading",
)

LICENCES = {"high": (80, 600), "low": (20, 150), "tech": (5, 40)}
TICKETS_PER_90_DAYS = {"high": 7, "low": 4, "tech": 1.5}
MONTHLY_SPEND = {"high": (8_000, 40_000), "low": (1_000, 8_000), "tech": (100, 900)}
CHECKIN_EVERY = {"high": 14, "low": 14, "tech": 30}

TICKET_SUBJECTS = [
    "SSO login loops back to the sign-in page",
    "CSV export times out for large reports",
    "Webhook deliveries delayed",
    "Need help configuring user roles",
    "Dashboard widgets show stale numbers",
    "API rate limit hit during nightly sync",
    "Invoice shows the wrong billing contact",
    "Mobile app crashes on upload",
    "Question about data retention settings",
    "Bulk import rejects valid dates",
    "Slow search on the projects page",
    "Request: audit log export",
]
PROMOTER_COMMENTS = [
    "The team actually uses it every day now.",
    "Support answered within the hour, twice.",
    "Onboarding was painless and the reporting saves us hours.",
    "Our developers love the API.",
    "",
]
PASSIVE_COMMENTS = [
    "Does the job; reporting could be more flexible.",
    "Fine overall, the mobile app needs work.",
    "Good value, but setup took longer than promised.",
    "",
]
DETRACTOR_COMMENTS = [
    "Too slow for our larger projects.",
    "We keep hitting the same export bug.",
    "Price went up and we use it less than before.",
    "Hard to get the wider team to adopt it.",
    "Support tickets take days to get a real answer.",
]
CONCERN_COMMENTS = {
    "service_problem": ["Nightly sync failed twice this week.", "Release notes did not mention a breaking change."],
    "people_performance": ["New developer still ramping up on their codebase.", "Missed two stand-ups in a row."],
    "cost_rising": ["Finance asked why the last invoice went up.", "They are adding seats they may not need."],
    "productivity_falling": ["Fewer tickets closed per sprint than last quarter.", "Team lost their lead engineer."],
}
PULSE_COMMENTS = [
    "Champion is engaged and pushing for expansion.",
    "Quiet lately; need to get the sponsor on a call.",
    "Budget review next quarter worries me.",
    "Happy customer, low effort.",
    "",
]


# --- Writing -----------------------------------------------------------------------------------------


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _flush(raw_cursor: Any, sql: str, buffer: io.StringIO) -> None:
    buffer.seek(0)
    if hasattr(raw_cursor, "copy_expert"):  # psycopg2
        raw_cursor.copy_expert(sql, buffer)
    else:  # psycopg 3
        with raw_cursor.copy(sql) as copy:
            copy.write(buffer.getvalue())


def write_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    line: Callable[[Sequence[Any]], str] | None = None,
) -> int:
    """Insert plain tuples (in `columns` order, attnames) set-based; COPY on PostgreSQL, bulk_create elsewhere.

    `line` formats one row as a COPY text line, for tables whose values need
    no escaping (plain numbers and dates), which is much faster at millions of rows.
    """
    count = 0
    if connection.vendor == "postgresql":
        quote = connection.ops.quote_name
        names = ", ".join(quote(model._meta.get_field(column).column) for column in columns)
        sql = f"COPY {quote(model._meta.db_table)} ({names}) FROM STDIN"
        with connection.cursor() as cursor:
            buffer = io.StringIO()
            for row in rows:
                buffer.write(line(row) if line else "\t".join(map(_copy_value, row)) + "\n")
                count += 1
                if count % COPY_CHUNK_ROWS == 0:
                    _flush(cursor.cursor, sql, buffer)
                    buffer = io.StringIO()
            if buffer.tell():
                _flush(cursor.cursor, sql, buffer)
        return count
    batch: list[models.Model] = []
    for row in rows:
        batch.append(model(**dict(zip(columns, row, strict=True))))
        if len(batch) == BULK_BATCH:
            model.objects.bulk_create(batch)
            count += len(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)
        count += len(batch)
    return count


def _owner_of_account() -> Subquery:
    return Subquery(Account.objects.filter(pk=OuterRef("account_id")).values("owner_id")[:1])


def _max_pk(model: type[models.Model]) -> int:
    return model.objects.aggregate(top=models.Max("pk"))["top"] or 0


# --- Stories -----------------------------------------------------------------------------------------


def _story(rng: random.Random, stage: str) -> str:
    roll = rng.random()
    if stage == Stage.ONBOARDING:
        return STALLED if roll < 0.35 else RAMPING
    if stage == Stage.CHURNED:
        return FADING
    if stage == Stage.AT_RISK:
        return DECLINING if roll < 0.65 else STALLED
    if roll < 0.18:
        return DECLINING
    if roll < 0.40:
        return GROWING
    return HEALTHY


def usage_line(row: Sequence[Any]) -> str:
    return "%d\t%s\t%d\t%d\t%d\t%d\n" % row  # noqa: UP031  (the fastest formatting for 9 million rows)


def _usage_rows(
    rng: random.Random,
    account_id: int,
    tier: str,
    story: str,
    start: dt.date | None,
    days: list[tuple[dt.date, str, float]],
    profile: UsageProfile | None = None,
    until: dt.date | None = None,
) -> Iterator[tuple]:
    """One row per day: (account, ISO day, active users, key events, licences used, licences owned).

    `profile` carries on an account whose earlier usage was written already; `until`: no usage
    from that day on (the day a churned customer left).
    """
    owned, base, events_per_user = profile or usage_profile(rng, tier)
    total = len(days)
    drop_days = rng.randint(14, 28)
    drop_to = 1 - rng.uniform(0.3, 0.6)
    growth = rng.uniform(0.15, 0.45)
    fade_day = rng.randint(0, max(total - 1, 0))
    random_ = rng.random
    # Cut the days at `until` up front rather than test every row: 9 million of them at benchmark sizes.
    last = total if until is None else sum(1 for day, _, _ in days if day < until)
    for index, (day, iso_day, weekday) in enumerate(days[:last]):
        if start is not None and day < start:
            continue
        progress = index / total
        if story == HEALTHY:
            level = base
        elif story == GROWING:
            level = base * (1 - growth + growth * progress)
        elif story == DECLINING:
            left = total - index
            level = base if left > drop_days else base * (1 - (1 - drop_to) * (drop_days - left + 1) / drop_days)
        elif story == RAMPING:
            level = 0.1 + (base - 0.1) * min(1.0, progress * 1.6)
        elif story == STALLED:
            level = 0.01
        else:  # FADING: a churned customer winds down and stops
            level = base * 0.4 if index < fade_day else 0.0
        noise = 0.85 + 0.3 * random_()
        active = int(owned * level * weekday * noise + 0.5)
        if story == STALLED:
            active = 1 if random_() < 0.3 else 0
        used = min(owned, int(owned * min(1.0, level * 1.15) + 0.5))
        yield (account_id, iso_day, active, int(active * events_per_user * noise), used, owned)


def usage_profile(rng: random.Random, tier: str) -> UsageProfile:
    low, high = LICENCES.get(tier, LICENCES["low"])
    return rng.randint(low, high), rng.uniform(0.45, 0.85), rng.uniform(6, 30)


def _ticket_rows(
    rng: random.Random, account_id: int, tier: str, story: str, today: dt.date, days: int, now: dt.datetime
) -> list[tuple]:
    expected = TICKETS_PER_90_DAYS.get(tier, 2) * days / 90 * (1.6 if story == DECLINING else 1.0)
    count = sum(1 for _ in range(int(expected * 2)) if rng.random() < 0.5)
    opened_days = [rng.randint(1, days) for _ in range(count)]
    if rng.random() < 0.08:  # a spike: a bad release, a migration gone wrong
        opened_days += [rng.randint(0, 6) for _ in range(rng.randint(4, 9))]
    rows = []
    for number, days_ago in enumerate(sorted(opened_days, reverse=True), start=1):
        opened_at = dt.datetime.combine(
            today - dt.timedelta(days=days_ago), dt.time(rng.randint(7, 18), rng.randint(0, 59)), tzinfo=dt.UTC
        )
        opened_at = min(opened_at, now - dt.timedelta(minutes=rng.randint(5, 600)))
        roll = rng.random()
        severity = "low" if roll < 0.35 else "medium" if roll < 0.75 else "high" if roll < 0.95 else "urgent"
        if days_ago <= 6 and rng.random() < 0.5:
            severity = "high" if rng.random() < 0.7 else "urgent"
        still_open = days_ago <= 3 or rng.random() < 0.08
        closed_at = None if still_open else min(opened_at + dt.timedelta(hours=rng.uniform(1, 240)), now)
        rows.append(
            (account_id, f"DEMO-T{account_id}-{number}", rng.choice(TICKET_SUBJECTS), severity, opened_at, closed_at)
        )
    return rows


def _survey_rows(
    rng: random.Random, account_id: int, story: str, tickets: list[tuple], today: dt.date, days: int
) -> list[tuple]:
    rows = []
    if rng.random() < 0.65:
        for number in range(1, rng.randint(1, 3) + 1):
            if story in (DECLINING, STALLED, FADING):
                score = rng.choice([1, 2, 3, 4, 5, 6, 6, 7, 8])
            else:
                score = rng.choice([6, 7, 8, 8, 9, 9, 10, 10, 10])
            comments = PROMOTER_COMMENTS if score >= 9 else PASSIVE_COMMENTS if score >= 7 else DETRACTOR_COMMENTS
            responded = dt.datetime.combine(
                today - dt.timedelta(days=rng.randint(1, days)), dt.time(rng.randint(8, 20)), tzinfo=dt.UTC
            )
            rows.append((account_id, f"DEMO-N{account_id}-{number}", "nps", score, rng.choice(comments), responded))
    for ticket in tickets:
        closed_at = ticket[5]
        if closed_at is not None and rng.random() < 0.4:
            severe = ticket[3] in ("high", "urgent")
            score = rng.choice([1, 2, 3, 3, 4] if severe else [3, 4, 4, 5, 5, 5])
            comment = "" if score >= 4 else "Took too long to resolve."
            rows.append((account_id, f"DEMO-C{ticket[1][6:]}", "csat", score, comment, closed_at))
    return rows


def _invoice_rows(rng: random.Random, account_id: int, tier: str, story: str, today: dt.date) -> list[tuple]:
    low, high = MONTHLY_SPEND.get(tier, MONTHLY_SPEND["low"])
    amount = rng.uniform(low, high)
    roll = rng.random()
    change = (
        rng.uniform(1.25, 1.6) if roll < 0.15 else rng.uniform(0.6, 0.85) if roll < 0.25 or story == FADING else 1.0
    )
    rows = []
    month = today.replace(day=1)
    months = []
    for _ in range(6):
        months.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    for index, issued in enumerate(reversed(months)):
        factor = change if index >= 3 else 1.0
        value = Decimal(f"{amount * factor * rng.uniform(0.97, 1.03):.2f}")
        rows.append((account_id, f"DEMO-I{account_id}-{issued:%Y%m}", issued, value, "USD"))
    return rows


# --- The seeder ----------------------------------------------------------------------------------------


def seed_demo_signals(
    *,
    rng: random.Random,
    accounts: Sequence[AccountRow],
    today: dt.date,
    days: int = 90,
    stdout: TextIO | None = None,
    profiles: dict[int, UsageProfile] | None = None,
    usage_until: dict[int, dt.date] | None = None,
) -> dict[str, int]:
    """Add `days` of signals for each (id, tier, stage, contract_start) account; return rows per model.

    Expects the accounts to have no signals yet (a fresh demo database). `profiles` continues
    the usage of accounts whose earlier history is written by someone else (lifecycle/demo.py);
    `usage_until` stops an account's usage on a day (a churned account's last).
    """
    profiles, usage_until = profiles or {}, usage_until or {}
    started = time.perf_counter()
    now = min(dt.datetime.combine(today, dt.time(23, 59), tzinfo=dt.UTC), dt.datetime.now(dt.UTC))
    day_list = [
        (day, day.isoformat(), WEEKDAY_FACTOR[day.weekday()])
        for day in (today - dt.timedelta(days=offset) for offset in range(days, 0, -1))
    ]
    stories = {account_id: _story(rng, stage) for account_id, _, stage, _ in accounts}
    counts: dict[str, int] = {}
    timings: dict[str, float] = {}

    def record(model: type[models.Model], count: int, since: float) -> None:
        counts[model._meta.label] = counts.get(model._meta.label, 0) + count
        timings[model._meta.label] = time.perf_counter() - since

    # Usage: generated lazily so 9 million rows never sit in memory at once.
    since = time.perf_counter()
    usage = (
        row
        for account_id, tier, _, start in accounts
        for row in _usage_rows(
            rng,
            account_id,
            tier,
            stories[account_id],
            start,
            day_list,
            profiles.get(account_id),
            usage_until.get(account_id),
        )
    )
    record(
        UsageDaily,
        write_rows(
            UsageDaily,
            ("account_id", "day", "active_users", "key_events", "licences_used", "licences_owned"),
            usage,
            line=usage_line,
        ),
        since,
    )

    since = time.perf_counter()
    tickets: dict[int, list[tuple]] = {
        account_id: _ticket_rows(rng, account_id, tier, stories[account_id], today, days, now)
        for account_id, tier, _, _ in accounts
    }
    ticket_columns = ("account_id", "external_id", "subject", "severity", "opened_at", "closed_at")
    record(
        SupportTicket, write_rows(SupportTicket, ticket_columns, (t for rows in tickets.values() for t in rows)), since
    )

    since = time.perf_counter()
    surveys = (
        row
        for account_id, _, _, _ in accounts
        for row in _survey_rows(rng, account_id, stories[account_id], tickets[account_id], today, days)
    )
    survey_columns = ("account_id", "external_id", "kind", "score", "comment", "responded_at")
    record(SurveyResponse, write_rows(SurveyResponse, survey_columns, surveys), since)

    since = time.perf_counter()
    first_invoice = _max_pk(Invoice)
    invoices = (
        row
        for account_id, tier, _, _ in accounts
        for row in _invoice_rows(rng, account_id, tier, stories[account_id], today)
    )
    record(
        Invoice, write_rows(Invoice, ("account_id", "external_id", "issued_on", "amount", "currency"), invoices), since
    )
    # Bill in the account's own currency, set-based rather than one lookup per account.
    Invoice.objects.filter(pk__gt=first_invoice).update(
        currency=Subquery(Account.objects.filter(pk=OuterRef("account_id")).values("currency")[:1])
    )

    since = time.perf_counter()
    record(CheckIn, _seed_checkins(rng, accounts, stories, today, days, now), since)

    since = time.perf_counter()
    record(PulseRating, _seed_pulse(rng, accounts, stories, now), since)

    if stdout is not None:
        stdout.write(f"Signals for {len(accounts):,} accounts in {time.perf_counter() - started:.1f} s:\n")
        for label, count in counts.items():
            stdout.write(f"  {label:<28} {count:>10,}  ({timings[label]:.1f} s)\n")
    return counts


def _seed_checkins(
    rng: random.Random,
    accounts: Sequence[AccountRow],
    stories: dict[int, str],
    today: dt.date,
    days: int,
    now: dt.datetime,
) -> int:
    """Check-in calls for adoption accounts: most keep the cadence, some have let it lapse."""
    questions = list(CheckInQuestion.objects.filter(active=True).values_list("pk", "key"))
    plan: list[tuple[int, dt.datetime, list[tuple[int, bool, str]], str]] = []
    for account_id, tier, stage, start in accounts:
        if stage != Stage.ADOPTION:
            continue
        every = CHECKIN_EVERY.get(tier, 14)
        # A lapsed cadence: the last call was well over the cadence ago.
        last_days_ago = rng.randint(every + 6, every * 4) if rng.random() < 0.3 else rng.randint(1, every - 2)
        troubled = stories[account_id] == DECLINING
        days_ago = last_days_ago
        while days_ago <= days:
            held = dt.datetime.combine(
                today - dt.timedelta(days=days_ago), dt.time(rng.randint(9, 16), 0), tzinfo=dt.UTC
            )
            if start is not None and held.date() < start:
                break
            answers = []
            for question_id, key in questions:
                concern = rng.random() < (0.35 if troubled else 0.08)
                comment = rng.choice(CONCERN_COMMENTS.get(key, ["Raised on the call."])) if concern else ""
                answers.append((question_id, concern, comment))
            body = checkin_body(answers)
            plan.append((account_id, min(held, now), answers, body))
            days_ago += every + rng.randint(-2, 3)
    return write_checkins(plan)


def checkin_body(answers: Sequence[tuple[int, bool, str]]) -> str:
    concerns = [comment for _, concern, comment in answers if concern]
    if not concerns:
        return f"No concerns raised ({len(answers)} questions)."
    return f"Concerns raised ({len(concerns)} of {len(answers)}):\n" + "\n".join(f"- {c}" for c in concerns)


def write_checkins(plan: Sequence[tuple[int, dt.datetime, list[tuple[int, bool, str]], str]]) -> int:
    """Write (account, held at, [(question, concern, comment)], body) calls with their touchpoints; the owner held them."""
    if not plan:
        return 0
    first_entry, first_checkin = _max_pk(TimelineEntry), _max_pk(CheckIn)
    entries = TimelineEntry.objects.bulk_create(
        [
            TimelineEntry(
                account_id=account_id,
                kind=TimelineKind.TOUCHPOINT,
                channel=Channel.CALL,
                occurred_at=held,
                summary="Check-in call",
                body=body,
            )
            for account_id, held, _, body in plan
        ],
        batch_size=BULK_BATCH,
    )
    check_ins = CheckIn.objects.bulk_create(
        [
            CheckIn(account_id=account_id, held_at=held, timeline_entry_id=entry.pk)
            for (account_id, held, _, _), entry in zip(plan, entries, strict=True)
        ],
        batch_size=BULK_BATCH,
    )
    write_rows(
        CheckInAnswer,
        ("check_in_id", "question_id", "concern", "comment"),
        (
            (check_in.pk, question_id, concern, comment)
            for check_in, (_, _, answers, _) in zip(check_ins, plan, strict=True)
            for question_id, concern, comment in answers
        ),
    )
    # The owner held the call; set-based, once for the whole batch.
    TimelineEntry.objects.filter(pk__gt=first_entry, summary="Check-in call").update(author=_owner_of_account())
    CheckIn.objects.filter(pk__gt=first_checkin).update(conducted_by=_owner_of_account())
    return len(check_ins)


def _seed_pulse(rng: random.Random, accounts: Sequence[AccountRow], stories: dict[int, str], now: dt.datetime) -> int:
    """The owner's gut feel for about 40% of accounts; some ratings have already expired."""
    rows = []
    for account_id, _, stage, _ in accounts:
        if stage == Stage.CHURNED or rng.random() >= 0.4:
            continue
        story = stories[account_id]
        rating = rng.choice([1, 2, 2, 3, 3]) if story in (DECLINING, STALLED) else rng.choice([3, 4, 4, 5, 5, 6])
        rated_at = now - dt.timedelta(days=rng.randint(0, 120), hours=rng.randint(0, 12))
        reasons = rng.sample(PulseReason.values, rng.randint(0, 2))
        rows.append(
            (
                account_id,
                rating,
                reasons,
                rng.choice(PULSE_COMMENTS),
                rated_at,
                rated_at + PulseRating.lifetime_for(rating),
            )
        )
    first = _max_pk(PulseRating)
    count = PulseRating.objects.bulk_create(
        [
            PulseRating(account_id=a, rating=r, reasons=reasons, comment=c, rated_at=at, expires_at=exp)
            for a, r, reasons, c, at, exp in rows
        ],
        batch_size=BULK_BATCH,
    )
    PulseRating.objects.filter(pk__gt=first).update(rated_by=_owner_of_account())
    return len(count)
