"""Handovers at scale (issue 5).

Figures: a bulk start of 500 accounts across 5 incoming CSMs with the default
playbook (one transaction, set-based inserts), and the manager board with
2,000 transitions under way (median time and queries). Everything the suite
creates is removed afterwards, so later suites see the seeded company.
"""

from __future__ import annotations

import time

from django.db import transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditEvent, TimelineEntry
from bench.core import Result, at_most, login_client, time_get
from transitions.models import Playbook, PlaybookKind, Transition, TransitionReason
from transitions.services import transition_bulk_start
from users.models import User

BULK_ACCOUNTS, BULK_SECONDS = 500, 3.0
BOARD_TRANSITIONS, BOARD_MS, BOARD_QUERIES = 2000, 150, 15
INCOMING = ["sam", "priya", "jonas", "lena", "omar"]


def _manager_for(csm: User) -> User:
    """Someone allowed to hand over `csm`'s book: their team's manager, else an admin."""
    manager = User.objects.filter(role=User.Role.MANAGER, team_id=csm.team_id, is_active=True).order_by("pk").first()
    return manager or User.objects.filter(role=User.Role.ADMIN).order_by("pk").first()


def _book(owner: User, count: int, *, exclude: set[int]) -> list[int]:
    free = Account.objects.filter(owner=owner).exclude(transitions__status__in=["planned", "in_progress"])
    return [pk for pk in free.order_by("pk").values_list("pk", flat=True)[: count + len(exclude)] if pk not in exclude][
        :count
    ]


def _start(actor: User, account_ids: list[int], incoming: list[User], playbook: Playbook) -> list[Transition]:
    today = timezone.localdate()
    return transition_bulk_start(
        actor=actor,
        assignments=[(pk, incoming[index % len(incoming)].pk) for index, pk in enumerate(account_ids)],
        playbook=playbook,
        reason=TransitionReason.REBALANCING,
        start_date=today,
        target_date=today + timezone.timedelta(days=14),
        note="bench",
    )


def _clean_up(transition_ids: list[int], started_at) -> None:
    with transaction.atomic():
        AuditEvent.objects.filter(subject_type="transition", subject_id__in=transition_ids).delete()
        account_ids = list(Transition.objects.filter(pk__in=transition_ids).values_list("account_id", flat=True))
        TimelineEntry.objects.filter(
            account_id__in=account_ids,
            event="transition_started",
            occurred_at__gte=started_at,
        ).delete()
        Transition.objects.filter(pk__in=transition_ids).delete()  # tasks go with them


def run() -> list[Result]:
    playbook = Playbook.objects.get(kind=PlaybookKind.HANDOVER, is_default=True)
    incoming = list(User.objects.filter(username__in=INCOMING).order_by("username"))
    owners = list(
        User.objects.filter(role=User.Role.CSM, is_active=True)
        .exclude(username__in=INCOMING)
        .annotate(book=Count("owned_accounts"))
        .filter(book__gte=BULK_ACCOUNTS)
        .order_by("-book", "username")
    )
    if len(incoming) < len(INCOMING) or not owners:
        raise RuntimeError("The handover bench needs the demo CSMs and a book of at least 500 accounts.")
    started_at = timezone.now()
    created: list[int] = []
    try:
        outgoing = owners[0]
        manager = _manager_for(outgoing)
        bulk_ids = _book(outgoing, BULK_ACCOUNTS, exclude=set())
        started = time.perf_counter()
        transitions = _start(manager, bulk_ids, incoming, playbook)
        bulk_seconds = time.perf_counter() - started
        created += [t.pk for t in transitions]

        # Fill the board up to 2,000 transitions under way, spread over several outgoing CSMs.
        missing = BOARD_TRANSITIONS - Transition.objects.active().count()
        for owner in owners:
            if missing <= 0:
                break
            ids = _book(owner, min(missing, 1000), exclude=set())
            if ids:
                more = _start(_manager_for(owner), ids, incoming, playbook)
                created += [t.pk for t in more]
                missing -= len(more)
        active = Transition.objects.active().count()

        median_ms, queries = time_get(login_client(manager.username), reverse("transition-board"))
        return [
            Result(
                name=f"bulk handover start ({len(transitions)} accounts → {len(incoming)} CSMs, {playbook.steps.count()} steps)",
                value=round(bulk_seconds, 2),
                unit="s",
                goal=f"≤ {BULK_SECONDS:g} s",
                met=bulk_seconds <= BULK_SECONDS and len(transitions) == BULK_ACCOUNTS,
            ),
            at_most(
                median_ms,
                BOARD_MS,
                "ms",
                f"manager board ({active:,} active transitions)",
            ),
            at_most(queries, BOARD_QUERIES, "queries", "manager board: queries"),
        ]
    finally:
        _clean_up(created, started_at)
