"""The gate every write to an account passes, for pages and API alike."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from users.models import User
from users.permissions import can_edit_account

from .models import Account


def account_for_edit(user: User, pk: int) -> Account:
    """The account, if it exists (else 404) and `user` may change it (else 403)."""
    account = get_object_or_404(Account.objects.with_list_columns(), pk=pk)
    if not can_edit_account(user, account):
        raise PermissionDenied("You cannot change this account.")
    return account
