"""What the web process does on `make run` while the worker writes: the fault test runs it in processes of its own.

    python -m tests.faults.sqlite_workload --seed 16     # a book: handovers with their email step open, and more
    python -m tests.faults.sqlite_workload --seconds 6 --share 0/2

For `--seconds` it logs touchpoints on the book's accounts (each one queues a health recompute for the worker)
and, every few, sends a handover's introduction email (which the worker sends and records): each a transaction
that reads before it writes, through the real services. It prints one JSON line: how many of each it wrote, how
many were refused with "database is locked", and the longest an iteration took (waiting for the other writers
included). Any other error ends it with a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, help="write a book with this many handovers (and as many quiet accounts)")
    parser.add_argument("--seconds", type=float, default=0)
    parser.add_argument("--share", default="0/1", help="this process's share of the email steps: i/n")
    arguments = parser.parse_args()
    index, parts = (int(part) for part in arguments.share.split("/"))

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.faults.sqlite_settings")
    import django

    django.setup()
    if arguments.seed is not None:
        seed(handovers=arguments.seed, quiet_accounts=arguments.seed)
        return 0
    from django.db import OperationalError
    from django.utils import timezone

    from accounts.models import Account, Channel
    from accounts.services import touchpoint_log
    from core.db_retry import is_lock_conflict
    from transitions.models import TaskStatus, TransitionTask
    from transitions.services import task_email_send

    accounts = list(Account.objects.select_related("owner").order_by("pk"))
    steps = [
        step
        for step in TransitionTask.objects.filter(status=TaskStatus.OPEN)
        .exclude(email_body="")
        .select_related("transition__account", "assignee")
        .order_by("pk")
        if step.pk % parts == index
    ]
    randomness = random.Random(index)
    written: dict[str, float] = {"touchpoints": 0, "emails": 0, "locked": 0, "slowest_write_s": 0.0}
    deadline = time.monotonic() + arguments.seconds
    while time.monotonic() < deadline:
        started = time.monotonic()
        try:
            if steps and written["touchpoints"] % 4 == 3:
                step = steps.pop()
                contacts = list(step.transition.account.contacts.exclude(email=""))
                task_email_send(
                    actor=step.assignee,
                    task=step,
                    contacts=contacts,
                    subject="Your new CSM",
                    body="Hi {contact_first_name}, I take over your account from today.",
                )
                written["emails"] += len(contacts)
            account = randomness.choice(accounts)
            touchpoint_log(
                actor=account.owner,
                account=account,
                channel=Channel.CALL,
                occurred_at=timezone.now(),
                summary="Weekly call",
            )
            written["touchpoints"] += 1
        except OperationalError as error:
            if not is_lock_conflict(error):
                raise
            written["locked"] += 1
        written["slowest_write_s"] = round(max(written["slowest_write_s"], time.monotonic() - started), 3)
    print(json.dumps(written))
    return 0


def seed(*, handovers: int, quiet_accounts: int) -> None:
    """The shipped configuration; a team, its manager and two CSMs; accounts with a contact each, the first `handovers` of them being handed
    from one CSM to the other (the step that writes to the customer left open)."""
    import datetime as dt

    from django.utils import timezone

    from accounts.tests.factories import AccountFactory, ContactFactory
    from tests.support import restore_day_one_configuration
    from transitions.models import TransitionReason
    from transitions.services import transition_start
    from transitions.tests.conftest import ensure_default_playbooks
    from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

    restore_day_one_configuration()  # the scorecard and rules a new install has (a copied test database may not)
    ensure_default_playbooks()
    team = TeamFactory()
    manager = ManagerFactory(team=team)
    outgoing, incoming = CSMFactory(team=team), CSMFactory(team=team)
    today = timezone.localdate()
    for number in range(handovers + quiet_accounts):
        account = AccountFactory(owner=outgoing)
        ContactFactory(account=account, email=f"contact{number}@customer.example")
        if number < handovers:
            transition_start(
                actor=manager,
                account=account,
                to_csm=incoming,
                reason=TransitionReason.REBALANCING,
                start_date=today,
                target_date=today + dt.timedelta(days=14),
            )


if __name__ == "__main__":
    sys.exit(main())
