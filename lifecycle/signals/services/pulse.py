"""The CSM pulse: the owner's gut feel about an account, 1 (very negative) to 6 (very positive).

Gut feel goes stale, so every rating expires (PulseRating.lifetime_for);
an expired rating is still shown, marked expired, but no longer scores.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Account
from core import events
from lifecycle.models import PulseRating, PulseReason
from lifecycle.signals.events import PulseRated
from lifecycle.signals.services.bulk import queue_account_recompute
from users.models import User

PULSE_LABELS = {
    1: "Very negative",
    2: "Negative",
    3: "Somewhat negative",
    4: "Somewhat positive",
    5: "Positive",
    6: "Very positive",
}


@dataclass(frozen=True)
class PulseView:
    """The latest rating as the Account 360 shows it."""

    rating: PulseRating
    expired: bool

    @property
    def label(self) -> str:
        return PULSE_LABELS[self.rating.rating]

    @property
    def reason_labels(self) -> list[str]:
        return [PulseReason(reason).label for reason in self.rating.reasons if reason in PulseReason.values]


def pulse_latest(account: Account, *, at: dt.datetime | None = None) -> PulseView | None:
    """One query: the newest rating, expired or not."""
    rating = account.pulse_ratings.select_related("rated_by").order_by("-rated_at", "-pk").first()
    if rating is None:
        return None
    return PulseView(rating=rating, expired=rating.expires_at <= (at or timezone.now()))


@transaction.atomic
def pulse_rate(
    *, actor: User, account: Account, rating: int, reasons: Iterable[str] = (), comment: str = ""
) -> PulseRating:
    """Record the CSM's rating; it expires after 90 days, the extremes (1 and 6) after 30.

    Callers check that `actor` may change the account (accounts.access).
    """
    reasons = list(dict.fromkeys(reasons))  # keep the order given, drop repeats
    errors: dict[str, str] = {}
    if isinstance(rating, bool) or not isinstance(rating, int) or rating not in PULSE_LABELS:
        errors["rating"] = "Rate from 1 (very negative) to 6 (very positive)."
    unknown = [reason for reason in reasons if reason not in PulseReason.values]
    if unknown:
        errors["reasons"] = f"Unknown reasons: {', '.join(map(str, unknown))}."
    if errors:
        raise ValidationError(errors)
    rated_at = timezone.now()
    pulse = PulseRating.objects.create(
        account=account,
        rated_by=actor,
        rating=rating,
        reasons=reasons,
        comment=comment.strip(),
        rated_at=rated_at,
        expires_at=rated_at + PulseRating.lifetime_for(rating),
    )
    queue_account_recompute([account.pk])
    events.announce(PulseRated(rating_id=pulse.pk, account_id=account.pk))
    return pulse
