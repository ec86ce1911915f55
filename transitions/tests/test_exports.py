"""The board's and My tasks' CSV exports: the page's filters, labels not codes, people by name,
converted ARR beside the original, formula cells neutralised, each in a fixed number of queries."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from core.csv_export import BOM
from transitions import services
from transitions.models import TransitionReason, TransitionTask
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

BOARD = reverse("transition-board")
MY_TASKS = reverse("my-transition-tasks")


def table(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body.removeprefix(BOM))))


def hand_over(manager, outgoing, incoming, dates, **account):
    return services.transition_start(
        actor=manager,
        account=AccountFactory(owner=outgoing, **account),
        to_csm=incoming,
        reason=TransitionReason.ATTRITION,
        **dates,
    )


@pytest.fixture
def runs(manager, outgoing, incoming, dates):
    return {
        "usd": hand_over(manager, outgoing, incoming, dates, name="Acme Robotics", arr=Decimal("120000"), tier="high"),
        "chf": hand_over(
            manager,
            outgoing,
            incoming,
            dates,
            name='=HYPERLINK("http://x","y")',
            arr=Decimal("5000"),
            currency="CHF",
            arr_reporting=None,
        ),
    }


class TestBoardExport:
    def test_labels_people_and_money_beside_the_original(self, client, manager, runs):
        client.force_login(manager)
        response = client.get(BOARD, {"format": "csv"})
        assert "baton-transitions-" in response["Content-Disposition"]
        rows = {row["ID"]: row for row in table(response)}
        acme = rows[str(runs["usd"].pk)]
        assert (acme["Kind"], acme["Reason"], acme["Status"]) == ("Handover", "Attrition", "In progress")
        assert (acme["Outgoing CSM"], acme["Outgoing username"]) == ("Alex Archer", "alex")
        assert (acme["Incoming CSM"], acme["Incoming username"]) == ("Sam Sato", "sam")
        assert acme["Run"] == "Handover from Alex Archer to Sam Sato" and acme["Tier"] == "High-touch"
        assert (acme["ARR (USD)"], acme["ARR as written"], acme["Currency"]) == ("120000.00", "120000.00", "USD")
        assert int(acme["Steps"]) > 0 and acme["Steps done"] == "0" and acme["% complete"] == "0"
        chf = rows[str(runs["chf"].pk)]
        assert chf["Account"] == '\'=HYPERLINK("http://x","y")'
        assert (chf["ARR (USD)"], chf["ARR as written"], chf["Currency"]) == ("", "5000.00", "CHF")

    def test_it_respects_the_filters_and_the_boards_defaults(self, client, manager, runs, outgoing, incoming, dates):
        services.transition_cancel(actor=manager, transition=runs["chf"], reason="Customer stayed with Alex")
        client.force_login(manager)
        assert [row["ID"] for row in table(client.get(BOARD, {"format": "csv"}))] == [str(runs["usd"].pk)]
        cancelled = table(client.get(BOARD, {"status": "cancelled", "format": "csv"}))
        assert [(row["ID"], row["Status"]) for row in cancelled] == [(str(runs["chf"].pk), "Cancelled")]
        searched = table(client.get(BOARD, {"q": "acme", "status": "", "format": "csv"}))
        assert [row["Account"] for row in searched] == ["Acme Robotics"]

    def test_the_board_links_its_export_with_the_current_filters(self, client, manager, runs):
        client.force_login(manager)
        page = html.unescape(client.get(BOARD, {"status": "in_progress", "group": "to"}).content.decode())
        assert 'id="export-csv" href="?status=in_progress&group=to&kind=handover&format=csv">Export CSV</a>' in page

    @pytest.mark.parametrize("n", [2, 25])
    def test_a_fixed_number_of_queries_however_many_runs(
        self, client, django_assert_num_queries, manager, outgoing, dates, n
    ):
        others = [CSMFactory(team=manager.team) for _ in range(3)]
        for i in range(n):
            hand_over(manager, outgoing, others[i % 3], dates)
        client.force_login(manager)
        # session, user, the transitions with account, people, playbook and step counts
        with django_assert_num_queries(3):
            rows = table(client.get(BOARD, {"format": "csv"}))
        assert len(rows) == n


class TestMyTasksExport:
    def test_my_open_steps_with_labels_and_the_due_filter(self, client, runs, outgoing, incoming):
        client.force_login(outgoing)
        rows = table(client.get(MY_TASKS, {"format": "csv"}))
        mine = TransitionTask.objects.open().assigned_to(outgoing)
        assert sorted(int(row["ID"]) for row in rows) == sorted(mine.values_list("pk", flat=True))
        row = next(row for row in rows if row["Account"] == "Acme Robotics")
        assert row["Kind"] == "Handover" and row["Incoming CSM"] == "Sam Sato" and row["Outgoing CSM"] == "Alex Archer"
        assert row["Required"] in {"Yes", "No"} and row["Overdue"] == "No"
        assert (row["ARR (USD)"], row["ARR as written"], row["Currency"]) == ("120000.00", "120000.00", "USD")
        chf = next(row for row in rows if row["Currency"] == "CHF")
        assert chf["ARR (USD)"] == "" and chf["Account"].startswith("'=")
        overdue = mine.first()
        TransitionTask.objects.filter(pk=overdue.pk).update(due_date=timezone.localdate() - dt.timedelta(days=2))
        late = table(client.get(MY_TASKS, {"due": "overdue", "format": "csv"}))
        assert [(row["ID"], row["Overdue"]) for row in late] == [(str(overdue.pk), "Yes")]

    def test_a_csm_exports_only_their_own_steps(self, client, runs, incoming, outgoing):
        client.force_login(incoming)
        rows = table(client.get(MY_TASKS, {"format": "csv"}))
        theirs = set(TransitionTask.objects.open().assigned_to(outgoing).values_list("pk", flat=True))
        assert rows and not {int(row["ID"]) for row in rows} & theirs

    def test_an_unknown_due_window_is_refused(self, client, outgoing):
        client.force_login(outgoing)
        assert client.get(MY_TASKS, {"due": "someday", "format": "csv"}).status_code == 400

    def test_the_page_links_its_export_with_the_due_filter(self, client, runs, outgoing):
        client.force_login(outgoing)
        page = html.unescape(client.get(MY_TASKS, {"due": "week", "group": "account"}).content.decode())
        assert 'id="export-csv" href="?due=week&format=csv">Export CSV</a>' in page

    @pytest.mark.parametrize("n", [1, 12])
    def test_a_fixed_number_of_queries_however_many_steps(
        self, client, django_assert_num_queries, manager, outgoing, incoming, dates, n
    ):
        for _ in range(n):
            hand_over(manager, outgoing, incoming, dates)
        client.force_login(outgoing)
        # session, user, the steps with their run, account, people and playbook
        with django_assert_num_queries(3):
            rows = table(client.get(MY_TASKS, {"format": "csv"}))
        assert len(rows) == TransitionTask.objects.open().assigned_to(outgoing).count() > n
