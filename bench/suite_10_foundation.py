"""Foundation pages at scale: the cockpit, the all-accounts list, Account 360."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse

from accounts.models import Account, Tier
from bench.core import Result, at_most, login_client, time_get
from users.models import User

COCKPIT_MS, COCKPIT_QUERIES = 100, 12
# This suite runs on the seeded book before any recompute. The cockpit opens "next best first", which reads the
# scored accounts through their health's priority index and the unscored ones after them: on a book nobody has
# scored yet a page takes both, one query more (desk/tests/test_query_counts.py pins the same two budgets; the
# scored book's cockpit is measured after suite 20, at COCKPIT_QUERIES).
COCKPIT_UNSCORED_QUERIES = COCKPIT_QUERIES + 1
LIST_MS, LIST_QUERIES = 150, 12
# Sorted by ARR, a list also asks which currencies in it have no rate (they sort last).
BY_ARR_QUERIES = 1
# The 360 gathers every app's panel (health, flags, plans, handover, check-ins,
# pulse) with one query each; the ceiling guards against a per-row query
# creeping in, not against a new panel.
DETAIL_MS, DETAIL_QUERIES = 150, 25


def _largest_book_csm() -> User:
    return (
        User.objects.filter(role=User.Role.CSM)
        .annotate(book=Count("owned_accounts"))
        .order_by("-book", "username")
        .first()
    )


def _busiest_account(owner: User) -> Account:
    """One of the owner's high-touch accounts with the most contacts and timeline."""
    candidates = Account.objects.filter(owner=owner, tier=Tier.HIGH_TOUCH).order_by("pk")[:200]
    return (
        Account.objects.filter(pk__in=list(candidates.values_list("pk", flat=True)))
        .annotate(
            contact_count=Count("contacts", distinct=True),
            entry_count=Count("timeline", distinct=True),
        )
        .order_by("-entry_count", "-contact_count", "pk")
        .first()
    )


def _page(name: str, client, url: str, *, ms: float, queries: int) -> list[Result]:
    median_ms, query_count = time_get(client, url)
    return [
        at_most(median_ms, ms, "ms", name),
        at_most(query_count, queries, "queries", f"{name}: queries"),
    ]


def run() -> list[Result]:
    csm = _largest_book_csm()
    desk = Account.objects.filter(Q(owner=csm) | Q(pool_id=csm.team_id)).count()
    client = login_client(csm.username)
    cockpit = reverse("cockpit")
    account = _busiest_account(csm)
    return [
        *_page(
            f"cockpit ({csm.username}, {desk:,} accounts on desk, none scored yet)",
            client,
            cockpit,
            ms=COCKPIT_MS,
            queries=COCKPIT_UNSCORED_QUERIES,
        ),
        *_page(
            "cockpit filtered (success, renewal ≤ 90 d; none scored yet)",
            client,
            f"{cockpit}?stage=success&renewal_within=90",
            ms=COCKPIT_MS,
            queries=COCKPIT_UNSCORED_QUERIES,
        ),
        *_page(
            "cockpit sorted by converted ARR desc",
            client,
            f"{cockpit}?sort=-arr",
            ms=COCKPIT_MS,
            queries=COCKPIT_QUERIES + BY_ARR_QUERIES,
        ),
        *_page(
            "all accounts list",
            client,
            reverse("account-list"),
            ms=LIST_MS,
            queries=LIST_QUERIES,
        ),
        *_page(
            "all accounts sorted by ARR desc",
            client,
            f"{reverse('account-list')}?sort=-arr",
            ms=LIST_MS,
            queries=LIST_QUERIES + BY_ARR_QUERIES,
        ),
        *_page(
            f"account 360 ({account.contact_count} contacts, {account.entry_count} entries)",
            client,
            reverse("account-detail", args=[account.pk]),
            ms=DETAIL_MS,
            queries=DETAIL_QUERIES,
        ),
    ]
