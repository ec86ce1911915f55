"""Save plays are shown and worded as plays, never as handovers: the Account 360's Plays panel, the run's page,
the board, the task lists and what the timeline says."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.tests.factories import TimelineEntryFactory
from transitions import services
from transitions.models import Playbook, PlaybookKind, TaskStatus, TransitionReason
from transitions.selectors import account_runs
from transitions.tests.factories import PlaybookFactory, PlaybookStepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def save_play() -> Playbook:
    return Playbook.objects.get(kind=PlaybookKind.RISK, is_default=True)


@pytest.fixture
def play(account, save_play):
    """The shipped save play, started by a red flag (no one started it by hand)."""
    return services.playbook_run_start(account=account, playbook=save_play)


def do_steps(run, n):
    for task in run.tasks.order_by("position")[:n]:
        services.task_complete(actor=task.assignee, task=task)


def test_a_play_is_titled_as_a_play_and_a_handover_as_a_handover(play, account, manager, incoming, dates, playbook):
    handover = services.transition_start(
        actor=manager, account=account, to_csm=incoming, reason=TransitionReason.REORG, **dates
    )
    rescue = PlaybookFactory(name="Champion rescue", kind=PlaybookKind.RISK)
    PlaybookStepFactory(playbook=rescue, position=1)

    assert play.title == "Save play: account at risk"  # the shipped name already says "Save play"
    assert services.playbook_run_start(account=account, playbook=rescue).title == "Save play: Champion rescue"
    assert handover.title == "Handover from Alex Archer to Sam Sato"
    assert (play.noun, handover.noun) == ("save play", "handover")


def test_the_account_360_shows_save_plays_in_their_own_plays_panel_worded_as_plays(client, outgoing, account, play):
    do_steps(play, 3)
    client.force_login(outgoing)

    page = client.get(reverse("account-detail", args=[account.pk])).content.decode()

    handover_card, plays = page.split('id="account-transition"', 1)[1].split('id="account-plays"', 1)
    assert "No handover under way." in handover_card and "Save play" not in handover_card
    panel = plays.split("</ul>", 1)[0]
    assert "<strong>Plays</strong>" in panel
    assert "Save play: account at risk" in panel and "Save play: Save play" not in panel
    assert "started automatically by a red flag" in panel and "led by Alex Archer" in panel
    assert "3 of 5 steps done" in panel and "Running" in panel
    assert "Handover" not in panel and "→" not in panel


@pytest.mark.parametrize(("steps", "said"), [(1, "0 of 1 step done"), (2, "0 of 2 steps done")])
def test_a_play_counts_its_steps_in_english_on_the_panel_the_board_and_its_page(
    client, outgoing, manager, account, steps, said
):
    rescue = PlaybookFactory(name="Champion rescue", kind=PlaybookKind.RISK)
    for position in range(1, steps + 1):
        PlaybookStepFactory(playbook=rescue, position=position)
    run = services.playbook_run_start(account=account, playbook=rescue)

    client.force_login(outgoing)
    panel = client.get(reverse("account-detail", args=[account.pk])).content.decode().split('id="account-plays"')[1]
    assert f'data-testid="play-progress">{said}<' in panel
    assert f'title="{said}"' in client.get(reverse("transition-detail", args=[run.pk])).content.decode()
    client.force_login(manager)
    board = client.get(reverse("transition-board"), {"kind": "risk"}).content.decode()
    assert f'title="{said}"' in board


def test_a_finished_play_stays_in_the_panel_and_a_handover_keeps_its_wording(
    client, manager, outgoing, incoming, account, play, dates, playbook
):
    do_steps(play, 5)
    services.transition_start(actor=manager, account=account, to_csm=incoming, reason=TransitionReason.REORG, **dates)
    client.force_login(outgoing)

    page = client.get(reverse("account-detail", args=[account.pk])).content.decode()

    handover_card, plays = page.split('id="account-transition"', 1)[1].split('id="account-plays"', 1)
    assert "<strong>Alex Archer</strong> → <strong>Sam Sato</strong>" in handover_card
    assert "5 of 5 steps done" in plays and "Completed" in plays and "finished" in plays


def test_the_plays_panel_costs_the_account_360_no_query(client, outgoing, manager, account, save_play, dates, incoming):
    TimelineEntryFactory(account=account)  # starting a play writes to the timeline, whose prefetch costs a query
    client.force_login(outgoing)
    url = reverse("account-detail", args=[account.pk])
    client.get(url)  # warm the per-process caches (content types, sessions) before counting

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    without = queries()
    rescue = PlaybookFactory(name="Champion rescue", kind=PlaybookKind.RISK)
    PlaybookStepFactory(playbook=rescue, position=1)
    do_steps(services.playbook_run_start(account=account, playbook=save_play), 5)
    services.playbook_run_start(account=account, playbook=save_play)
    services.playbook_run_start(account=account, playbook=rescue, actor=manager)

    assert queries() == without
    runs = account_runs(account)
    assert runs.handover is None and len(runs.save_plays) == 3
    assert [run.is_active for run in runs.save_plays] == [True, True, False]  # running ones first


def test_account_runs_is_one_query(account, play, django_assert_num_queries):
    with django_assert_num_queries(1):
        runs = account_runs(account)
        titles = [run.title for run in runs.save_plays]
    assert titles == ["Save play: account at risk"]


def test_the_plays_page_speaks_of_a_save_play(client, manager, account, play):
    client.force_login(manager)

    page = client.get(reverse("transition-detail", args=[play.pk])).content.decode()

    assert "Save play: account at risk <span" in page and "Board: save plays" in page
    assert "Started automatically by a red flag" in page
    assert "Cancel save play" in page and "Cancel the save play" in page
    assert "Handover board" not in page and "Context readiness" not in page and "Handover brief" not in page


def test_cancelling_a_play_says_so_without_talking_of_ownership(client, manager, account, play):
    client.force_login(manager)

    response = client.post(reverse("transition-cancel", args=[play.pk]), {"reason": "Renewal signed."}, follow=True)

    assert "Save play: account at risk cancelled" in response.content.decode()
    entry = account.timeline.get(event="transition_cancelled")
    assert entry.summary == "Save play: account at risk cancelled; its open steps are closed"
    assert not play.tasks.filter(status=TaskStatus.OPEN).exists()


def test_the_board_and_the_task_lists_word_a_play_as_a_play(client, manager, outgoing, account, play):
    client.force_login(manager)
    board = client.get(reverse("transition-board"), {"kind": "", "group": "to"}).content.decode()
    row = board.split(f'data-transition="{play.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Save play" in row and "Pool" not in row

    client.force_login(outgoing)
    tasks = client.get(reverse("my-transition-tasks")).content.decode()
    assert "Save play: account at risk</a>" in tasks and "Handover" not in tasks.split("<h1>", 1)[1]
    cockpit = client.get(reverse("cockpit")).content.decode()
    assert "· Save play: account at risk" in cockpit
