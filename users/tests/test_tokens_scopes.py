"""Scopes: every API view declares what a token needs; reads need `read`, writes their view's scope, and a token
never reaches further than the user it acts as. Session users (the browser) are not asked for scopes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework.views import APIView

from accounts.tests.conftest import other_team_account, own_account  # noqa: F401
from accounts.tests.factories import AccountFactory
from lifecycle.models import UsageDaily
from users.tokens.scopes import NotOpenToTokens, Scope, is_declared, required_scope

from .tokens_support import bearer, integration, issue

pytestmark = pytest.mark.django_db

USAGE_URL = "/api/signals/usage/"


def usage(account) -> dict:
    day = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    return {"rows": [{"account": account.pk, "day": day, "active_users": 12}]}


def _api_views(patterns, prefix: str = "") -> list[tuple[str, type]]:
    found: list[tuple[str, type]] = []
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            found += _api_views(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "cls", None)
            if isinstance(view_class, type) and issubclass(view_class, APIView):
                found.append((prefix + str(pattern.pattern), view_class))
    return found


def test_every_api_view_declares_what_a_token_needs():
    views = _api_views(get_resolver().url_patterns)
    assert len({cls for _, cls in views}) > 25  # the router's views, the alert settings and the schema
    undeclared = sorted({f"{route} ({cls.__module__}.{cls.__name__})" for route, cls in views if not is_declared(cls)})
    assert undeclared == [], "Name these in csm/api_router.py's scopes.declare(...)"


def test_a_view_nobody_declared_refuses_tokens_whatever_the_method():
    class NewView(APIView):
        pass

    for method in ("GET", "POST"):
        with pytest.raises(NotOpenToTokens):
            required_scope(NewView, method)


def test_reads_need_read_and_writes_their_views_scope():
    from lifecycle.signals.api import UsageDailyViewSet
    from users.api.views import TeamViewSet

    assert required_scope(UsageDailyViewSet, "GET") == Scope.READ
    assert required_scope(UsageDailyViewSet, "POST") == Scope.WRITE_SIGNALS
    with pytest.raises(NotOpenToTokens):
        required_scope(TeamViewSet, "PATCH")


def test_a_read_only_token_reads_but_cannot_send_signals(admin, own_account):
    client = bearer(integration(admin, "read").plaintext)
    assert client.get(reverse("api:account-list")).status_code == 200
    response = client.post(USAGE_URL, usage(own_account), format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "This token lacks the write:signals scope."
    assert UsageDaily.objects.count() == 0


def test_a_signals_token_sends_signals_for_any_account_but_cannot_change_an_account(admin, own_account):
    client = bearer(integration(admin, "write:signals").plaintext)
    response = client.post(USAGE_URL, usage(own_account), format="json")
    assert response.status_code == 200, response.json()
    assert UsageDaily.objects.count() == 1
    refused = client.patch(reverse("api:account-detail", args=[own_account.pk]), {"industry": "media"}, format="json")
    assert refused.status_code == 403
    assert client.get(reverse("api:account-list")).status_code == 403  # no read scope


def test_an_accounts_token_creates_and_changes_accounts_but_may_not_delete_them(admin, csm, own_account):
    client = bearer(integration(admin, "read", "write:accounts").plaintext)
    changed = client.patch(reverse("api:account-detail", args=[own_account.pk]), {"industry": "media"}, format="json")
    assert changed.status_code == 200, changed.json()
    own_account.refresh_from_db()
    assert own_account.industry == "media"
    created = client.post(
        reverse("api:account-list"),
        {"name": "Golf Media", "industry": "media", "region": "emea", "owner": csm.pk},
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert client.delete(reverse("api:account-detail", args=[own_account.pk])).status_code == 403
    assert client.post(USAGE_URL, usage(own_account), format="json").status_code == 403


def test_configuration_is_read_but_never_changed_by_a_token_even_an_admins(admin):
    client = bearer(issue(admin).plaintext)  # every scope, as an admin
    assert client.get(reverse("api:team-list")).status_code == 200
    response = client.post(reverse("api:team-list"), {"name": "Growth"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "API tokens only read here; make this change in Baton."
    session = APIClient()
    session.force_login(admin)
    assert session.post(reverse("api:team-list"), {"name": "Growth"}, format="json").status_code == 201


def test_a_personal_token_acts_as_its_user_and_reaches_no_further(csm, own_account, other_team_account):
    client = bearer(issue(csm).plaintext)  # every scope
    assert client.get(reverse("api:user-me")).json()["username"] == "alex"
    mine = client.patch(reverse("api:account-detail", args=[own_account.pk]), {"industry": "media"}, format="json")
    assert mine.status_code == 200
    theirs = reverse("api:account-detail", args=[other_team_account.pk])
    assert client.patch(theirs, {"industry": "media"}, format="json").status_code in {403, 404}
    assert client.post(USAGE_URL, usage(other_team_account), format="json").status_code in {400, 403}
    assert UsageDaily.objects.count() == 0
    assert client.post(USAGE_URL, usage(own_account), format="json").status_code == 200


def test_a_csms_token_cannot_open_an_account_as_csms_cannot(csm):
    client = bearer(issue(csm).plaintext)
    body = {"name": "Hotel Co", "industry": "media", "region": "emea", "owner": csm.pk}
    response = client.post(reverse("api:account-list"), body, format="json")
    assert response.status_code == 403


def test_a_token_for_a_team_reads_what_the_team_reads(csm, manager):
    AccountFactory(name="Juliet Ltd")
    for user in (csm, manager):
        client = bearer(issue(user, "read").plaintext)
        assert len(client.get(reverse("api:account-list")).json()["results"]) == 1  # everyone reads the book (§1)


def test_the_schema_is_read_with_a_read_token_and_names_the_bearer_scheme(csm):
    response = bearer(issue(csm, "read").plaintext).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "baton_<prefix>_<secret>",
    }


def test_sessions_are_not_asked_for_scopes(csm, own_account):
    session = APIClient()
    session.force_login(csm)
    assert session.post(USAGE_URL, usage(own_account), format="json").status_code == 200
