"""The portfolio page at scale: a manager's team book, the whole book for an admin, the same query count for both."""

from __future__ import annotations

from django.db import connection
from django.db.models import Count, Q
from django.urls import reverse

from accounts.models import Account
from bench.core import Result, at_most, login_client, time_get
from lifecycle.health.models import AccountHealth, HealthScore
from lifecycle.health.rollup import health_band_daily_backfill
from users.models import User

PORTFOLIO_MS = 300
# Session, user, nav bar (team, bell), the filter's choices (teams, segments), nine aggregates, and the teams
# and owners that name each group's segment.
PORTFOLIO_QUERIES = 17


def _weekly_history() -> int:
    """Give every scored account a snapshot on each weekly point of the last 90 days, as a book scored nightly
    for three months has (and their nightly roll-up): the benchmark's seed scores today only, and the trend
    chart reads those 13 days."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {HealthScore._meta.db_table} (account_id, day, score, band, measures, computed_at)
            SELECT h.account_id, h.day - weeks.n * 7, h.score, h.band, '{{}}', now()
            FROM {AccountHealth._meta.db_table} h CROSS JOIN generate_series(1, 12) AS weeks(n)
            ON CONFLICT (account_id, day) DO NOTHING
            """
        )
        written = cursor.rowcount
        cursor.execute(f"VACUUM ANALYZE {HealthScore._meta.db_table}")
    # What each of those nights' runs would have rolled up for the charts over time.
    health_band_daily_backfill()
    return written


def _one(user: User | None, who: str) -> User:
    if user is None:
        raise RuntimeError(f"The demo company has no {who}.")
    return user


def _largest_team_manager() -> User:
    return _one(
        User.objects.filter(role=User.Role.MANAGER, team__isnull=False)
        .annotate(members=Count("team__members"))
        .order_by("-members", "username")
        .first(),
        "manager with a team",
    )


def _smallest_book_csm() -> User:
    return _one(
        User.objects.filter(role=User.Role.CSM, owned_accounts__isnull=False)
        .annotate(book=Count("owned_accounts"))
        .order_by("book", "username")
        .first(),
        "CSM with accounts",
    )


def run() -> list[Result]:
    url = reverse("portfolio")
    history = _weekly_history()
    manager = _largest_team_manager()
    team_book = Account.objects.filter(Q(owner__team_id=manager.team_id) | Q(pool_id=manager.team_id)).count()
    manager_ms, manager_queries = time_get(login_client(manager.username), url)
    csm = _smallest_book_csm()
    csm_book = Account.objects.filter(Q(owner=csm) | Q(pool_id=csm.team_id)).count()
    csm_ms, csm_queries = time_get(login_client(csm.username), url, repeat=5)
    admin = _one(User.objects.filter(role=User.Role.ADMIN).order_by("username").first(), "admin")
    admin_ms, admin_queries = time_get(login_client(admin.username), url, repeat=10)
    filtered_ms, _ = time_get(login_client(manager.username), f"{url}?tier=high", repeat=10)
    name = f"portfolio page (manager {manager.username}, {team_book:,} accounts, 13 weekly snapshots each)"
    return [
        at_most(manager_ms, PORTFOLIO_MS, "ms", name),
        at_most(manager_queries, PORTFOLIO_QUERIES, "queries", f"{name}: queries"),
        # Fixed: the same count on a CSM's book of a few hundred accounts as on the team's tens of thousands.
        at_most(
            abs(manager_queries - csm_queries),
            0,
            "queries",
            f"portfolio: query count, manager ({manager_queries}) vs CSM {csm.username} with {csm_book:,} accounts "
            f"({csm_queries}, {csm_ms:.0f} ms) and admin ({admin_queries})",
        ),
        Result(f"portfolio page (admin, every account; {admin_queries} queries)", round(admin_ms, 1), "ms", "", True),
        Result("portfolio page (manager, high-touch only)", round(filtered_ms, 1), "ms", "", True),
        Result("portfolio: weekly snapshots added for the trend", history, "rows", "", True),
    ]
