"""The API's big lists at scale (issue 17, item 4): as fast as the pages, and page 2,000 as fast as page 1.

Measured as the pages are (bench/core.py `time_get`: the test client, median of 20 after a warm-up), each
request carrying an integration token with the `read` scope, as an integration's would.

"Page 2,000" with cursors: nobody follows `next` 1,999 times in a benchmark, so the deep rows start from the
cursor that following `next` would reach there, made from the key of the last row of page 1,999 (the row at
offset 99,949 of the ordering at 100,000 accounts; the last full page on a smaller book). The same page asked
for by number (`?page=`, offset pages with their count, kept for older clients) stops at row 10,000: the deepest
one is measured beside them.

The other big lists (contacts, the timeline, each signal list, red flags) are measured the same way: the first page in the
list's default ordering and the page 2,000 deep by cursor (or the last full page of a shorter list), each against
the same goal and a query count that does not grow with the page or its depth.
"""

from __future__ import annotations

import statistics
import time

from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.api.views import ContactViewSet, TimelineEntryViewSet
from accounts.models import Account, Contact, TimelineEntry
from bench.core import Result, at_most, time_get
from csm.pagination import KeysetPagination, encode_cursor, keys_for, ordered
from desk.api import AccountDeskViewSet
from lifecycle.flags.api import RedFlagViewSet
from lifecycle.models import Invoice, ProductUsageDaily, RedFlag, SupportTicket, SurveyResponse, UsageDaily
from lifecycle.signals.api import (
    InvoiceViewSet,
    ProductUsageDailyViewSet,
    SupportTicketViewSet,
    SurveyResponseViewSet,
    UsageDailyViewSet,
)
from users.models import User
from users.tokens import services as tokens
from users.tokens.models import TokenKind

API_MS = 30
PAGE_SIZE = 50
DEEP_PAGE = 2_000
# Token (and its user), the page (owner, pool, health and scorecard joined), the page's tags.
ACCOUNTS_QUERIES = 3
# The open-source peer's accounts API list at 100,000 accounts, median (issue 17).
PEER_MS = 3_600
PEER_TIMES = 50


def _token_client() -> Client:
    admin = User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()
    # A name of its own each run: a live integration token's name is unique.
    name = f"Bench API reader {time.time_ns()}"
    issued = tokens.token_create(actor=admin, kind=TokenKind.INTEGRATION, name=name, scopes=["read"])
    return Client(HTTP_AUTHORIZATION=f"Bearer {issued.plaintext}")


# The other keyset lists: what the row is called, the list, its view, the rows it lists unfiltered (contacts leave
# the archived out), its default ordering and its queries (the token and its user, the page, and the timeline's
# participants).
OTHER_LISTS = [
    ("contacts (by account, then name)", "api:contact-list", ContactViewSet, Contact.objects.active, "account", 2),
    (
        "timeline (newest first)",
        "api:timeline-list",
        TimelineEntryViewSet,
        TimelineEntry.objects.all,
        "-occurred_at",
        3,
    ),
    ("usage signals (newest day first)", "api:signal-usage-list", UsageDailyViewSet, UsageDaily.objects.all, "-day", 2),
    (
        "product usage signals (newest day first)",
        "api:signal-product-usage-list",
        ProductUsageDailyViewSet,
        ProductUsageDaily.objects.all,
        "-day",
        2,
    ),
    (
        "support tickets (newest first)",
        "api:signal-tickets-list",
        SupportTicketViewSet,
        SupportTicket.objects.all,
        "-opened_at",
        2,
    ),
    (
        "survey responses (newest first)",
        "api:signal-surveys-list",
        SurveyResponseViewSet,
        SurveyResponse.objects.all,
        "-responded_at",
        2,
    ),
    ("invoices (newest first)", "api:signal-invoices-list", InvoiceViewSet, Invoice.objects.all, "-issued_on", 2),
    ("red flags (most severe first)", "api:red-flag-list", RedFlagViewSet, RedFlag.objects.all, "-severity_rank", 2),
]


def _deep_page(total: int) -> int:
    """Page 2,000, or the last full page of a smaller list."""
    return max(1, min(DEEP_PAGE, total // PAGE_SIZE))


def _cursor_to_page(ordering: str, page: int, *, view=AccountDeskViewSet, rows=Account.objects.all) -> str:
    """The cursor `next` gives on page `page - 1`: after the key of that page's last row."""
    keys = keys_for(view.ordering_keys, ordering)
    row = ordered(rows(), keys)[(page - 1) * PAGE_SIZE - 1]
    return encode_cursor(ordering=ordering, values=[getattr(row, key.alias) for key in keys], reverse=False)


def _row(name: str, client: Client, url: str, *, queries: int) -> tuple[list[Result], float]:
    median_ms, query_count = time_get(client, url)
    return [at_most(median_ms, API_MS, "ms", name), at_most(query_count, queries, "queries", f"{name}: queries")], (
        median_ms
    )


def _cpu_ms(client: Client, url: str, *, repeat: int = 20) -> float:
    """Median CPU time of this process (Django's side, not PostgreSQL's) per request: on a machine busy with other
    work the wall time above also counts the waits for a core, this does not."""
    timings = []
    for _ in range(repeat):
        started = time.process_time()
        client.get(url)
        timings.append((time.process_time() - started) * 1000)
    return statistics.median(timings)


def run() -> list[Result]:
    client = _token_client()
    total = Account.objects.count()
    deep = _deep_page(total)
    accounts = reverse("api:account-list")
    results: list[Result] = []
    accounts_ms: list[float] = []

    for label, ordering in (("by name", "name"), ("by converted ARR, largest first", "-arr_reporting")):
        first, ms = _row(
            f"API accounts {label}: first page ({total:,} accounts)",
            client,
            f"{accounts}?ordering={ordering}",
            queries=ACCOUNTS_QUERIES,
        )
        results += first
        accounts_ms.append(ms)
        if deep > 1:
            cursor = _cursor_to_page(ordering, deep)
            deep_rows, ms = _row(
                f"API accounts {label}: page {deep:,} by cursor (after the key of row {(deep - 1) * PAGE_SIZE:,})",
                client,
                f"{accounts}?ordering={ordering}&cursor={cursor}",
                queries=ACCOUNTS_QUERIES,
            )
            results += deep_rows
            accounts_ms.append(ms)
            # Numbered pages, kept for clients written before cursors: they count, and walk past every row before
            # theirs, so they stop at row 10,000 (?page=2,000 of 100,000 accounts took over a second).
            numbered = min(deep, KeysetPagination.max_offset // PAGE_SIZE)
            results += _row(
                f"API accounts {label}: ?page={numbered:,} (offset, with count; the deepest numbered page)",
                client,
                f"{accounts}?ordering={ordering}&page={numbered}",
                queries=ACCOUNTS_QUERIES + 1,
            )[0]

    for label, url_name, view, rows, ordering, queries in OTHER_LISTS:
        url = f"{reverse(url_name)}?ordering={ordering}"
        count = rows().count()
        results += _row(f"API {label}: first page ({count:,} rows)", client, url, queries=queries)[0]
        page = _deep_page(count)
        if page > 1:
            cursor = _cursor_to_page(ordering, page, view=view, rows=rows)
            results += _row(
                f"API {label}: page {page:,} by cursor (after the key of row {(page - 1) * PAGE_SIZE:,})",
                client,
                f"{url}&cursor={cursor}",
                queries=queries,
            )[0]

    default_page = f"{accounts}?ordering=name"
    results.append(
        at_most(_cpu_ms(client, default_page), API_MS, "ms", "API accounts by name: first page, CPU of the Django side")
    )

    slowest = max(accounts_ms)
    times = PEER_MS / slowest
    results.append(
        Result(
            name=f"API accounts list × faster than the peer's {PEER_MS / 1000:g} s (slowest of the accounts rows "
            f"above, {slowest:.1f} ms)",
            value=round(times, 1),
            unit="×",
            goal=f"≥ {PEER_TIMES} ×",
            met=times >= PEER_TIMES,
        )
    )
    assert settings.REST_FRAMEWORK["PAGE_SIZE"] == PAGE_SIZE, "the deep pages assume the API's default page size"
    return results
