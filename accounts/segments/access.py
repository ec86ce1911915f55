"""Who sees what the tier rules would do: one check for the preview page and its API."""

from __future__ import annotations

from users.models import User


def sees_tier_preview(user: User) -> bool:
    """Admins, who apply the rules, and managers, whose teams' accounts would move."""
    return user.is_authenticated and user.is_active and (user.is_admin or user.is_manager)
