"""The request desk's views receive, typed as the middleware leaves it."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from users.models import User


class DeskRequest(HttpRequest):
    """A request behind LoginRequiredMiddleware and HtmxMiddleware: a signed-in `user`, and `htmx`.

    For type checking only: Django builds plain HttpRequests; annotating views
    with this says what the middleware guarantees instead of casting in each view.
    """

    user: User
    htmx: HtmxDetails
