"""On PostgreSQL, the invariants hold in the database itself, not only in Python.

Each violation below goes around the services (a plain INSERT or UPDATE, as a
bulk job or a careless migration would) and must still be refused.
"""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, connections, transaction

from accounts.models import (
    Account,
    AuditAction,
    AuditEvent,
    Contact,
    Coverage,
    TimelineEntry,
)
from accounts.services import account_reassign
from accounts.tests.factories import AccountFactory, ContactFactory
from tests.support import wait_until
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _refused(constraint: str):
    """Expect PostgreSQL to reject the statement, naming `constraint`."""
    return pytest.raises(IntegrityError, match=constraint)


def test_an_assigned_account_without_an_owner_is_refused_by_the_database():
    with _refused("account_assigned_has_owner"), transaction.atomic():
        AccountFactory(coverage=Coverage.ASSIGNED, owner=None)

    account = AccountFactory(coverage=Coverage.ASSIGNED)
    with _refused("account_assigned_has_owner"), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(owner=None)
    account.refresh_from_db()
    assert account.owner_id is not None


def test_a_pooled_account_without_a_pool_is_refused_by_the_database():
    with _refused("account_pooled_has_pool"), transaction.atomic():
        AccountFactory(coverage=Coverage.POOLED, owner=None, pool=None)

    pooled = AccountFactory(coverage=Coverage.POOLED, owner=None, pool=TeamFactory())
    with _refused("account_pooled_has_pool"), transaction.atomic():
        Account.objects.filter(pk=pooled.pk).update(pool=None)
    assert Account.objects.filter(pk=pooled.pk, pool__isnull=False).exists()


def test_a_contact_cannot_report_to_themselves():
    contact = ContactFactory()

    with _refused("contact_not_own_manager"), transaction.atomic():
        Contact.objects.filter(pk=contact.pk).update(reports_to=contact)

    contact.refresh_from_db()
    assert contact.reports_to_id is None


def test_two_contacts_of_one_account_cannot_share_an_email():
    account = AccountFactory()
    ContactFactory(account=account, email="dana@customer.example")

    with _refused("contact_unique_email_per_account"), transaction.atomic():
        ContactFactory(account=account, email="dana@customer.example")

    # The rule is per account, and contacts without an email never clash.
    ContactFactory(account=AccountFactory(), email="dana@customer.example")
    ContactFactory(account=account, email="")
    ContactFactory(account=account, email="")
    assert account.contacts.count() == 3


def _waiting_on_a_lock() -> int:
    """Other sessions on this database that are blocked waiting for a row lock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


class _Thread(threading.Thread):
    """Runs `target` on its own database connection and keeps any exception for the test."""

    def __init__(self, target):
        super().__init__(daemon=True)
        self._target_fn = target
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._target_fn()
        except BaseException as error:  # noqa: BLE001 - re-raised in the test thread
            self.error = error
        finally:
            connections.close_all()


def test_concurrent_reassignments_of_one_account_queue_up_and_both_are_audited_in_order():
    team = TeamFactory()
    manager = ManagerFactory(team=team)
    first_owner, second_owner, third_owner = (CSMFactory(team=team) for _ in range(3))
    account = AccountFactory(owner=first_owner)
    first_holds_lock = threading.Event()
    let_first_commit = threading.Event()

    def reassign_to_second_owner_and_hold_the_lock():
        with transaction.atomic():
            account_reassign(
                actor=manager,
                account=Account.objects.get(pk=account.pk),
                coverage=Coverage.ASSIGNED,
                owner=second_owner,
                pool=None,
                reason="Territory split",
            )
            first_holds_lock.set()
            assert let_first_commit.wait(timeout=30), "the test never let the first transaction commit"

    def reassign_to_third_owner():
        account_reassign(
            # A copy read before the first change commits: the service must not trust it.
            actor=manager,
            account=stale_copy,
            coverage=Coverage.ASSIGNED,
            owner=third_owner,
            pool=None,
            reason="Leave cover",
        )

    stale_copy = Account.objects.get(pk=account.pk)
    first = _Thread(reassign_to_second_owner_and_hold_the_lock)
    second = _Thread(reassign_to_third_owner)
    first.start()
    assert first_holds_lock.wait(timeout=30), f"the first reassignment did not get going: {first.error!r}"
    second.start()
    try:
        # The second reassignment is parked on the row lock, not racing ahead.
        wait_until(
            lambda: _waiting_on_a_lock() == 1,
            timeout=15,
            message="second reassignment never blocked",
        )
        assert second.is_alive()
        assert Account.objects.get(pk=account.pk).owner == first_owner
    finally:
        let_first_commit.set()
        first.join(timeout=30)
        second.join(timeout=30)
    assert first.error is None, first.error
    assert second.error is None, second.error

    account.refresh_from_db()
    assert account.owner == third_owner
    audit = list(AuditEvent.objects.filter(account=account, action=AuditAction.OWNER_CHANGED).order_by("id"))
    assert [(event.reason, event.changes["owner"]) for event in audit] == [
        ("Territory split", [first_owner.pk, second_owner.pk]),
        # Read after the first commit, so it records the real previous owner.
        ("Leave cover", [second_owner.pk, third_owner.pk]),
    ]
    assert audit[0].created_at <= audit[1].created_at
    assert list(
        TimelineEntry.objects.filter(account=account, event="owner_changed")
        .order_by("id")
        .values_list("body", flat=True)
    ) == ["Territory split", "Leave cover"]
