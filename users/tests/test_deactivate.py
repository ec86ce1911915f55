"""People are deactivated, never deleted: no sign-in, tokens revoked, recorded, their names kept on history."""

import pytest
from django.contrib import admin as django_admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory
from django.urls import reverse
from rest_framework.authtoken.models import Token

from accounts.models import AuditEvent
from accounts.services import contact_create
from accounts.tests.conftest import *  # noqa: F403  (accounts and the people of the permission table)
from users.models import User, UserAction, UserEvent
from users.services import user_deactivate, user_reactivate
from users.tests.tokens_support import bearer, issue
from users.tokens.models import ApiToken, TokenAction, TokenEvent

pytestmark = pytest.mark.django_db


def test_deactivating_someone_revokes_their_tokens_and_records_why(admin, csm):
    issued = issue(csm, "read")
    Token.objects.create(user=csm)
    assert bearer(issued.plaintext).get(reverse("api:account-list")).status_code == 200

    user_deactivate(actor=admin, user=csm, reason="Left the company")

    csm.refresh_from_db()
    assert not csm.is_active
    assert ApiToken.objects.get(pk=issued.token.pk).revoked_by == admin
    assert TokenEvent.objects.filter(token=issued.token, action=TokenAction.REVOKED).count() == 1
    assert not Token.objects.filter(user=csm).exists()
    event = UserEvent.objects.get()
    assert (event.action, event.user, event.actor, event.reason) == (
        UserAction.DEACTIVATED,
        csm,
        admin,
        "Left the company",
    )
    assert event.details == {"tokens_revoked": 1, "legacy_keys_deleted": 1}
    assert bearer(issued.plaintext).get(reverse("api:account-list")).status_code == 401


def test_a_deactivated_person_is_signed_out_and_cannot_sign_in(client, admin, csm):
    client.force_login(csm)
    user_deactivate(actor=admin, user=csm, reason="Left the company")
    assert client.get(reverse("cockpit")).status_code == 302
    assert not client.login(username=csm.username, password="pw")


def test_their_accounts_stay_theirs_until_handed_over(admin, csm, own_account):
    user_deactivate(actor=admin, user=csm, reason="Left the company")
    own_account.refresh_from_db()
    assert own_account.owner == csm


def test_deactivating_twice_changes_nothing_and_reactivating_lets_them_back(admin, csm):
    user_deactivate(actor=admin, user=csm, reason="Parental leave")
    user_deactivate(actor=admin, user=csm, reason="Parental leave")
    assert UserEvent.objects.count() == 1
    user_reactivate(actor=admin, user=csm, reason="Back from leave")
    csm.refresh_from_db()
    assert csm.is_active
    assert list(UserEvent.objects.values_list("action", flat=True)) == [UserAction.REACTIVATED, UserAction.DEACTIVATED]


@pytest.mark.parametrize("who", ["manager", "csm", "admin"])
def test_only_an_admin_deactivates_and_never_themselves(request, admin, csm, who):
    actor = request.getfixturevalue(who)
    target = admin if who == "admin" else csm
    with pytest.raises(PermissionDenied):
        user_deactivate(actor=actor, user=target, reason="Because")
    target.refresh_from_db()
    assert target.is_active and not UserEvent.objects.exists()


@pytest.mark.parametrize("reason", ["", "  ", "no"])
def test_a_reason_is_needed(admin, csm, reason):
    with pytest.raises(ValidationError):
        user_deactivate(actor=admin, user=csm, reason=reason)
    csm.refresh_from_db()
    assert csm.is_active


def test_audit_records_keep_the_actors_name(teammate, own_account):
    contact_create(actor=teammate, account=own_account, fields={"first_name": "Ada"})
    audit = AuditEvent.objects.get()
    assert audit.actor_name == (teammate.get_full_name() or teammate.username)
    User.objects.filter(pk=teammate.pk).delete()  # a user row gone by other means: the name stays
    audit.refresh_from_db()
    assert audit.actor is None and audit.actor_label == audit.actor_name != ""


def test_records_written_in_bulk_get_the_actors_name_too(csm, own_account):
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                actor_id=csm.pk, account=own_account, action="account_updated", subject_type="account", subject_id=1
            )
        ]
    )
    assert AuditEvent.objects.get().actor_name == (csm.get_full_name() or csm.username)


def test_the_admin_deactivates_and_never_deletes(admin, csm):
    model_admin = admin_site_user_admin()
    request = RequestFactory().post("/")
    request.user = admin
    request._messages = _Messages()
    assert not model_admin.has_delete_permission(request, csm)
    assert "delete_selected" not in model_admin.get_actions(request)
    model_admin.deactivate(request, User.objects.filter(pk=csm.pk))
    csm.refresh_from_db()
    assert not csm.is_active
    assert "is_active" in model_admin.get_readonly_fields(request, csm)


def admin_site_user_admin():
    return django_admin.site._registry[User]


class _Messages:
    def add(self, *args, **kwargs) -> None:
        pass


# The API -------------------------------------------------------------------------------------------------


def test_an_admin_deactivates_through_the_api_with_a_reason(api, admin, csm):
    client = api(admin)
    url = reverse("api:user-deactivate", args=[csm.pk])
    assert client.post(url, {}, format="json").status_code == 400
    response = client.post(url, {"reason": "Left the company"}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert UserEvent.objects.get().reason == "Left the company"
    back = client.post(reverse("api:user-reactivate", args=[csm.pk]), {"reason": "Came back"}, format="json")
    assert back.status_code == 200 and back.json()["is_active"] is True


def test_is_active_is_not_patched_around_the_service(api, admin, csm, nothing_written):
    with nothing_written():
        response = api(admin).patch(reverse("api:user-detail", args=[csm.pk]), {"is_active": False}, format="json")
    assert response.status_code == 400 and "is_active" in response.json()
    csm.refresh_from_db()
    assert csm.is_active


@pytest.mark.parametrize("who", ["manager", "admin"])
def test_only_an_admin_deactivates_through_the_api_and_never_themselves(request, api, admin, csm, who):
    actor = request.getfixturevalue(who)
    target = admin if who == "admin" else csm
    response = api(actor).post(reverse("api:user-deactivate", args=[target.pk]), {"reason": "Because"}, format="json")
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.is_active
