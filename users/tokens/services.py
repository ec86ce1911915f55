"""Creating, rotating and revoking API tokens: each writes its own history row (TokenEvent).

The plaintext exists only in the IssuedToken these return; the caller shows
it once and it is never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from users.models import User
from users.permissions import can_manage_integration_tokens, can_manage_token, personal_token_scopes

from . import keys
from .models import ApiToken, ApiTokenQuerySet, TokenAction, TokenEvent, TokenKind, scope_fields
from .scopes import Scope

NAME_MAX = 100


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str


def _clean_scopes(scopes: Iterable[str]) -> frozenset[Scope]:
    values = set(scopes)
    unknown = values - set(Scope.values)
    if unknown:
        raise ValidationError({"scopes": f"Unknown scope: {', '.join(sorted(unknown))}."})
    if not values:
        raise ValidationError({"scopes": "Choose at least one scope."})
    return frozenset(Scope(value) for value in values)


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the token a name that says what uses it."})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": f"At most {NAME_MAX} characters."})
    return name


def _new_credentials() -> tuple[str, str]:
    """A prefix no token has yet, and a secret."""
    for _ in range(5):
        prefix = keys.new_prefix()
        if not ApiToken.objects.filter(prefix=prefix).exists():
            return prefix, keys.new_secret()
    raise RuntimeError("Could not find a free token prefix.")  # 36^8 prefixes: never in practice


def _details(token: ApiToken) -> dict[str, object]:
    return {"name": token.name, "kind": token.kind, "scopes": token.scope_labels, "prefix": token.prefix}


def _refuse_a_taken_name(tokens: ApiTokenQuerySet, name: str) -> None:
    """Names tell tokens apart on the pages: unique among a person's live tokens, and among live integrations."""
    if tokens.filter(name=name, revoked_at__isnull=True).exists():
        raise ValidationError({"name": "A live token already has this name."})


def _service_identity(*, name: str, prefix: str) -> User:
    """The user an integration token acts as: no password, no team, never a person."""
    user = User(username=f"integration-{prefix}", first_name=name[:150], role=User.Role.INTEGRATION)
    user.title = "Integration"
    user.set_unusable_password()
    user.save()
    return user


@transaction.atomic
def token_create(
    *,
    actor: User,
    kind: str,
    name: str,
    scopes: Iterable[str],
    expires_at: dt.datetime | None = None,
) -> IssuedToken:
    """A new token. Integration tokens are an admin's to make and get a service identity of their own; a personal
    token acts as `actor` and carries at most the scopes `actor` may hold (users.permissions)."""
    cleaned_name = _clean_name(name)
    wanted = _clean_scopes(scopes)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError({"expires_at": "The expiry must be in the future."})
    prefix, secret = _new_credentials()
    if kind == TokenKind.INTEGRATION:
        if not can_manage_integration_tokens(actor):
            raise PermissionDenied("Only admins create integration tokens.")
        _refuse_a_taken_name(ApiToken.objects.integrations(), cleaned_name)
        user = _service_identity(name=cleaned_name, prefix=prefix)
    elif kind == TokenKind.PERSONAL:
        allowed = personal_token_scopes(actor)
        if not allowed:
            raise PermissionDenied("This user may not hold API tokens.")
        beyond = wanted - allowed
        if beyond:
            raise ValidationError(
                {"scopes": f"Beyond what you may do yourself: {', '.join(sorted(s.value for s in beyond))}."}
            )
        _refuse_a_taken_name(ApiToken.objects.personal_of(actor), cleaned_name)
        user = actor
    else:
        raise ValidationError({"kind": f"Unknown kind: {kind}."})
    token = ApiToken(
        name=cleaned_name,
        kind=kind,
        user=user,
        created_by=actor,
        prefix=prefix,
        secret_hash=keys.hash_secret(secret),
        expires_at=expires_at,
        **scope_fields(wanted),
    )
    try:
        with transaction.atomic():
            token.save()
    except IntegrityError as error:  # a concurrent create took the name (or, once in 10^12, the prefix)
        raise ValidationError({"name": "A live token already has this name."}) from error
    TokenEvent.objects.create(token=token, actor=actor, action=TokenAction.CREATED, details=_details(token))
    return IssuedToken(token=token, plaintext=keys.assemble(prefix, secret))


def _locked_for_change(*, actor: User, token: ApiToken) -> ApiToken:
    if not can_manage_token(actor, kind=token.kind, token_user_id=token.user_id):
        raise PermissionDenied("This token is not yours to change.")
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is not None:
        raise ValidationError("This token was revoked; create a new one.")
    return locked


@transaction.atomic
def token_rotate(*, actor: User, token: ApiToken) -> IssuedToken:
    """A new prefix and secret for the same token (name, scopes, expiry); the old string stops working at commit."""
    locked = _locked_for_change(actor=actor, token=token)
    prefix, secret = _new_credentials()
    old_prefix = locked.prefix
    locked.prefix = prefix
    locked.secret_hash = keys.hash_secret(secret)
    locked.rotated_at = timezone.now()
    locked.save(update_fields=["prefix", "secret_hash", "rotated_at"])
    TokenEvent.objects.create(
        token=locked,
        actor=actor,
        action=TokenAction.ROTATED,
        details={**_details(locked), "old_prefix": old_prefix},
    )
    return IssuedToken(token=locked, plaintext=keys.assemble(prefix, secret))


@transaction.atomic
def token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    """The token stops working with the next request (nothing caches a token's validity). An integration's
    service identity is switched off with it, as nothing else acts as it."""
    locked = _locked_for_change(actor=actor, token=token)
    locked.revoked_at = timezone.now()
    locked.revoked_by = actor
    locked.save(update_fields=["revoked_at", "revoked_by"])
    if locked.kind == TokenKind.INTEGRATION:
        User.objects.filter(pk=locked.user_id, role=User.Role.INTEGRATION).update(is_active=False)
    TokenEvent.objects.create(token=locked, actor=actor, action=TokenAction.REVOKED, details=_details(locked))
    return locked
