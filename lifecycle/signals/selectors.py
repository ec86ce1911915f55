"""Reads of the signals people enter, for pages: the check-in and pulse panel of the Account 360."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q

from accounts.models import Account
from lifecycle.models import CheckIn, CheckInQuestion
from lifecycle.signals import services as ingest
from lifecycle.signals.forms import CheckInForm, PulseForm
from users.models import User
from users.permissions import can_edit_account

# Form prefixes shared by the 360's embedded forms and the check-in and pulse pages,
# so a form posted from either lands in the same view.
CHECKIN_PREFIX = "ci"
PULSE_PREFIX = "pulse"


def active_questions() -> list[CheckInQuestion]:
    return list(CheckInQuestion.objects.filter(active=True))


def last_checkin(account: Account) -> CheckIn | None:
    """The latest check-in with its number of concerns (1 query)."""
    return (
        account.check_ins.select_related("conducted_by")
        .annotate(concerns=Count("answers", filter=Q(answers__concern=True)))
        .order_by("-held_at", "-pk")
        .first()
    )


def signals_context(user: User, account: Account) -> dict[str, Any]:
    """What the Account 360 needs for the check-in and pulse partials: three queries, whatever the history."""
    can_edit = can_edit_account(user, account)
    return {
        "checkin_form": CheckInForm(questions=active_questions(), prefix=CHECKIN_PREFIX) if can_edit else None,
        "last_checkin": last_checkin(account),
        "pulse_form": PulseForm(prefix=PULSE_PREFIX) if can_edit else None,
        "pulse": ingest.pulse_latest(account),
    }
