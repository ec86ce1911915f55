"""Sign-in lock-out (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one username from one address,
that pair is refused until AXES_COOLOFF_TIME has passed or an admin unlocks it (admin, "Access attempts")."""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend


class LoginLockoutBackend(AxesStandaloneBackend):
    """Axes' check, for sign-ins that come with a request (the login pages).

    A call without one (the test client's `login`, a shell) is not a web
    sign-in that can be hammered, and is passed on to the next backend
    rather than refused.
    """

    def authenticate(self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
