"""Check-in calls: every active question answered, a call on the timeline, only by people who may change the account."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Channel, TimelineEntry, TimelineKind
from accounts.tests.conftest import csm, own_account, team, teammate, teammate_account  # noqa: F401
from lifecycle.health.models import PendingRecompute
from lifecycle.models import CheckIn, CheckInAnswer, CheckInCadence, CheckInQuestion
from lifecycle.signals.services import AnswerInput, checkin_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def questions() -> list[CheckInQuestion]:
    return list(CheckInQuestion.objects.filter(active=True))


def answers_for(questions, concerns: dict[int, str] | None = None) -> list[AnswerInput]:
    concerns = concerns or {}
    return [AnswerInput(question_id=q.pk, concern=q.pk in concerns, comment=concerns.get(q.pk, "")) for q in questions]


def form_data(questions, concerns: dict[int, str] | None = None, **overrides) -> dict[str, str]:
    concerns = concerns or {}
    data = {"ci-held_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"), "ci-notes": "Sprint review went well."}
    for q in questions:
        data[f"ci-q{q.pk}"] = "yes" if q.pk in concerns else "no"
        data[f"ci-q{q.pk}_comment"] = concerns.get(q.pk, "")
    data.update(overrides)
    return data


def test_the_default_questions_are_the_field_notes_four(questions):
    assert [q.key for q in questions] == [
        "service_problem",
        "people_performance",
        "cost_rising",
        "productivity_falling",
    ]


def test_a_check_in_records_answers_a_timeline_call_and_a_recompute_request(csm, own_account, questions):
    held_at = timezone.now() - dt.timedelta(hours=2)
    check_in = checkin_log(
        actor=csm,
        account=own_account,
        held_at=held_at,
        notes="Asked about the Q3 roadmap.",
        answers=answers_for(questions, {questions[2].pk: "Finance queried the last invoice."}),
    )
    assert (check_in.account, check_in.conducted_by, check_in.held_at) == (own_account, csm, held_at)
    assert [(a.question.key, a.concern) for a in check_in.answers.order_by("question__position")] == [
        ("service_problem", False),
        ("people_performance", False),
        ("cost_rising", True),
        ("productivity_falling", False),
    ]
    entry = check_in.timeline_entry
    assert (entry.kind, entry.channel, entry.summary, entry.occurred_at, entry.author) == (
        TimelineKind.TOUCHPOINT,
        Channel.CALL,
        "Check-in call",
        held_at,
        csm,
    )
    assert entry.body == (
        "Concerns raised (1 of 4):\n"
        "- Is it getting more expensive for the customer? — Finance queried the last invoice.\n\n"
        "Asked about the Q3 roadmap."
    )
    assert PendingRecompute.objects.filter(account=own_account).exists()


def test_a_check_in_without_concerns_says_so_on_the_timeline(csm, own_account, questions):
    check_in = checkin_log(actor=csm, account=own_account, held_at=timezone.now(), answers=answers_for(questions))
    assert check_in.timeline_entry.body == "No concerns raised (4 questions)."


@pytest.mark.parametrize(
    "problem",
    ["missing answer", "answered twice", "retired question", "future"],
)
def test_an_incomplete_or_impossible_check_in_is_refused_and_writes_nothing(csm, own_account, questions, problem):
    answers = answers_for(questions)
    held_at = timezone.now()
    if problem == "missing answer":
        answers = answers[1:]
    elif problem == "answered twice":
        answers.append(answers[0])
    elif problem == "retired question":
        retired = CheckInQuestion.objects.create(key="retired", text="Old question", active=False)
        answers.append(AnswerInput(question_id=retired.pk, concern=False))
    else:
        held_at = timezone.now() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as error:
        checkin_log(actor=csm, account=own_account, held_at=held_at, answers=answers)
    assert set(error.value.message_dict) == ({"held_at"} if problem == "future" else {"answers"})
    assert (CheckIn.objects.count(), CheckInAnswer.objects.count(), TimelineEntry.objects.count()) == (0, 0, 0)


# --- Pages ---------------------------------------------------------------------------------------------


def test_the_check_in_page_shows_the_questions_with_a_pinned_query_count(
    client, csm, own_account, questions, django_assert_num_queries
):
    client.force_login(csm)
    url = reverse("checkin", args=[own_account.pk])
    for days_ago in (30, 16, 2):
        checkin_log(
            actor=csm,
            account=own_account,
            held_at=timezone.now() - dt.timedelta(days=days_ago),
            answers=answers_for(questions, {questions[0].pk: f"Problem {days_ago} days ago"}),
        )
    # session, user, account, questions, last check-in, recent check-ins with their answers and questions,
    # plus the layout's own two (unread notifications, the user's team)
    with django_assert_num_queries(10):
        response = client.get(url)
    assert response.status_code == 200
    body = response.content.decode()
    for q in questions:
        assert q.text in body
    assert "Problem 16 days ago" in body and "1 concern" in body


def test_logging_a_check_in_through_htmx_returns_a_fresh_form_and_tells_the_timeline(
    client, csm, own_account, questions
):
    client.force_login(csm)
    response = client.post(
        reverse("checkin", args=[own_account.pk]),
        form_data(questions, {questions[0].pk: "The nightly sync broke twice."}),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "timeline-changed"
    assert "logged and added to the timeline" in response.content.decode()
    assert CheckIn.objects.get().answers.filter(concern=True).count() == 1


def test_a_plain_post_redirects_to_the_account(client, csm, own_account, questions):
    client.force_login(csm)
    response = client.post(reverse("checkin", args=[own_account.pk]), form_data(questions))
    assert response.status_code == 302
    assert response["Location"] == reverse("account-detail", args=[own_account.pk])


def test_a_concern_without_a_comment_or_a_missing_answer_is_shown_on_the_form(client, csm, own_account, questions):
    client.force_login(csm)
    data = form_data(questions, {questions[1].pk: ""})
    del data[f"ci-q{questions[3].pk}"]
    response = client.post(reverse("checkin", args=[own_account.pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    assert "Say what the concern is." in body
    assert "Answer yes or no." in body
    assert CheckIn.objects.count() == 0


def test_a_csm_cannot_log_a_check_in_on_someone_elses_account(client, csm, teammate_account, questions):
    client.force_login(csm)
    url = reverse("checkin", args=[teammate_account.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, form_data(questions)).status_code == 403
    assert CheckIn.objects.count() == 0


@pytest.mark.parametrize(("every_days", "said"), [(1, "every 1 day"), (2, "every 2 days")])
def test_a_tier_s_cadence_names_its_days_in_english(every_days, said):
    assert str(CheckInCadence(tier="high", every_days=every_days)) == f"High-touch: {said}"
