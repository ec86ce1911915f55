"""Account create/edit and change coverage pages (the Account 360 is desk's: desk/tests/test_account_360.py)."""

import pytest
from django.urls import reverse

from accounts.models import Account, AuditAction, AuditEvent, Coverage
from accounts.tests.conftest import account_form_data
from accounts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db


def detail(account) -> str:
    return reverse("account-detail", args=[account.pk])


# Every account page ---------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_log_in_from_every_account_page(client, own_account):
    contact = ContactFactory(account=own_account)
    pk = own_account.pk
    for url in [
        detail(own_account),
        reverse("account-create"),
        reverse("account-edit", args=[pk]),
        reverse("account-reassign", args=[pk]),
        reverse("contact-create", args=[pk]),
        reverse("contact-edit", args=[pk, contact.pk]),
        reverse("timeline-page", args=[pk]),
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("login") + "?next="), url


# Account create -----------------------------------------------------------------------------------


def test_a_manager_creates_an_account_for_a_csm_on_their_team(client, manager, csm):
    client.force_login(manager)
    data = account_form_data(**{"cov-coverage": "assigned", "cov-owner": csm.pk})
    response = client.post(reverse("account-create"), data)
    account = Account.objects.get(name="Echo Media")
    assert response.status_code == 302 and response.url == detail(account)
    assert (account.owner, account.currency, account.fiscal_year_start_month) == (csm, "EUR", 4)
    assert AuditEvent.objects.get().action == AuditAction.ACCOUNT_CREATED


def test_a_manager_creates_a_pooled_account_for_their_team(client, manager, team):
    client.force_login(manager)
    response = client.post(
        reverse("account-create"), account_form_data(**{"cov-coverage": "pooled", "cov-pool": team.pk})
    )
    assert response.status_code == 302
    assert Account.objects.get(name="Echo Media").pool == team


def test_the_new_account_form_renders_for_a_manager(client, manager):
    client.force_login(manager)
    response = client.get(reverse("account-create"))
    assert response.status_code == 200
    assert "Fiscal year starts in" in response.content.decode() and "April" in response.content.decode()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"currency": "E1"}, "currency", "three-letter ISO currency code"),
        ({"renewal_date": "2024-06-01"}, "renewal_date", "must come after the contract start"),
        ({"arr": "-5"}, "arr", "ARR cannot be negative."),
        ({"industry": "piracy"}, "industry", "Select a valid choice"),
        ({"cov-owner": ""}, "owner", "Choose the CSM who owns this account."),
        ({"cov-coverage": "pooled", "cov-owner": ""}, "pool", "Choose the team whose pool shares this account."),
    ],
)
def test_a_bad_new_account_is_shown_again_with_a_clear_error_and_nothing_saved(
    client, manager, csm, nothing_written, overrides, field, message
):
    client.force_login(manager)
    data = account_form_data(**{"cov-coverage": "assigned", "cov-owner": csm.pk})
    data.update(overrides)
    with nothing_written():
        response = client.post(reverse("account-create"), data)
    assert response.status_code == 422
    form = response.context["coverage_form" if field in {"owner", "pool"} else "form"]
    assert message in " ".join(form.errors[field])
    assert message in response.content.decode().replace("&#x27;", "'")


def test_a_manager_cannot_add_an_account_to_another_teams_book(client, manager, other_csm, nothing_written):
    client.force_login(manager)
    with nothing_written():
        response = client.post(
            reverse("account-create"), account_form_data(**{"cov-coverage": "assigned", "cov-owner": other_csm.pk})
        )
    assert response.status_code == 422
    assert "your own team" in response.content.decode()


def test_an_admin_adds_an_account_to_any_team(client, admin, other_csm):
    client.force_login(admin)
    response = client.post(
        reverse("account-create"), account_form_data(**{"cov-coverage": "assigned", "cov-owner": other_csm.pk})
    )
    assert response.status_code == 302
    assert Account.objects.get(name="Echo Media").owner == other_csm


def test_a_csm_cannot_create_accounts(client, csm, nothing_written):
    client.force_login(csm)
    assert client.get(reverse("account-create")).status_code == 403
    with nothing_written():
        response = client.post(reverse("account-create"), account_form_data(**{"cov-owner": csm.pk}))
    assert response.status_code == 403


# Account edit -------------------------------------------------------------------------------------


def test_the_owner_edits_their_account_and_the_change_is_audited(client, csm, own_account):
    client.force_login(csm)
    assert client.get(reverse("account-edit", args=[own_account.pk])).status_code == 200
    data = account_form_data(own_account, tier="high", arr="75000")
    response = client.post(reverse("account-edit", args=[own_account.pk]), data)
    assert response.status_code == 302 and response.url == detail(own_account)
    own_account.refresh_from_db()
    assert (own_account.tier, str(own_account.arr)) == ("high", "75000.00")
    audit = AuditEvent.objects.get()
    assert audit.changes == {"arr": ["50000.00", "75000"], "tier": ["low", "high"], "tier_source": ["rules", "manual"]}


def test_a_bad_edit_is_shown_again_and_saves_nothing(client, csm, own_account, nothing_written):
    client.force_login(csm)
    with nothing_written():
        response = client.post(
            reverse("account-edit", args=[own_account.pk]), account_form_data(own_account, name="", currency="euro")
        )
    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"name", "currency"}
    own_account.refresh_from_db()
    assert own_account.name == "Acme Robotics"


def test_someone_elses_account_cannot_be_edited(client, csm, other_team_account, nothing_written):
    client.force_login(csm)
    url = reverse("account-edit", args=[other_team_account.pk])
    assert client.get(url).status_code == 403
    with nothing_written():
        assert client.post(url, account_form_data(other_team_account, name="Hijacked")).status_code == 403
    assert client.get(reverse("account-edit", args=[99999])).status_code == 404


# Change coverage ----------------------------------------------------------------------------------


def test_the_team_manager_moves_an_account_to_a_teammate_with_a_reason(client, manager, own_account, teammate):
    client.force_login(manager)
    url = reverse("account-reassign", args=[own_account.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"coverage": "assigned", "owner": teammate.pk, "reason": "Alex moves to Enterprise"})
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert own_account.owner == teammate
    audit = AuditEvent.objects.get()
    assert (audit.actor, audit.reason, audit.action) == (manager, "Alex moves to Enterprise", AuditAction.OWNER_CHANGED)
    assert own_account.timeline.get().event == "owner_changed"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"coverage": "assigned", "owner": "teammate", "reason": ""}, "reason", "This field is required."),
        ({"coverage": "assigned", "owner": "", "reason": "x"}, "owner", "Choose the CSM"),
        ({"coverage": "pooled", "pool": "", "reason": "x"}, "pool", "Choose the team"),
        ({"coverage": "assigned", "owner": "csm", "reason": "x"}, "__all__", "already covered that way"),
    ],
)
def test_a_bad_coverage_change_is_refused_with_a_clear_error(
    client, request, manager, own_account, teammate, nothing_written, data, field, message
):
    if data.get("owner") in {"teammate", "csm"}:
        data = {**data, "owner": request.getfixturevalue(data["owner"]).pk}
    client.force_login(manager)
    with nothing_written():
        response = client.post(reverse("account-reassign", args=[own_account.pk]), data)
    assert response.status_code == 422
    assert message in " ".join(response.context["form"].errors[field])


@pytest.mark.parametrize("role", ["csm", "other_manager"])
def test_only_the_teams_manager_or_an_admin_changes_coverage(
    client, request, role, own_account, teammate, nothing_written
):
    client.force_login(request.getfixturevalue(role))
    url = reverse("account-reassign", args=[own_account.pk])
    assert client.get(url).status_code == 403
    with nothing_written():
        response = client.post(url, {"coverage": "assigned", "owner": teammate.pk, "reason": "grab"})
    assert response.status_code == 403


def test_an_admin_moves_an_account_into_another_teams_pool(client, admin, own_account, other_team):
    client.force_login(admin)
    response = client.post(
        reverse("account-reassign", args=[own_account.pk]),
        {"coverage": "pooled", "pool": other_team.pk, "reason": "Segment change"},
    )
    assert response.status_code == 302
    own_account.refresh_from_db()
    assert (own_account.coverage, own_account.owner, own_account.pool) == (Coverage.POOLED, None, other_team)
