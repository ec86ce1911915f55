"""Two managers starting overlapping bulk handovers at the same moment, on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from accounts.tests.factories import AccountFactory
from transitions import services
from transitions.models import Transition, TransitionReason, TransitionTask
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


class _Start(threading.Thread):
    """One manager's bulk start on its own connection; keeps the result or the error."""

    def __init__(self, barrier: threading.Barrier, **kwargs):
        super().__init__(daemon=True)
        self.barrier, self.kwargs = barrier, kwargs
        self.created: list[Transition] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.barrier.wait(timeout=10)
            self.created = services.transition_bulk_start(**self.kwargs)
        except BaseException as error:  # noqa: BLE001 - inspected by the test
            self.error = error
        finally:
            connections.close_all()


@pytest.mark.parametrize("round_", range(3))
def test_overlapping_bulk_handovers_started_at_once_exactly_one_wins(round_, playbook):
    assert connection.vendor == "postgresql", "this proves PostgreSQL locking; run it with make test-integration"
    team = TeamFactory()
    maria, tom = ManagerFactory(team=team), ManagerFactory(team=team)
    leaving = CSMFactory(team=team)
    book = [AccountFactory(owner=leaving, name=f"Shared {i:02d}") for i in range(40)]
    first_half, second_half = book[:25], book[15:]  # 10 accounts in both
    alex, sam = CSMFactory(team=team), CSMFactory(team=team)
    dates = {"start_date": book[0].renewal_date.replace(year=2030, month=1, day=1)}
    dates["target_date"] = dates["start_date"]
    barrier = threading.Barrier(2)
    common = {"playbook": playbook, "reason": TransitionReason.ATTRITION, **dates}
    threads = [
        _Start(
            barrier,
            actor=maria,
            assignments=[(a.pk, alex.pk) for a in first_half],
            **common,
        ),
        _Start(
            barrier,
            actor=tom,
            assignments=[(a.pk, sam.pk) for a in reversed(second_half)],
            **common,
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    winners = [t for t in threads if t.error is None]
    losers = [t for t in threads if t.error is not None]
    assert len(winners) == 1 and len(losers) == 1, [t.error for t in threads]
    error = losers[0].error
    assert isinstance(error, services.TransitionConflict), repr(error)
    assert "Nothing was started" in error.messages[0]
    overlap = {a.pk for a in book[15:25]}
    assert set(error.account_ids) == overlap
    won = winners[0].created
    assert Transition.objects.count() == len(won)
    assert TransitionTask.objects.count() == len(won) * playbook.steps.count()
    assert Transition.objects.filter(to_csm=alex if winners[0] is threads[0] else sam).count() == len(won)
