"""Helpers for the token tests: issue a token through the service, and a client that sends it."""

from __future__ import annotations

from rest_framework.test import APIClient

from users.models import User
from users.tokens import services
from users.tokens.models import TokenKind
from users.tokens.scopes import Scope

EVERY_SCOPE = tuple(scope.value for scope in Scope)


def issue(actor: User, *scopes: str, kind: str = TokenKind.PERSONAL, name: str = "Script") -> services.IssuedToken:
    return services.token_create(actor=actor, kind=kind, name=name, scopes=scopes or EVERY_SCOPE)


def integration(admin: User, *scopes: str, name: str = "Usage feed") -> services.IssuedToken:
    return issue(admin, *scopes, kind=TokenKind.INTEGRATION, name=name)


def bearer(plaintext: str, *, keyword: str = "Bearer", address: str = "203.0.113.7") -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {plaintext}")
    return client
