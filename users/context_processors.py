"""What the page frame (base.html) may show the signed-in user, asked of users.permissions like everything else."""

from __future__ import annotations

from django.http import HttpRequest

from .permissions import can_configure, can_import, can_open_django_admin


def navigation(request: HttpRequest) -> dict[str, bool]:
    return {
        "can_open_django_admin": can_open_django_admin(request.user),
        # Admins keep the configuration pages (the product catalogue) and reach them from the menu.
        "can_configure": can_configure(request.user),  # type: ignore[arg-type]
        "can_import": can_import(request.user),
    }
