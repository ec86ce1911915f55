"""The `data` of each webhook event, read in a fixed number of queries per batch of events.

Fields are documented in the README ("Webhooks") and only ever added to:
receivers may rely on every field named there. Ids are Baton's; money is a
decimal string; dates and times are ISO 8601 (times in UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.urls import reverse

from accounts.models import Account
from accounts.outcomes.models import Outcome
from lifecycle.models import AccountHealth, RedFlag
from transitions.models import Transition
from users.models import User

Data = dict[str, Any]


def _iso(value: dt.datetime | dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _person(user: User | None) -> Data | None:
    return {"id": user.pk, "name": str(user)} if user is not None else None


def account_data(account: Account) -> Data:
    return {
        "id": account.pk,
        "name": account.name,
        "external_id": account.external_id,
        "domain": account.domain,
        "stage": account.stage,
        "url": settings.BATON_BASE_URL.rstrip("/") + reverse("account-detail", args=[account.pk]),
    }


def _flag_data(flag: RedFlag) -> Data:
    return {
        "id": flag.pk,
        "rule": {"id": flag.rule_id, "name": flag.rule.name, "kind": flag.rule.kind},
        "severity": flag.severity,
        "status": flag.status,
        "reason": flag.reason,
        "raised_at": _iso(flag.raised_at),
    }


def flags_raised(flag_ids: Iterable[int], *, reopened_ids: Iterable[int]) -> list[Data]:
    reopened = set(reopened_ids)
    flags = RedFlag.objects.filter(pk__in=list(flag_ids)).select_related("rule", "account").order_by("pk")
    return [
        {"account": account_data(flag.account), "flag": _flag_data(flag) | {"reopened": flag.pk in reopened}}
        for flag in flags
    ]


def flags_cleared(flag_ids: Iterable[int]) -> list[Data]:
    flags = RedFlag.objects.filter(pk__in=list(flag_ids)).select_related("rule", "account").order_by("pk")
    return [
        {
            "account": account_data(flag.account),
            "flag": _flag_data(flag) | {"cleared_at": _iso(flag.cleared_at), "cleared_reason": flag.cleared_reason},
        }
        for flag in flags
    ]


def bands_changed(changes: Iterable[tuple[int, str, str]]) -> list[Data]:
    moves = {account_id: (before, after) for account_id, before, after in changes}
    health = AccountHealth.objects.filter(account_id__in=list(moves)).select_related("account").order_by("account_id")
    return [
        {
            "account": account_data(row.account),
            "from_band": moves[row.account_id][0],
            "to_band": moves[row.account_id][1],
            "score": None if row.score is None else str(row.score),
            "overridden": row.overridden,
        }
        for row in health
    ]


def flag_resolved(flag_id: int) -> list[Data]:
    flags = RedFlag.objects.filter(pk=flag_id).select_related("rule", "account", "resolved_by")
    return [
        {
            "account": account_data(flag.account),
            "flag": _flag_data(flag) | {"resolved_at": _iso(flag.resolved_at)},
            "resolved_by": _person(flag.resolved_by),
        }
        for flag in flags
    ]


def stage_changed(*, account_id: int, from_stage: str, to_stage: str, actor_id: int | None) -> list[Data]:
    account = Account.objects.filter(pk=account_id).first()
    if account is None:
        return []
    actor = User.objects.filter(pk=actor_id).first() if actor_id else None
    return [
        {
            "account": account_data(account),
            "from_stage": from_stage,
            "to_stage": to_stage,
            "changed_by": _person(actor),
        }
    ]


def transition_completed(transition_id: int) -> list[Data]:
    transitions = Transition.objects.filter(pk=transition_id).select_related("account", "from_csm", "to_csm")
    return [
        {
            "account": account_data(transition.account),
            "transition": {
                "id": transition.pk,
                "kind": transition.kind,
                "reason": transition.reason,
                "from_csm": _person(transition.from_csm),
                "to_csm": _person(transition.to_csm),
                "completed_at": _iso(transition.completed_at),
            },
        }
        for transition in transitions
    ]


def outcome_recorded(outcome_id: int) -> list[Data]:
    outcomes = Outcome.objects.filter(pk=outcome_id).select_related("account")
    return [
        {
            "account": account_data(outcome.account),
            "outcome": {
                "id": outcome.pk,
                "kind": outcome.kind,
                "occurred_on": _iso(outcome.occurred_on),
                "arr_before": str(outcome.arr_before),
                "arr_after": str(outcome.arr_after),
                "currency": outcome.currency,
                "reason": outcome.reason,
                "source": outcome.source,
                "corrects_id": outcome.corrects_id,
            },
        }
        for outcome in outcomes
    ]
