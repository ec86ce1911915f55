"""REST API for accounts, contacts and the timeline; the same rules as the pages, by session or token."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Account, AuditAction, AuditEvent, Contact, Coverage, TimelineEntry, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory, TimelineEntryFactory

pytestmark = pytest.mark.django_db


def new_account(owner, /, **overrides) -> dict:
    data = {
        "name": "Echo Media",
        "industry": "media",
        "region": "emea",
        "arr": "120000.00",
        "contract_start": "2025-01-01",
        "renewal_date": "2026-01-01",
        "coverage": "assigned",
        "owner": owner.pk,
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("method", "url_name", "args"),
    [
        ("get", "api:account-list", []),
        ("post", "api:account-list", []),
        ("get", "api:account-detail", ["pk"]),
        ("patch", "api:account-detail", ["pk"]),
        ("post", "api:account-reassign", ["pk"]),
        ("post", "api:account-change-stage", ["pk"]),
        ("get", "api:contact-list", []),
        ("post", "api:contact-list", []),
        ("get", "api:timeline-list", []),
        ("post", "api:timeline-list", []),
        ("get", "api-schema", []),
    ],
)
def test_anonymous_callers_are_refused_and_nothing_is_written(
    api, own_account, nothing_written, method, url_name, args
):
    url = reverse(url_name, args=[own_account.pk for _ in args])
    with nothing_written():
        response = getattr(api(), method)(url, {"name": "x"}, format="json")
    assert response.status_code in {401, 403}


def test_a_bad_token_is_refused(api, own_account):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get(reverse("api:account-list")).status_code in {401, 403}


# Accounts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["session", "token"])
def test_any_signed_in_user_lists_and_reads_every_account(api, auth, csm, own_account, other_team_account):
    client = api(csm, auth=auth)
    response = client.get(reverse("api:account-list"))
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["results"]] == ["Acme Robotics", "Delta Freight"]
    detail = client.get(reverse("api:account-detail", args=[other_team_account.pk])).json()
    assert detail["owner"] == other_team_account.owner_id
    assert detail["stage"] == "onboarding" and detail["coverage"] == "assigned"


def test_accounts_filter_with_the_same_filters_as_the_pages(api, csm, own_account, pool_account, other_team_account):
    own_account.tier = "high"
    own_account.save()
    client = api(csm)
    assert [r["name"] for r in client.get(reverse("api:account-list"), {"tier": "high"}).json()["results"]] == [
        "Acme Robotics"
    ]
    assert [r["name"] for r in client.get(reverse("api:account-list"), {"q": "cobalt"}).json()["results"]] == [
        "Cobalt Bank"
    ]
    assert [
        r["name"] for r in client.get(reverse("api:account-list"), {"pool": pool_account.pool_id}).json()["results"]
    ] == ["Cobalt Bank"]
    ordered = client.get(reverse("api:account-list"), {"ordering": "-name"}).json()["results"]
    assert [r["name"] for r in ordered] == ["Delta Freight", "Cobalt Bank", "Acme Robotics"]


def test_a_bad_filter_is_a_400_naming_the_field(api, csm):
    response = api(csm).get(reverse("api:account-list"), {"stage": "hibernating"})
    assert response.status_code == 400
    assert "stage" in response.json()


def test_accounts_are_paginated(api, csm):
    AccountFactory.create_batch(55, owner=csm)
    client = api(csm)
    first = client.get(reverse("api:account-list")).json()
    # Keyset pages (accounts/tests/test_api_keyset.py): a cursor to the next page, no count unless asked.
    assert ("count" in first, len(first["results"])) == (False, 50)
    assert "cursor=" in first["next"] and first["previous"] is None
    second = client.get(first["next"]).json()
    assert len(second["results"]) == 5 and second["next"] is None
    small = client.get(reverse("api:account-list"), {"page_size": 10, "page": 6}).json()
    assert len(small["results"]) == 5
    assert client.get(reverse("api:account-list"), {"page": 99}).status_code == 404


@pytest.mark.parametrize("auth", ["session", "token"])
def test_a_manager_creates_an_account_on_their_team(api, auth, manager, csm):
    response = api(manager, auth=auth).post(reverse("api:account-list"), new_account(csm, tags=[]), format="json")
    assert response.status_code == 201, response.json()
    account = Account.objects.get(name="Echo Media")
    assert response.json()["id"] == account.pk
    assert AuditEvent.objects.get().action == AuditAction.ACCOUNT_CREATED


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"name": ""}, "name"),
        ({"renewal_date": "2024-01-01"}, "renewal_date"),
        ({"arr": "-1"}, "arr"),
        ({"industry": "piracy"}, "industry"),
        ({"owner": None}, "owner"),
        ({"coverage": "pooled", "owner": None}, "pool"),
        ({"stage": "churned", "name": ""}, "name"),
    ],
)
def test_a_bad_new_account_is_a_400_with_field_errors_and_nothing_written(
    api, manager, csm, nothing_written, overrides, field
):
    with nothing_written():
        response = api(manager).post(reverse("api:account-list"), new_account(csm, **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_new_account_starts_in_onboarding_now_unless_told_and_never_churned(api, manager, csm, nothing_written):
    with nothing_written():
        churned = api(manager).post(reverse("api:account-list"), new_account(csm, stage="churned"), format="json")
    assert churned.status_code == 400 and "cannot start churned" in churned.json()["stage"][0]
    response = api(manager).post(reverse("api:account-list"), new_account(csm), format="json")
    assert response.status_code == 201
    account = Account.objects.get()
    assert account.stage == "onboarding" and account.stage_entered_at >= account.created_at - dt.timedelta(seconds=1)


def test_a_csm_cannot_create_accounts_and_a_manager_not_for_another_team(api, csm, manager, other_csm, nothing_written):
    with nothing_written():
        assert api(csm).post(reverse("api:account-list"), new_account(csm), format="json").status_code == 403
        response = api(manager).post(reverse("api:account-list"), new_account(other_csm), format="json")
    assert response.status_code == 403
    assert "your own team" in response.json()["detail"]


def test_the_owner_patches_their_account_and_it_is_audited(api, csm, own_account):
    response = api(csm, auth="token").patch(
        reverse("api:account-detail", args=[own_account.pk]), {"tier": "high", "tags": []}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["tier"] == "high"
    # A tier changed by hand is an override of the tier rules (accounts/segments/), audited with it.
    assert AuditEvent.objects.get().changes == {"tier": ["low", "high"], "tier_source": ["rules", "manual"]}


def test_a_bad_patch_is_a_400_and_changes_nothing(api, csm, own_account, nothing_written):
    url = reverse("api:account-detail", args=[own_account.pk])
    with nothing_written():
        bad_date = api(csm).patch(url, {"renewal_date": "2000-01-01"}, format="json")
        moved = api(csm).patch(url, {"owner": None}, format="json")
    assert bad_date.status_code == 400 and "renewal_date" in bad_date.json()
    assert moved.status_code == 400 and "reassign" in moved.json()["owner"][0]


def test_someone_elses_account_cannot_be_changed_even_with_a_bad_payload(api, csm, other_team_account, nothing_written):
    url = reverse("api:account-detail", args=[other_team_account.pk])
    with nothing_written():
        assert api(csm).patch(url, {"name": "Hijacked"}, format="json").status_code == 403
        assert api(csm).patch(url, {"renewal_date": "nonsense"}, format="json").status_code == 403
        assert api(csm).put(url, {}, format="json").status_code == 403
        assert api(csm).delete(url).status_code == 403


def test_only_admins_delete_accounts(api, manager, admin, own_account):
    url = reverse("api:account-detail", args=[own_account.pk])
    assert api(manager).delete(url).status_code == 403
    assert api(admin).delete(url).status_code == 204
    assert not Account.objects.filter(pk=own_account.pk).exists()


def test_a_missing_account_is_a_404(api, admin):
    assert api(admin).get(reverse("api:account-detail", args=[4242])).status_code == 404
    assert api(admin).post(reverse("api:account-reassign", args=[4242]), {}, format="json").status_code == 404


# Reassign and change stage -------------------------------------------------------------------------


@pytest.mark.parametrize("auth", ["session", "token"])
def test_the_team_manager_reassigns_through_the_api(api, auth, manager, own_account, teammate, csm):
    response = api(manager, auth=auth).post(
        reverse("api:account-reassign", args=[own_account.pk]),
        {"coverage": "assigned", "owner": teammate.pk, "reason": "Rebalancing"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["owner"] == teammate.pk
    audit = AuditEvent.objects.get()
    assert (audit.actor, audit.changes, audit.reason) == (manager, {"owner": [csm.pk, teammate.pk]}, "Rebalancing")
    assert own_account.timeline.get().event == "owner_changed"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"coverage": "assigned", "owner": "teammate"}, "reason"),
        ({"coverage": "assigned", "owner": None, "reason": "x"}, "owner"),
        ({"coverage": "pooled", "reason": "x"}, "pool"),
        ({"coverage": "sideways", "reason": "x"}, "coverage"),
        ({"coverage": "assigned", "owner": "csm", "reason": "x"}, "non_field_errors"),
    ],
)
def test_a_bad_reassignment_is_a_400_and_writes_nothing(
    api, request, manager, own_account, nothing_written, payload, field
):
    if payload.get("owner") in {"teammate", "csm"}:
        payload = {**payload, "owner": request.getfixturevalue(payload["owner"]).pk}
    with nothing_written():
        response = api(manager).post(reverse("api:account-reassign", args=[own_account.pk]), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("role", ["csm", "other_manager"])
def test_a_csm_or_another_teams_manager_cannot_reassign(api, request, role, own_account, teammate, nothing_written):
    caller = request.getfixturevalue(role)
    with nothing_written():
        response = api(caller).post(
            reverse("api:account-reassign", args=[own_account.pk]),
            {"coverage": "assigned", "owner": teammate.pk, "reason": "mine now"},
            format="json",
        )
    assert response.status_code == 403


# Contacts ------------------------------------------------------------------------------------------


def test_contacts_list_and_filter(api, csm, own_account, other_team_account):
    # Last names fixed: a random one (Griffin, say) would match the search for "fin" below.
    ContactFactory(account=own_account, first_name="Dana", last_name="Okafor", deal_role="champion")
    ContactFactory(account=own_account, first_name="Eli", last_name="Moreau", departed=True)
    ContactFactory(account=other_team_account, first_name="Finn", last_name="Tanaka")
    client = api(csm)
    assert client.get(reverse("api:contact-list"), {"count": "true"}).json()["count"] == 3
    mine = client.get(reverse("api:contact-list"), {"account": own_account.pk, "departed": "false"}).json()["results"]
    assert [c["first_name"] for c in mine] == ["Dana"]
    champions = client.get(reverse("api:contact-list"), {"deal_role": "champion"}).json()["results"]
    assert [c["first_name"] for c in champions] == ["Dana"]
    assert len(client.get(reverse("api:contact-list"), {"q": "fin"}).json()["results"]) == 1


@pytest.mark.parametrize("auth", ["session", "token"])
def test_the_owner_creates_and_updates_a_contact(api, auth, csm, own_account):
    client = api(csm, auth=auth)
    created = client.post(
        reverse("api:contact-list"),
        {"account": own_account.pk, "first_name": "Dana", "email": "d@acme.example"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    contact = Contact.objects.get()
    updated = client.patch(reverse("api:contact-detail", args=[contact.pk]), {"title": "CTO"}, format="json")
    assert updated.status_code == 200 and updated.json()["title"] == "CTO"
    assert list(AuditEvent.objects.order_by("id").values_list("action", flat=True)) == [
        AuditAction.CONTACT_CREATED,
        AuditAction.CONTACT_UPDATED,
    ]


def test_bad_contacts_are_a_400_and_write_nothing(api, csm, own_account, other_team_account, nothing_written):
    ceo = ContactFactory(account=own_account, email="ceo@acme.example")
    vp = ContactFactory(account=own_account, reports_to=ceo)
    stranger = ContactFactory(account=other_team_account)
    client = api(csm)
    with nothing_written():
        missing = client.post(reverse("api:contact-list"), {"account": own_account.pk}, format="json")
        foreign_boss = client.post(
            reverse("api:contact-list"),
            {"account": own_account.pk, "first_name": "X", "reports_to": stranger.pk},
            format="json",
        )
        cycle = client.patch(reverse("api:contact-detail", args=[ceo.pk]), {"reports_to": vp.pk}, format="json")
        moved = client.patch(
            reverse("api:contact-detail", args=[vp.pk]), {"account": other_team_account.pk}, format="json"
        )
        duplicate = client.post(
            reverse("api:contact-list"),
            {"account": own_account.pk, "first_name": "Y", "email": "ceo@acme.example"},
            format="json",
        )
    assert missing.status_code == 400 and "first_name" in missing.json()
    assert foreign_boss.status_code == 400 and "same account" in foreign_boss.json()["reports_to"][0]
    assert cycle.status_code == 400 and "circle" in cycle.json()["reports_to"][0]
    assert moved.status_code == 400 and "account" in moved.json()
    assert duplicate.status_code == 400 and "already has a contact" in str(duplicate.json())


def test_contacts_of_someone_elses_account_cannot_be_written(api, csm, other_team_account, nothing_written):
    contact = ContactFactory(account=other_team_account)
    client = api(csm)
    with nothing_written():
        created = client.post(
            reverse("api:contact-list"), {"account": other_team_account.pk, "first_name": "X"}, format="json"
        )
        updated = client.patch(reverse("api:contact-detail", args=[contact.pk]), {"title": "Hacked"}, format="json")
        deleted = client.delete(reverse("api:contact-detail", args=[contact.pk]))
    assert (created.status_code, updated.status_code, deleted.status_code) == (403, 403, 403)


# Timeline ------------------------------------------------------------------------------------------


def test_timeline_entries_list_newest_first_and_filter(api, csm, own_account, other_team_account):
    now = timezone.now()
    TimelineEntryFactory(account=own_account, summary="old", occurred_at=now - dt.timedelta(days=10))
    TimelineEntryFactory(account=own_account, summary="new", occurred_at=now - dt.timedelta(days=1))
    TimelineEntryFactory(account=own_account, kind=TimelineKind.TOUCHPOINT, channel="call", summary="call")
    TimelineEntryFactory(account=other_team_account, summary="elsewhere")
    client = api(csm)
    rows = client.get(reverse("api:timeline-list"), {"account": own_account.pk}).json()["results"]
    assert [r["summary"] for r in rows] == ["call", "new", "old"]
    touchpoints = client.get(reverse("api:timeline-list"), {"kind": "touchpoint"}).json()["results"]
    assert [r["summary"] for r in touchpoints] == ["call"]
    recent = client.get(
        reverse("api:timeline-list"),
        {"account": own_account.pk, "occurred_after": (now - dt.timedelta(days=5)).isoformat()},
    )
    assert [r["summary"] for r in recent.json()["results"]] == ["call", "new"]
    entry = TimelineEntry.objects.get(summary="old")
    assert client.get(reverse("api:timeline-detail", args=[entry.pk])).json()["summary"] == "old"


@pytest.mark.parametrize("auth", ["session", "token"])
def test_the_owner_logs_a_touchpoint_and_a_note(api, auth, csm, own_account):
    dana = ContactFactory(account=own_account)
    client = api(csm, auth=auth)
    touchpoint = client.post(
        reverse("api:timeline-list"),
        {
            "account": own_account.pk,
            "kind": "touchpoint",
            "channel": "qbr",
            "summary": "QBR",
            "occurred_at": (timezone.now() - dt.timedelta(hours=1)).isoformat(),
            "participants": [dana.pk],
        },
        format="json",
    )
    assert touchpoint.status_code == 201, touchpoint.json()
    assert touchpoint.json()["participants"] == [dana.pk] and touchpoint.json()["author"] == csm.pk
    risk = client.post(
        reverse("api:timeline-list"),
        {"account": own_account.pk, "kind": "risk", "risk_tag": "competitor", "summary": "Evaluating a rival"},
        format="json",
    )
    assert risk.status_code == 201
    assert TimelineEntry.objects.filter(kind=TimelineKind.RISK, risk_tag="competitor").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"kind": "system"}, "kind"),
        ({"occurred_at": "future"}, "occurred_at"),
        ({"participants": "stranger"}, "participants"),
        ({"channel": ""}, "channel"),
        ({"kind": "risk", "risk_tag": ""}, "risk_tag"),
        ({"summary": ""}, "summary"),
    ],
)
def test_bad_timeline_entries_are_a_400_and_write_nothing(
    api, csm, own_account, other_team_account, nothing_written, overrides, field
):
    payload = {"account": own_account.pk, "kind": "touchpoint", "channel": "call", "summary": "Call"}
    if overrides.get("occurred_at") == "future":
        overrides["occurred_at"] = (timezone.now() + dt.timedelta(days=1)).isoformat()
    if overrides.get("participants") == "stranger":
        overrides["participants"] = [ContactFactory(account=other_team_account).pk]
    payload.update(overrides)
    with nothing_written():
        response = api(csm).post(reverse("api:timeline-list"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_timeline_entries_cannot_be_added_to_someone_elses_account_nor_edited(
    api, csm, own_account, other_team_account, nothing_written
):
    entry = TimelineEntryFactory(account=own_account)
    client = api(csm)
    with nothing_written():
        response = client.post(
            reverse("api:timeline-list"),
            {"account": other_team_account.pk, "kind": "note", "summary": "x"},
            format="json",
        )
        assert response.status_code == 403
        assert (
            client.patch(
                reverse("api:timeline-detail", args=[entry.pk]), {"summary": "rewritten"}, format="json"
            ).status_code
            == 405
        )
        assert client.delete(reverse("api:timeline-detail", args=[entry.pk])).status_code == 405


# Schema and docs -----------------------------------------------------------------------------------


def test_the_schema_is_an_openapi_3_document_listing_the_endpoints(api, csm):
    response = api(csm).get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Baton API"
    for path in [
        "/api/accounts/",
        "/api/accounts/{id}/reassign/",
        "/api/accounts/{id}/change-stage/",
        "/api/contacts/",
        "/api/timeline/",
        "/api/users/",
        "/api/teams/",
    ]:
        assert path in schema["paths"], path
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_docs_render_for_a_signed_in_user(client, csm):
    client.force_login(csm)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    assert "swagger-ui" in response.content.decode()
    assert reverse("api-schema") in response.content.decode()


def test_the_docs_are_not_public(client):
    assert client.get(reverse("api-docs")).status_code in {302, 401, 403}


def test_pool_fixture_is_pooled(pool_account):
    assert pool_account.coverage == Coverage.POOLED


def test_an_admin_deletes_an_account_with_a_handover_and_the_deletion_is_audited(api, admin, own_account):
    from transitions.tests.factories import TransitionFactory

    TransitionFactory(account=own_account)
    pk, name = own_account.pk, own_account.name
    response = api(admin).delete(reverse("api:account-detail", args=[pk]))
    assert response.status_code == 204, response.content
    assert not Account.objects.filter(pk=pk).exists()
    record = AuditEvent.objects.get(action="account_deleted")
    assert (record.subject_type, record.subject_id, record.actor, record.account) == ("account", pk, admin, None)
    assert record.changes["name"][0] == name
