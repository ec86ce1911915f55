"""Reads of red flags for pages: the Account 360 panel, cockpit counts, the alerts inbox."""

from __future__ import annotations

from dataclasses import dataclass
from operator import attrgetter, methodcaller
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone

from accounts.models import Account
from accounts.money.selectors import reporting_currency
from core.csv_export import Column
from lifecycle.flags.filters import NEEDING_ACTION, RedFlagFilter
from lifecycle.flags.models import ACTIVE, AlertSettings, FloodWarning
from lifecycle.flags.services import can_act_on_flag
from lifecycle.models import UNRESOLVED, FlagStatus, RedFlag
from users.models import User
from users.permissions import oversees_alerts, oversight

SCOPES = ("mine", "team", "all")


def _with_columns(queryset: QuerySet[RedFlag]) -> QuerySet[RedFlag]:
    return queryset.select_related("rule", "owner", "account__owner", "account__pool").order_by(
        "-severity_rank", "-raised_at", "-pk"
    )


def open_flags_for_account(account: Account) -> list[RedFlag]:
    """The account's unresolved flags, most severe first (1 query); snoozed ones say until when."""
    return list(_with_columns(RedFlag.objects.filter(account=account, status__in=UNRESOLVED)))


def open_flag_counts(account_ids: list[int]) -> dict[int, int]:
    """Flags needing action per account (open, acknowledged, or snoozed past their date): 1 query."""
    rows = (
        RedFlag.objects.filter(account_id__in=account_ids)
        .needing_action(at=timezone.now())
        .values("account_id")
        .annotate(n=Count("pk"))
        .values_list("account_id", "n")
    )
    return dict(rows)


def scope_q(user: User, scope: str) -> Q:
    """mine: flags I own, and flags of my team's pool (nobody owns those alone); team: my team's accounts."""
    if scope == "all":
        return Q()
    if scope == "team":
        if user.team_id is None:
            return Q(pk__in=[])
        return Q(account__owner__team_id=user.team_id) | Q(account__pool_id=user.team_id)
    mine = Q(owner=user)
    if user.team_id is not None:
        mine |= Q(owner__isnull=True, account__pool_id=user.team_id)
    return mine


def default_scope(user: User) -> str:
    """The tab the inbox opens on: as far as the user answers for (everything, their team, their own)."""
    return oversight(user)


def scope_counts(user: User) -> dict[str, int]:
    """How many flags need action in each tab: 1 query."""
    needing = RedFlag.objects.needing_action(at=timezone.now())
    return needing.aggregate(**{scope: Count("pk", filter=scope_q(user, scope)) for scope in SCOPES})


def inbox_scope(user: User, params: QueryDict) -> str:
    """The tab `params` ask for, or the user's default one."""
    scope = params.get("scope")
    return scope if scope in SCOPES else default_scope(user)


def flags_inbox(*, user: User, scope: str, params: QueryDict) -> tuple[RedFlagFilter, QuerySet[RedFlag]]:
    """The inbox's filter form and its flags; needing action unless another status is asked for."""
    data = params.copy()
    if not data.get("status"):
        data["status"] = NEEDING_ACTION
    queryset = _with_columns(RedFlag.objects.filter(scope_q(user, scope)))
    flag_filter = RedFlagFilter(data, queryset=queryset)
    return flag_filter, flag_filter.qs


SCOPE_LABELS = [("mine", "Mine"), ("team", "My team"), ("all", "All")]


def inbox_tabs(user: User, params: QueryDict) -> dict[str, Any]:
    """The inbox's scope, its tabs with their counts (1 query), and its filtered flags (lazy), as `params` ask.

    Shared by the inbox page (desk) and the in-place flag actions, which bring
    the tabs' counts up to date after a row changes.
    """
    scope = inbox_scope(user, params)
    counts = scope_counts(user)
    flag_filter, queryset = flags_inbox(user=user, scope=scope, params=params)
    tab_params = params.copy()
    for name in ("scope", "page"):
        tab_params.pop(name, None)
    return {
        "scope": scope,
        "scopes": [(key, label, counts[key]) for key, label in SCOPE_LABELS],
        "filter": flag_filter,
        "flags": queryset,
        "tab_query_string": tab_params.urlencode(),
    }


def _flag_owner(flag: RedFlag) -> str:
    """Who answers for the flag, as the inbox shows it: its owner, or the pool of a pooled account."""
    if flag.owner_id:
        return str(flag.owner)
    if flag.account.pool_id:
        return f"{flag.account.pool} pool"
    return ""


def flag_export_columns() -> list[Column[RedFlag]]:
    """The alerts inbox's export, one row per flag: labels not codes, the account's ARR converted beside the original.

    The rows need the inbox's select_related (`flags_inbox`), so the file is one query however many flags.
    """
    return [
        Column("ID", attrgetter("pk")),
        Column("Severity", methodcaller("get_severity_display")),
        Column("Account", attrgetter("account.name")),
        Column("Tier", lambda flag: flag.account.get_tier_display()),
        Column("Covered by", attrgetter("account.covered_by_label")),
        Column("Rule", attrgetter("rule.name")),
        Column("Reason", attrgetter("reason")),
        Column("Status", methodcaller("get_status_display")),
        Column("Raised", attrgetter("raised_at")),
        Column("First raised", lambda flag: flag.first_raised_at or flag.raised_at),
        Column("Owner", _flag_owner),
        Column("Owner username", lambda flag: flag.owner.username if flag.owner_id else ""),
        Column("Snoozed until", attrgetter("snoozed_until")),
        Column("Acknowledged", attrgetter("acknowledged_at")),
        Column("Resolved", attrgetter("resolved_at")),
        Column("Resolution note", attrgetter("resolution_note")),
        Column("Cleared", attrgetter("cleared_at")),
        Column("Why cleared", attrgetter("cleared_reason")),
        Column(f"ARR ({reporting_currency()})", attrgetter("account.arr_reporting")),
        Column("ARR as written", attrgetter("account.arr")),
        Column("Currency", attrgetter("account.currency")),
    ]


@dataclass(frozen=True)
class FlagRow:
    flag: RedFlag
    can_act: bool

    @property
    def snoozed(self) -> bool:
        return self.flag.status == FlagStatus.SNOOZED


def flag_rows(user: User, flags: list[RedFlag]) -> list[FlagRow]:
    # Needs account__owner selected (see _with_columns) so this asks no further queries.
    return [FlagRow(flag=flag, can_act=can_act_on_flag(user, flag)) for flag in flags]


COCKPIT_FLAG_LIMIT = 5


def flags_for_cockpit(user: User) -> list[RedFlag]:
    """My most severe open or acknowledged flags, for the cockpit (2 queries; one extra row tells there are more).

    Both branches walk a partial index in severity order, so the cost does not
    grow with the flags on a desk. Snoozed flags stay in the inbox: the nightly
    run re-opens those whose date has come while their rule still fires.
    """
    active = RedFlag.objects.filter(status__in=ACTIVE)
    limit = COCKPIT_FLAG_LIMIT + 1
    mine = _with_columns(active.filter(owner=user))[:limit]
    if user.team_id is None or oversight(user) != "mine":
        others = _with_columns(active.filter(scope_q(user, default_scope(user))).exclude(owner=user))[:limit]
    else:
        others = _with_columns(active.filter(owner__isnull=True, account__pool_id=user.team_id))[:limit]
    flags = sorted([*mine, *others], key=lambda flag: (flag.severity_rank, flag.raised_at, flag.pk), reverse=True)
    return flags[:limit]


# --- the flood guard ---------------------------------------------------------------

FLOOD_BANNER_LIMIT = 10


@dataclass(frozen=True)
class FloodBanner:
    """The unacknowledged flood warnings the inbox shows an admin or a manager, newest first."""

    warnings: list[FloodWarning]
    more: bool  # older ones wait behind these

    def __bool__(self) -> bool:
        return bool(self.warnings)


def flood_banner(user: User) -> FloodBanner:
    """For admins and managers: 1 query (one extra row tells there are more). Nothing, and no query, for a CSM."""
    if not oversees_alerts(user):
        return FloodBanner(warnings=[], more=False)
    rows = list(
        FloodWarning.objects.unacknowledged()
        .select_related("rule")
        .order_by("-day", "-share", "pk")[: FLOOD_BANNER_LIMIT + 1]
    )
    return FloodBanner(warnings=rows[:FLOOD_BANNER_LIMIT], more=len(rows) > FLOOD_BANNER_LIMIT)


def alert_settings() -> AlertSettings:
    """The settings in force, defaults included (1 query)."""
    return AlertSettings.objects.current()


def recent_flood_warnings(limit: int = 30) -> list[FloodWarning]:
    """The latest warnings, acknowledged or not, with who acknowledged them (1 query)."""
    return list(FloodWarning.objects.select_related("rule", "acknowledged_by").order_by("-day", "-share", "pk")[:limit])
