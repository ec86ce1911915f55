"""Backtest pages and API: admins run and read them in a fixed number of queries; CSMs are refused; bad input is 422."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from rest_framework.test import APIClient

from accounts.models import AuditAction, AuditEvent, OutcomeKind
from accounts.tests.factories import AccountFactory, OutcomeFactory
from lifecycle.models import Backtest, Measure, Scorecard, SurveyKind, SurveyResponse
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
OUTCOME_DAY = dt.date(2026, 6, 30)


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def admin(client):
    user = AdminFactory()
    client.force_login(user)
    return user


@pytest.fixture
def standard() -> Scorecard:
    return Scorecard.objects.active().get(tier="", stage="")


def nps_card() -> Scorecard:
    card = Scorecard.objects.create(name="NPS only")
    Measure.objects.create(scorecard=card, kind="nps", weight=1, zero_at=0, full_at=10, validity_days=365)
    return card


def history() -> None:
    """Two churns that looked bad a month ahead and two renewals that looked fine."""
    at = dt.datetime.combine(OUTCOME_DAY - dt.timedelta(days=40), dt.time(12), tzinfo=dt.UTC)
    for n, (score, kind) in enumerate([(2, "churned"), (5, "churned"), (9, "renewed"), (8, "renewed")]):
        account = AccountFactory()
        SurveyResponse.objects.create(account=account, kind=SurveyKind.NPS, score=score, responded_at=at, external_id=n)
        if kind == "churned":
            OutcomeFactory(
                account=account, kind=OutcomeKind.CHURNED, occurred_on=OUTCOME_DAY, reason="price", arr_after=0
            )
        else:
            OutcomeFactory(account=account, occurred_on=OUTCOME_DAY)


def form_data(card: Scorecard, **changes) -> dict:
    data = {
        "scorecard": card.pk,
        "baseline": "",
        "first_day": "2026-01-01",
        "last_day": "2026-11-23",
        "horizons": "30, 60",
        "bootstrap_seed": "7",
    }
    data.update(changes)
    return data


def run_backtest(client, django_capture_on_commit_callbacks, card: Scorecard, **changes) -> Backtest:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/backtests/new/", form_data(card, **changes))
    assert response.status_code == 302, response.content.decode()[:2000]
    backtest = Backtest.objects.get()
    assert response.url == f"/backtests/{backtest.pk}/"
    return backtest


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [CSMFactory, ManagerFactory])
def test_only_admins_see_or_run_backtests(client, factory, standard):
    client.force_login(factory())
    backtest = Backtest.objects.create(scorecard=standard, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY, horizons=[30])
    for url in ("/backtests/", "/backtests/new/", f"/backtests/{backtest.pk}/", f"/backtests/{backtest.pk}/progress/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/backtests/new/", form_data(standard)).status_code == 403
    assert client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": "30"}).status_code == 403
    api = APIClient()
    api.force_authenticate(factory())
    assert api.get("/api/health/backtests/").status_code == 403
    assert api.post("/api/health/backtests/", {"scorecard": standard.pk}, format="json").status_code == 403
    assert Backtest.objects.count() == 1


# --- pages -----------------------------------------------------------------------------------


def test_the_new_backtest_form_offers_two_years_and_30_60_90_days(client, admin):
    response = client.get("/backtests/new/")
    assert response.status_code == 200
    form = response.context["form"]
    assert form["first_day"].value() == dt.date(2024, 11, 23)
    assert form["last_day"].value() == dt.date(2026, 11, 23)
    assert form["horizons"].value() == "30, 60, 90"


def test_an_admin_runs_a_backtest_of_a_draft_and_reads_its_report(client, admin, django_capture_on_commit_callbacks):
    history()
    card = nps_card()

    backtest = run_backtest(client, django_capture_on_commit_callbacks, card)

    backtest.refresh_from_db()
    assert backtest.state == "finished" and backtest.requested_by == admin
    assert backtest.horizons == [30, 60] and backtest.bootstrap_seed == 7
    page = client.get(f"/backtests/{backtest.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="horizon-30"' in html and 'id="horizon-60"' in html
    assert "<polyline" in html and "Churned ARR flagged ahead" in html
    assert "1.000" in html  # both churned accounts scored below both renewals
    card.refresh_from_db()
    assert card.is_draft


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"horizons": "30, soon"}, "horizons", "Whole numbers of days only"),
        ({"horizons": ""}, "horizons", "This field is required"),
        ({"horizons": "0"}, "horizons", "from 1 to 365"),
        ({"first_day": "2026-12-01", "last_day": "2026-11-01"}, "last_day", "before the first day"),
        ({"last_day": "2027-01-01"}, "last_day", "in the future"),
        ({"first_day": "2026-02-30"}, "first_day", "Enter a valid date"),
        ({"scorecard": "999999"}, "scorecard", "Select a valid choice"),
        ({"bootstrap_seed": "-3"}, "bootstrap_seed", "greater than or equal to 0"),
    ],
)
def test_bad_input_is_shown_again_with_422_and_nothing_runs(client, admin, changes, field, message):
    card = nps_card()
    response = client.post("/backtests/new/", form_data(card, **changes))
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])
    assert not Backtest.objects.exists()


def test_the_baseline_must_be_another_version(client, admin):
    card = nps_card()
    response = client.post("/backtests/new/", form_data(card, baseline=card.pk))
    assert response.status_code == 422
    assert "different version" in " ".join(response.context["form"].errors["baseline"])


def test_the_list_costs_the_same_queries_however_many_backtests(client, admin, standard, django_assert_num_queries):
    card = nps_card()

    def add(n: int) -> None:
        for _ in range(n):
            Backtest.objects.create(
                scorecard=card,
                baseline=standard,
                requested_by=AdminFactory(),
                first_day=OUTCOME_DAY,
                last_day=OUTCOME_DAY,
                horizons=[30],
                started_at=NOW,
                finished_at=NOW,
                steps_total=2,
                steps_done=2,
                report={"horizons": [{"days": 30, "cards": [{"auc": 0.8123}]}]},
            )

    add(2)
    with django_assert_num_queries(5):
        few = client.get("/backtests/")
    add(5)
    with django_assert_num_queries(5):
        many = client.get("/backtests/")
    assert few.status_code == many.status_code == 200
    html = many.content.decode()
    assert html.count("0.812") == 7 and card.label in html and standard.label in html


def test_a_running_backtest_shows_its_progress_and_the_page_reloads_when_it_finishes(
    client, admin, standard, django_assert_num_queries
):
    backtest = Backtest.objects.create(
        scorecard=standard, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY, horizons=[30], started_at=NOW, steps_total=8
    )
    Backtest.objects.filter(pk=backtest.pk).update(steps_done=2)
    with django_assert_num_queries(4):
        page = client.get(f"/backtests/{backtest.pk}/")
    assert 'hx-trigger="every 1s"' in page.content.decode() and "25%" in page.content.decode()

    running = client.get(f"/backtests/{backtest.pk}/progress/")
    assert "HX-Refresh" not in running
    Backtest.objects.filter(pk=backtest.pk).update(steps_done=8, finished_at=NOW)
    with django_assert_num_queries(3):
        finished = client.get(f"/backtests/{backtest.pk}/progress/")
    assert finished["HX-Refresh"] == "true"


def test_a_failed_backtest_says_why(client, admin, standard):
    backtest = Backtest.objects.create(
        scorecard=standard,
        first_day=OUTCOME_DAY,
        last_day=OUTCOME_DAY,
        horizons=[30],
        started_at=NOW,
        finished_at=NOW,
        error="RuntimeError: database went away",
    )
    html = client.get(f"/backtests/{backtest.pk}/").content.decode()
    assert "The backtest failed: RuntimeError: database went away" in html


def test_the_report_page_costs_a_fixed_number_of_queries(
    client, admin, standard, django_capture_on_commit_callbacks, django_assert_num_queries
):
    history()
    backtest = run_backtest(client, django_capture_on_commit_callbacks, nps_card(), baseline=standard.pk)
    with django_assert_num_queries(4):
        page = client.get(f"/backtests/{backtest.pk}/")
    assert page.status_code == 200 and "Difference in AUC" in page.content.decode()


# --- suggested weights → a draft ---------------------------------------------------------------


def suggesting(card: Scorecard, days: int = 60) -> Backtest:
    weights = [
        {"kind": m.kind, "label": m.kind, "current": float(m.weight), "suggested": "2.50", "note": ""}
        for m in card.measures.all()
    ]
    report = {"horizons": [{"days": days, "cards": [], "suggestion": {"ok": True, "weights": weights}}]}
    return Backtest.objects.create(
        scorecard=card,
        first_day=OUTCOME_DAY,
        last_day=OUTCOME_DAY,
        horizons=[days],
        started_at=NOW,
        finished_at=NOW,
        report=report,
    )


def test_suggested_weights_become_a_draft_version_and_nothing_is_activated(client, admin, standard):
    backtest = suggesting(standard)

    response = client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": "60"})

    draft = Scorecard.objects.get(lineage=standard.lineage, status="draft")
    assert response.status_code == 302 and response.url == f"/scorecards/{draft.pk}/"
    assert {m.weight for m in draft.measures.all()} == {Decimal("2.50")}
    standard.refresh_from_db()
    assert standard.active and Scorecard.objects.active().get(lineage=standard.lineage) == standard


def test_no_second_draft_and_no_weights_from_a_horizon_without_a_suggestion(client, admin, standard):
    backtest = suggesting(standard)
    client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": "60"})

    again = client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": "60"})
    elsewhere = client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": "30"})
    nonsense = client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": "soon"})

    assert again.status_code == elsewhere.status_code == nonsense.status_code == 422
    assert "already a draft" in again.content.decode()
    assert "suggests no weights at 30 days" in elsewhere.content.decode()
    assert Scorecard.objects.filter(lineage=standard.lineage, status="draft").count() == 1


@pytest.mark.parametrize(("days", "said", "other", "refused"), [(1, "1 day", 2, "2 days"), (2, "2 days", 1, "1 day")])
def test_horizons_are_counted_in_english_on_the_report_and_the_draft(
    client, admin, standard, days, said, other, refused
):
    backtest = suggesting(standard, days)

    page = client.get(f"/backtests/{backtest.pk}/").content.decode()
    assert f", scored {said} ahead ·" in page
    assert f"{said} ahead <span" in page and f'aria-label="ROC curve at {said}"' in page
    elsewhere = client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": str(other)})
    assert f"suggests no weights at {refused}." in elsewhere.content.decode()
    client.post(f"/backtests/{backtest.pk}/draft/", {"horizon": str(days)})
    created = AuditEvent.objects.filter(action=AuditAction.SCORECARD_CREATED).latest("pk")
    assert created.reason.startswith(f"Weights suggested by backtest #{backtest.pk} ({said} ahead, ")


def test_a_report_of_several_horizons_says_days(client, admin, standard):
    backtest = Backtest.objects.create(
        scorecard=standard, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY, horizons=[1, 30], report={"horizons": []}
    )
    assert ", scored 1, 30 days ahead ·" in client.get(f"/backtests/{backtest.pk}/").content.decode()


@pytest.mark.parametrize(("total", "said"), [(1, "0 / 1 day replayed"), (2, "0 / 2 days replayed")])
def test_the_progress_counts_days_in_english(client, admin, standard, total, said):
    backtest = Backtest.objects.create(
        scorecard=standard,
        first_day=OUTCOME_DAY,
        last_day=OUTCOME_DAY,
        horizons=[30],
        started_at=NOW,
        steps_total=total,
    )
    assert said in client.get(f"/backtests/{backtest.pk}/progress/").content.decode()


# --- API ---------------------------------------------------------------------------------------


@pytest.fixture
def api(admin) -> APIClient:
    client = APIClient()
    client.force_authenticate(admin)
    return client


def test_the_api_starts_a_backtest_and_returns_its_report(api, django_capture_on_commit_callbacks):
    history()
    card = nps_card()
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            "/api/health/backtests/",
            {"scorecard": card.pk, "first_day": "2026-01-01", "last_day": "2026-11-23", "horizons": [30]},
            format="json",
        )
    assert created.status_code == 202, created.data
    assert created.data["state"] == "queued" and created.data["horizons"] == [30]

    detail = api.get(f"/api/health/backtests/{created.data['id']}/")

    assert detail.data["state"] == "finished" and detail.data["percent_done"] == 100
    assert detail.data["report"]["horizons"][0]["cards"][0]["auc"] == 1.0


def test_the_api_defaults_to_two_years_and_30_60_90_days(api):
    created = api.post("/api/health/backtests/", {"scorecard": nps_card().pk}, format="json")
    assert created.status_code == 202
    assert (created.data["first_day"], created.data["last_day"]) == ("2024-11-23", "2026-11-23")
    assert created.data["horizons"] == [30, 60, 90]


@pytest.mark.parametrize(
    "body, field",
    [
        ({"scorecard": None}, "scorecard"),
        # Past 64 bits the JSON parser refuses the body before any field is read (core.parsers).
        ({"scorecard": 2**63}, "detail"),
        ({"horizons": []}, "horizons"),
        ({"horizons": [30, 30]}, "horizons"),
        ({"horizons": ["soon"]}, "horizons"),
        ({"first_day": "2026-06-01", "last_day": "2026-05-01"}, "last_day"),
        ({"bootstrap_seed": -1}, "bootstrap_seed"),
    ],
)
def test_the_api_names_the_field_of_a_bad_request(api, body, field):
    card = nps_card()
    response = api.post("/api/health/backtests/", {"scorecard": card.pk, **body}, format="json")
    assert response.status_code == 400 and field in response.data, response.data
    assert not Backtest.objects.exists()


def test_the_api_lists_backtests_in_a_fixed_number_of_queries(api, standard, django_assert_num_queries):
    for _ in range(3):
        Backtest.objects.create(scorecard=standard, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY, horizons=[30])
    with django_assert_num_queries(2):
        few = api.get("/api/health/backtests/")
    for _ in range(4):
        Backtest.objects.create(scorecard=standard, first_day=OUTCOME_DAY, last_day=OUTCOME_DAY, horizons=[30])
    with django_assert_num_queries(2):
        many = api.get("/api/health/backtests/")
    assert len(few.data["results"]) == 3 and len(many.data["results"]) == 7
    assert "report" not in many.data["results"][0]
