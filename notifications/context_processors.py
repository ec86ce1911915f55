"""The bell's unread count for every page that extends base.html.

Budget: at most one query per page (a COUNT on the recipient/read_at index),
and none at all for htmx fragments or pages that never show the bell,
because the count is only taken when a template reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Notification

BADGE_CAP = 99


@dataclass(frozen=True)
class UnreadBadge:
    count: int

    @property
    def label(self) -> str:
        return f"{BADGE_CAP}+" if self.count > BADGE_CAP else str(self.count)


def unread_notifications(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "unread_notifications": SimpleLazyObject(
            lambda: UnreadBadge(Notification.objects.for_user(user).unread().count())
        )
    }
