"""token_create, token_rotate, token_revoke: who may, what they refuse, and the history each writes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from users.models import User
from users.permissions import personal_token_scopes
from users.tokens import services
from users.tokens.models import ApiToken, TokenAction, TokenEvent, TokenKind
from users.tokens.scopes import Scope

from .tokens_support import integration, issue

pytestmark = pytest.mark.django_db


def test_an_integration_token_gets_an_identity_of_its_own(admin):
    issued = integration(admin, "read", "write:signals", name="Product usage feed")
    token = issued.token
    assert token.kind == TokenKind.INTEGRATION
    assert token.created_by == admin
    identity = token.user
    assert identity != admin
    assert identity.role == User.Role.INTEGRATION and identity.is_integration
    assert str(identity) == "Product usage feed"
    assert not identity.has_usable_password()
    assert identity.team is None and not identity.is_staff
    assert token.scopes == {Scope.READ, Scope.WRITE_SIGNALS}


@pytest.mark.parametrize("who", ["csm", "manager"])
def test_only_admins_create_integration_tokens(request, who):
    with pytest.raises(PermissionDenied):
        integration(request.getfixturevalue(who), "read")
    assert not ApiToken.objects.exists()
    assert not User.objects.filter(role=User.Role.INTEGRATION).exists()


def test_a_personal_token_acts_as_its_maker(csm):
    token = issue(csm, "read", "write:accounts").token
    assert (token.kind, token.user, token.created_by) == (TokenKind.PERSONAL, csm, csm)


def test_a_person_holds_no_scope_beyond_their_own_rights(csm):
    # Everyone reads, and every role changes some accounts and their signals, through the token as themselves.
    assert personal_token_scopes(csm) == frozenset(Scope)
    csm.is_active = False
    assert personal_token_scopes(csm) == frozenset()


def test_an_integration_identity_cannot_give_itself_a_personal_token(admin):
    identity = integration(admin, "read").token.user
    with pytest.raises(PermissionDenied):
        issue(identity, "read", "write:accounts")
    assert ApiToken.objects.count() == 1


@pytest.mark.parametrize(
    ("scopes", "field"),
    [([], "scopes"), (["read", "admin"], "scopes"), (["write:everything"], "scopes")],
)
def test_unknown_or_no_scopes_are_refused(csm, scopes, field):
    with pytest.raises(ValidationError) as refused:
        services.token_create(actor=csm, kind="personal", name="Script", scopes=scopes)
    assert field in refused.value.error_dict
    assert not ApiToken.objects.exists()


def test_a_name_is_required_and_unique_among_a_users_live_tokens(csm, teammate):
    with pytest.raises(ValidationError):
        issue(csm, "read", name="  ")
    first = issue(csm, "read", name="Export")
    with pytest.raises(ValidationError) as duplicate:
        issue(csm, "read", name="Export")
    assert "name" in duplicate.value.error_dict
    issue(teammate, "read", name="Export")  # someone else's is fine
    services.token_revoke(actor=csm, token=first.token)
    issue(csm, "read", name="Export")  # and a revoked one frees the name


def test_creating_writes_its_history(admin):
    token = integration(admin, "read", name="CRM sync").token
    event = TokenEvent.objects.get()
    assert (event.token, event.actor, event.action) == (token, admin, TokenAction.CREATED)
    assert event.details == {"name": "CRM sync", "kind": "integration", "scopes": ["read"], "prefix": token.prefix}


def test_rotating_changes_the_secret_and_keeps_the_rest(admin):
    old = integration(admin, "read", "write:signals")
    old_prefix, old_hash = old.token.prefix, old.token.secret_hash
    new = services.token_rotate(actor=admin, token=old.token)
    token = ApiToken.objects.get()
    assert token.pk == old.token.pk
    assert token.prefix != old_prefix and token.secret_hash != old_hash
    assert token.rotated_at is not None
    assert (token.name, token.scopes, token.user_id) == (old.token.name, old.token.scopes, old.token.user_id)
    assert new.plaintext.startswith(f"baton_{token.prefix}_")
    event = TokenEvent.objects.filter(action=TokenAction.ROTATED).get()
    assert (event.actor, event.details["old_prefix"]) == (admin, old_prefix)


def test_revoking_stamps_who_and_when_and_switches_off_the_integrations_identity(admin):
    token = integration(admin, "read").token
    services.token_revoke(actor=admin, token=token)
    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == admin
    assert not token.user.is_active
    assert TokenEvent.objects.filter(action=TokenAction.REVOKED, actor=admin).count() == 1


def test_a_revoked_token_is_neither_rotated_nor_revoked_again(csm):
    token = issue(csm, "read").token
    services.token_revoke(actor=csm, token=token)
    for change in (services.token_rotate, services.token_revoke):
        with pytest.raises(ValidationError):
            change(actor=csm, token=token)
    assert TokenEvent.objects.count() == 2


def test_nobody_changes_someone_elses_personal_token_but_an_admin(csm, teammate, manager, admin):
    token = issue(csm, "read").token
    for stranger in (teammate, manager):
        for change in (services.token_rotate, services.token_revoke):
            with pytest.raises(PermissionDenied):
                change(actor=stranger, token=token)
    services.token_revoke(actor=admin, token=token)  # a leaked token is stopped by an admin
    assert ApiToken.objects.get().revoked_by == admin


def test_people_do_not_change_integration_tokens(admin, manager):
    token = integration(admin, "read").token
    with pytest.raises(PermissionDenied):
        services.token_revoke(actor=manager, token=token)
    assert ApiToken.objects.get().revoked_at is None


def test_live_integrations_have_names_of_their_own(admin):
    integration(admin, "read", name="CRM sync")
    with pytest.raises(ValidationError) as duplicate:
        integration(admin, "write:accounts", name="CRM sync")
    assert "name" in duplicate.value.error_dict
    assert User.objects.filter(role=User.Role.INTEGRATION).count() == 1


def test_an_expiry_in_the_past_is_refused(csm):
    with pytest.raises(ValidationError) as refused:
        services.token_create(
            actor=csm, kind="personal", name="Old", scopes=["read"], expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
    assert "expires_at" in refused.value.error_dict
