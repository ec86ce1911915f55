"""The adoption check-in call (field notes §1): the admin's questions, answered yes/no with a comment.

A logged check-in is also a touchpoint on the timeline, so the history of
the relationship reads in one place and the "no touchpoint in N days" rule
counts it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, Channel
from accounts.services import touchpoint_log
from core import events
from lifecycle.models import CheckIn, CheckInAnswer, CheckInQuestion
from lifecycle.signals.events import CheckInLogged
from lifecycle.signals.services.bulk import CLOCK_SKEW, queue_account_recompute
from users.models import User

CHECKIN_SUMMARY = "Check-in call"


@dataclass(frozen=True)
class AnswerInput:
    question_id: int
    concern: bool
    comment: str = ""


def _timeline_body(answers: list[tuple[CheckInQuestion, AnswerInput]], notes: str) -> str:
    concerns = [(question, answer) for question, answer in answers if answer.concern]
    if concerns:
        lines = [f"Concerns raised ({len(concerns)} of {len(answers)}):"]
        lines += [
            f"- {question.text}" + (f" — {answer.comment}" if answer.comment else "") for question, answer in concerns
        ]
    elif answers:
        lines = [f"No concerns raised ({len(answers)} questions)."]
    else:
        lines = []
    if notes:
        lines += ["", notes] if lines else [notes]
    return "\n".join(lines)


@transaction.atomic
def checkin_log(
    *,
    actor: User,
    account: Account,
    held_at: dt.datetime,
    notes: str = "",
    answers: Iterable[AnswerInput],
) -> CheckIn:
    """Record a check-in call: every active question answered once, plus a call on the timeline.

    Callers check that `actor` may change the account (accounts.access).
    """
    answers = list(answers)
    notes = notes.strip()
    errors: dict[str, list[str]] = {}
    if held_at > timezone.now() + CLOCK_SKEW:
        errors.setdefault("held_at", []).append("A check-in cannot be logged in the future.")
    questions = {question.pk: question for question in CheckInQuestion.objects.filter(active=True)}
    answered: dict[int, AnswerInput] = {}
    for answer in answers:
        if answer.question_id not in questions:
            errors.setdefault("answers", []).append(
                f"Question {answer.question_id} is not one of the active check-in questions."
            )
        elif answer.question_id in answered:
            errors.setdefault("answers", []).append(f"“{questions[answer.question_id].text}” is answered twice.")
        else:
            answered[answer.question_id] = answer
    unanswered = [question.text for pk, question in questions.items() if pk not in answered]
    if unanswered:
        errors.setdefault("answers", []).append(f"Answer every question; missing: {'; '.join(unanswered)}")
    if errors:
        raise ValidationError(errors)

    pairs = [(questions[pk], answered[pk]) for pk in questions]  # in the admin's question order
    entry = touchpoint_log(
        actor=actor,
        account=account,
        channel=Channel.CALL,
        occurred_at=held_at,
        summary=CHECKIN_SUMMARY,
        body=_timeline_body(pairs, notes),
    )
    check_in = CheckIn.objects.create(
        account=account, held_at=held_at, conducted_by=actor, notes=notes, timeline_entry=entry
    )
    CheckInAnswer.objects.bulk_create(
        CheckInAnswer(check_in=check_in, question=question, concern=answer.concern, comment=answer.comment.strip())
        for question, answer in pairs
    )
    queue_account_recompute([account.pk])
    events.announce(CheckInLogged(checkin_id=check_in.pk, account_id=account.pk))
    return check_in
