"""What the simulated users work on, read from the load database before each run (Django set up).

The locust process does not import Django (it runs under gevent): it gets this plan as JSON. Every id in it
exists when the run starts: the demo's CSMs and a sample of the accounts each owns, the open handover steps
assigned to each, and a sample of the whole book for the integration's reads and usage rows.

A step completes once, so the steps are read again before every run, and topped up first: the seeded demo has no
handover under way (`make bench` removes the ones it starts), so each CSM's team manager hands some of the CSM's
accounts to a teammate with the default playbook, through the same service as the bulk handover page, until the
CSM has enough open steps. Only required steps are planned: the last one finishes its handover, and an optional
step left on a finished handover could not be done. Accounts under a handover are left out of the CSM's pages and
notes, as finishing one moves the account to its new owner in the middle of the run.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from dataclasses import dataclass

from django.utils import timezone

from accounts.demo.staff import DEMO_PASSWORD, ROSTER
from accounts.models import Account
from transitions.models import ACTIVE_STATUSES, AssigneeRole, TransitionReason, TransitionTask
from transitions.services import default_handover_playbook, transition_bulk_start
from users.models import User
from users.tokens import services as tokens
from users.tokens.models import ApiToken, TokenKind
from users.tokens.scopes import Scope

ACCOUNTS_PER_CSM = 500
BOOK_SAMPLE = 2_000
# Open steps each CSM should have before a run: more than the fastest run completes (about 100 a CSM in 20 s).
OPEN_STEPS_PER_CSM = 250


class NotSeeded(Exception):
    """The load database lacks what the workload needs (no demo company in it)."""


@dataclass(frozen=True)
class Integration:
    token: ApiToken
    plaintext: str


def demo_csms() -> list[User]:
    """The demo roster's CSMs, as seeded; every one of them must be there and able to sign in."""
    usernames = [member.username for member in ROSTER if member.role == User.Role.CSM]
    found = list(User.objects.filter(username__in=usernames, role=User.Role.CSM, is_active=True).order_by("username"))
    missing = sorted(set(usernames) - {user.username for user in found})
    if missing:
        raise NotSeeded(f"the demo's CSMs {', '.join(missing)} are missing or inactive (seed the demo company)")
    return found


def sign_in_prepare(csms: list[User]) -> list[str]:
    """Lets the demo's CSMs sign in through the form under production's settings; returns what it had to change.

    `make bench` seeds under the test settings, whose fast password hasher (MD5) production does not accept: a CSM
    whose stored hash does not check out under the load settings gets the demo password again, hashed as production
    hashes. A lock-out an earlier, failed run left on these users (django-axes) is cleared, as an admin would.
    """
    from axes.utils import reset

    changed = []
    for user in csms:
        if not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
            changed.append(f"{user.username}: password re-hashed")
        if cleared := reset(username=user.username):
            changed.append(f"{user.username}: {cleared} sign-in failure record(s) cleared")
    return changed


def integration_create() -> Integration:
    """An integration token (read and write signals), as an admin makes one for a usage feed."""
    admin = User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
    if admin is None:
        raise NotSeeded("no active admin to issue the integration token")
    issued = tokens.token_create(
        actor=admin,
        kind=TokenKind.INTEGRATION,
        name=f"Load run {time.strftime('%Y-%m-%d %H:%M:%S')} {time.time_ns() % 10**6}",
        scopes=[Scope.READ.value, Scope.WRITE_SIGNALS.value],
    )
    return Integration(token=issued.token, plaintext=issued.plaintext)


def integration_revoke(integration: Integration) -> None:
    tokens.token_revoke(actor=integration.token.created_by, token=integration.token)


def _open_steps(user: User) -> list[int]:
    return list(
        TransitionTask.objects.open()
        .filter(assignee=user, required=True, transition__status__in=ACTIVE_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def open_steps_top_up(*, csms: list[User], per_csm: int = OPEN_STEPS_PER_CSM) -> int:
    """Start handovers until every CSM has `per_csm` open required steps; returns how many were started."""
    playbook = default_handover_playbook()
    if playbook is None:
        raise NotSeeded("it has no default handover playbook")
    steps = playbook.steps.filter(required=True)
    outgoing_steps = steps.filter(assignee_role=AssigneeRole.OUTGOING).count()
    if not outgoing_steps:
        raise NotSeeded("its default handover playbook has no required step for the outgoing CSM")
    today = timezone.localdate()
    started = 0
    for user in csms:
        missing = per_csm - len(_open_steps(user))
        if missing <= 0:
            continue
        teammates = [other for other in csms if other.team_id == user.team_id and other.pk != user.pk]
        manager = User.objects.filter(role=User.Role.MANAGER, team_id=user.team_id, is_active=True).order_by("pk")
        actor = manager.first() or User.objects.filter(role=User.Role.ADMIN, is_active=True).order_by("pk").first()
        if not teammates or actor is None:
            continue
        free = (
            Account.objects.filter(owner=user)
            .exclude(transitions__status__in=ACTIVE_STATUSES)
            .order_by("pk")
            .values_list("pk", flat=True)[: math.ceil(missing / outgoing_steps)]
        )
        assignments = [(pk, teammates[index % len(teammates)].pk) for index, pk in enumerate(free)]
        if assignments:
            started += len(
                transition_bulk_start(
                    actor=actor,
                    assignments=assignments,
                    playbook=playbook,
                    reason=TransitionReason.REBALANCING,
                    start_date=today,
                    target_date=today + dt.timedelta(days=14),
                    note="Started to give the load run open steps to complete.",
                )
            )
    return started


def build(*, integration: Integration, seed: int, open_steps_per_csm: int = OPEN_STEPS_PER_CSM) -> dict:
    """The plan for one run. Raises NotSeeded when the database holds no demo company."""
    rng = random.Random(seed)
    book = list(Account.objects.values_list("pk", flat=True))
    if not book:
        raise NotSeeded("it holds no accounts")
    csms = []
    users = demo_csms()
    open_steps_top_up(csms=users, per_csm=open_steps_per_csm)
    for user in users:
        owned = list(
            Account.objects.filter(owner=user)
            .exclude(transitions__status__in=ACTIVE_STATUSES)
            .values_list("pk", flat=True)
        )
        open_steps = _open_steps(user)
        rng.shuffle(open_steps)
        csms.append(
            {
                "username": user.username,
                "accounts": rng.sample(owned, min(len(owned), ACCOUNTS_PER_CSM)),
                "open_tasks": open_steps,
            }
        )
    if not any(csm["accounts"] for csm in csms):
        raise NotSeeded("none of the demo's CSMs owns an account")
    return {
        "password": DEMO_PASSWORD,
        "csms": csms,
        "book": rng.sample(book, min(len(book), BOOK_SAMPLE)),
        "token": integration.plaintext,
        "seed": seed,
    }
