"""What the page frame (base.html) may show the signed-in user, asked of users.permissions like everything else."""

from __future__ import annotations

from django.http import HttpRequest

from .permissions import can_open_django_admin


def navigation(request: HttpRequest) -> dict[str, bool]:
    return {"can_open_django_admin": can_open_django_admin(request.user)}
