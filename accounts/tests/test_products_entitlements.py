"""An account's entitlements: the Account 360's "Products" panel and the pages behind it, and the rules every write keeps.

Whoever may change the account (its CSM, a CSM of its pool's team, the team's manager, an
admin) adds, changes, ends and deletes them; everyone signed in reads them. An account holds a
product once at a time, so two entitlements of one product never overlap. Each write is audited
and announces that the account's entitlements changed.
"""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.events import AccountChanged
from accounts.models import AuditEvent, Entitlement
from accounts.products import services
from accounts.tests.factories import EntitlementFactory, ProductFactory
from core import events

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
YEAR_START = TODAY.replace(month=1, day=1)
DAY = dt.timedelta(days=1)


@pytest.fixture
def reports():
    return ProductFactory(key="reports", name="Reports")


@pytest.fixture
def mobile():
    return ProductFactory(key="mobile", name="Mobile")


@pytest.fixture
def announced():
    """Every AccountChanged announced while the test runs, once its (test) transaction commits."""
    seen: list[AccountChanged] = []
    events.subscribe(AccountChanged, seen.append)
    yield seen
    events._handlers[AccountChanged].remove(seen.append)


def detail(account) -> str:
    return reverse("account-detail", args=[account.pk])


def urls(account, entitlement) -> dict[str, str]:
    return {
        name: reverse(f"entitlement-{name}", args=[account.pk, entitlement.pk]) for name in ("edit", "end", "delete")
    }


def form(chosen, **overrides) -> dict:
    data = {"product": chosen.pk, "seats": "120", "starts_on": YEAR_START.isoformat(), "ends_on": ""}
    data.update(overrides)
    return data


# --- The rules, in the service ---------------------------------------------------------------------


def test_adding_an_entitlement_is_audited_and_announced(
    csm, own_account, reports, announced, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        entitlement = services.entitlement_create(
            actor=csm, account=own_account, product=reports, seats=120, starts_on=YEAR_START
        )
    assert (entitlement.seats, entitlement.ends_on) == (120, None)
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.subject_type, audit.subject_id) == (
        services.ENTITLEMENT_CREATED,
        "entitlement",
        entitlement.pk,
    )
    assert audit.account == own_account and audit.actor == csm
    assert audit.changes == {
        "product": [None, reports.pk],
        "seats": [None, 120],
        "starts_on": [None, YEAR_START.isoformat()],
        "ends_on": [None, None],
    }
    assert announced == [AccountChanged(account_id=own_account.pk, fields=frozenset({"entitlements"}))]


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"seats": 0}, "seats", "At least 1 seat"),
        ({"ends_on": YEAR_START - DAY}, "ends_on", "It cannot end before it starts"),
    ],
)
def test_an_entitlement_that_breaks_a_rule_is_refused_with_the_reason(
    csm, own_account, reports, values, field, message
):
    with pytest.raises(ValidationError) as refused:
        services.entitlement_create(
            actor=csm, account=own_account, product=reports, **{"seats": 10, "starts_on": YEAR_START, **values}
        )
    assert message in refused.value.message_dict[field][0]
    assert not Entitlement.objects.exists() and not AuditEvent.objects.exists()


def test_an_account_holds_a_product_once_at_a_time(csm, own_account, reports, mobile):
    held = EntitlementFactory(account=own_account, product=reports, starts_on=YEAR_START, ends_on=None)
    with pytest.raises(ValidationError) as overlapping:
        services.entitlement_create(actor=csm, account=own_account, product=reports, starts_on=YEAR_START + 40 * DAY)
    assert overlapping.value.message_dict["starts_on"] == [
        f"Overlaps Reports from {YEAR_START.day} {YEAR_START:%b %Y} until further notice: an account holds a product "
        "once at a time. End that entitlement before this one starts, or change the dates."
    ]
    with pytest.raises(ValidationError, match="holds Reports from .* already"):
        services.entitlement_create(actor=csm, account=own_account, product=reports, starts_on=YEAR_START)
    # Ended the day before, the next one may start; another product, or another account, never clashed.
    services.entitlement_end(actor=csm, entitlement=held, ends_on=YEAR_START + 39 * DAY)
    services.entitlement_create(actor=csm, account=own_account, product=reports, starts_on=YEAR_START + 40 * DAY)
    services.entitlement_create(actor=csm, account=own_account, product=mobile, starts_on=YEAR_START)
    assert Entitlement.objects.count() == 3


def test_a_refused_change_leaves_the_entitlement_as_it_was(csm, own_account, reports):
    first = EntitlementFactory(account=own_account, product=reports, starts_on=YEAR_START, ends_on=YEAR_START + 9 * DAY)
    later = EntitlementFactory(account=own_account, product=reports, starts_on=YEAR_START + 10 * DAY)
    with pytest.raises(ValidationError, match="Overlaps Reports"):
        services.entitlement_update(actor=csm, entitlement=first, fields={"ends_on": None})
    assert first.ends_on == YEAR_START + 9 * DAY  # the caller's instance, restored
    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.ends_on, later.ends_on) == (YEAR_START + 9 * DAY, None)


def test_an_unchanged_save_writes_nothing(csm, own_account, reports):
    entitlement = EntitlementFactory(account=own_account, product=reports, seats=50)
    services.entitlement_update(actor=csm, entitlement=entitlement, fields={"seats": 50})
    assert not AuditEvent.objects.exists()


def test_deleting_an_entitlement_is_audited_with_what_it_was(
    csm, own_account, reports, announced, django_capture_on_commit_callbacks
):
    entitlement = EntitlementFactory(account=own_account, product=reports, seats=50)
    pk = entitlement.pk
    with django_capture_on_commit_callbacks(execute=True):
        services.entitlement_delete(actor=csm, entitlement=entitlement)
    assert not Entitlement.objects.exists()
    audit = AuditEvent.objects.get()
    assert (audit.subject_id, audit.account, audit.action) == (pk, own_account, services.ENTITLEMENT_DELETED)
    assert audit.changes["seats"] == [50, None] and audit.changes["product"] == [reports.pk, None]
    assert [event.account_id for event in announced] == [own_account.pk]


# --- The panel on the Account 360 --------------------------------------------------------------------


def test_the_panel_lists_what_is_in_force_then_what_is_to_come_then_what_ended(
    client, other_csm, own_account, reports, mobile
):
    analytics = ProductFactory(key="analytics", name="Analytics")
    EntitlementFactory(account=own_account, product=reports, seats=None, starts_on=YEAR_START - 400 * DAY)
    ended = EntitlementFactory(
        account=own_account, product=analytics, seats=5, starts_on=YEAR_START - 400 * DAY, ends_on=TODAY - DAY
    )
    upcoming = EntitlementFactory(account=own_account, product=mobile, seats=1200, starts_on=TODAY + 30 * DAY)
    client.force_login(other_csm)
    response = client.get(detail(own_account))
    rows = response.context["entitlements"]
    assert [row.entitlement.product.name for row in rows] == ["Reports", "Mobile", "Analytics"]
    assert [(row.in_force, row.upcoming, row.ended) for row in rows] == [
        (True, False, False),
        (False, True, False),
        (False, False, True),
    ]
    page = response.content.decode()
    panel = page[page.index('id="products"') :]
    assert "In force" in panel and "Upcoming" in panel and "Ended" in panel
    assert "Not by seat" in panel and "1,200 seats" in panel and "5 seats" in panel
    assert "until further notice" in panel and f"{ended.ends_on:%b %Y}" in panel
    # Another team's CSM reads the panel but is offered no way to change it.
    assert reverse("entitlement-create", args=[own_account.pk]) not in page
    assert urls(own_account, upcoming)["edit"] not in page


def test_the_panel_says_so_when_no_product_is_recorded(client, csm, own_account):
    client.force_login(csm)
    page = client.get(detail(own_account)).content.decode()
    assert 'id="no-entitlements"' in page
    assert reverse("entitlement-create", args=[own_account.pk]) in page


def test_whoever_may_change_the_account_gets_the_actions_and_an_ended_one_offers_no_end(
    client, csm, own_account, reports, mobile
):
    held = EntitlementFactory(account=own_account, product=reports)
    gone = EntitlementFactory(
        account=own_account, product=mobile, starts_on=YEAR_START - 400 * DAY, ends_on=TODAY - DAY
    )
    client.force_login(csm)
    page = client.get(detail(own_account)).content.decode()
    for name, url in urls(own_account, held).items():
        assert url in page, name
    assert urls(own_account, gone)["end"] not in page
    assert urls(own_account, gone)["edit"] in page and urls(own_account, gone)["delete"] in page


# --- The pages behind it, and who may use them ---------------------------------------------------


@pytest.mark.parametrize(
    ("who", "account", "allowed"),
    [
        ("csm", "own_account", True),
        ("csm", "pool_account", True),
        ("csm", "teammate_account", False),
        ("other_csm", "own_account", False),
        ("manager", "teammate_account", True),
        ("other_manager", "own_account", False),
        ("admin", "other_team_account", True),
    ],
)
def test_only_those_who_may_change_the_account_add_its_products(client, request, reports, who, account, allowed):
    user, account = request.getfixturevalue(who), request.getfixturevalue(account)
    client.force_login(user)
    url = reverse("entitlement-create", args=[account.pk])
    assert client.get(url).status_code == (200 if allowed else 403)
    response = client.post(url, form(reports))
    if allowed:
        assert response.status_code == 302 and response["Location"] == detail(account) + "#products"
        assert Entitlement.objects.get().account == account
    else:
        assert response.status_code == 403 and not Entitlement.objects.exists()


def test_someone_signed_out_is_sent_to_log_in(client, own_account, reports):
    entitlement = EntitlementFactory(account=own_account, product=reports)
    for url in [reverse("entitlement-create", args=[own_account.pk]), *urls(own_account, entitlement).values()]:
        response = client.post(url, form(reports))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert Entitlement.objects.count() == 1


@pytest.mark.parametrize("who", ["other_csm", "other_manager", "teammate"])
def test_someone_who_may_not_change_the_account_cannot_edit_end_or_delete(client, request, own_account, reports, who):
    entitlement = EntitlementFactory(account=own_account, product=reports, seats=50)
    client.force_login(request.getfixturevalue(who))
    links = urls(own_account, entitlement)
    assert client.post(links["edit"], form(reports, seats="1")).status_code == 403
    assert client.post(links["end"], {"ends_on": TODAY.isoformat()}).status_code == 403
    assert client.post(links["delete"]).status_code == 403
    entitlement.refresh_from_db()
    assert (entitlement.seats, entitlement.ends_on) == (50, None)


def test_the_add_form_starts_today_and_keeps_what_was_typed_when_refused(client, csm, own_account, reports):
    EntitlementFactory(account=own_account, product=reports, starts_on=YEAR_START)
    client.force_login(csm)
    url = reverse("entitlement-create", args=[own_account.pk])
    assert client.get(url).context["form"]["starts_on"].value() == TODAY
    response = client.post(url, form(reports, starts_on=(TODAY + DAY).isoformat(), seats="75"))
    assert response.status_code == 422
    page = response.content.decode()
    assert "Overlaps Reports" in page and 'value="75"' in page
    assert Entitlement.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"seats": "0"}, "At least 1 seat"),
        ({"seats": "many"}, "Enter a whole number."),
        ({"starts_on": "31/03/2025"}, "Use a date like 2025-03-31."),
        ({"starts_on": ""}, "This field is required."),
        ({"ends_on": (YEAR_START - DAY).isoformat()}, "It cannot end before it starts"),
        ({"product": "999999"}, "That product is not in the catalogue"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(client, csm, own_account, reports, overrides, message):
    client.force_login(csm)
    response = client.post(reverse("entitlement-create", args=[own_account.pk]), form(reports, **overrides))
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Entitlement.objects.exists()


def test_the_owner_changes_seats_and_dates(client, csm, own_account, reports, mobile):
    entitlement = EntitlementFactory(account=own_account, product=reports, seats=50)
    client.force_login(csm)
    edit = urls(own_account, entitlement)["edit"]
    assert client.get(edit).context["form"].initial["seats"] == 50
    response = client.post(edit, form(mobile, seats="80", ends_on=(TODAY + 90 * DAY).isoformat()))
    assert response.status_code == 302
    entitlement.refresh_from_db()
    assert (entitlement.product, entitlement.seats, entitlement.ends_on) == (mobile, 80, TODAY + 90 * DAY)
    assert AuditEvent.objects.get().changes == {
        "product": [reports.pk, mobile.pk],
        "seats": [50, 80],
        "ends_on": [None, (TODAY + 90 * DAY).isoformat()],
    }


def test_ending_keeps_the_entitlement_in_the_history(client, manager, teammate_account, reports):
    entitlement = EntitlementFactory(account=teammate_account, product=reports, starts_on=YEAR_START - 400 * DAY)
    client.force_login(manager)
    end = urls(teammate_account, entitlement)["end"]
    assert client.get(end).context["form"]["ends_on"].value() == TODAY
    response = client.post(end, {"ends_on": (TODAY - DAY).isoformat()})
    assert response.status_code == 302
    entitlement.refresh_from_db()
    assert entitlement.ends_on == TODAY - DAY
    assert AuditEvent.objects.get().changes == {"ends_on": [None, (TODAY - DAY).isoformat()]}


def test_an_end_before_the_start_is_refused_on_the_end_page(client, csm, own_account, reports):
    entitlement = EntitlementFactory(account=own_account, product=reports, starts_on=YEAR_START)
    client.force_login(csm)
    response = client.post(urls(own_account, entitlement)["end"], {"ends_on": (YEAR_START - DAY).isoformat()})
    assert response.status_code == 422
    page = response.content.decode()
    assert "It cannot end before it starts" in page and "until further notice" in page
    entitlement.refresh_from_db()
    assert entitlement.ends_on is None


def test_deleting_asks_first_and_suggests_ending_instead(client, admin, other_team_account, reports):
    entitlement = EntitlementFactory(account=other_team_account, product=reports)
    client.force_login(admin)
    delete = urls(other_team_account, entitlement)["delete"]
    page = client.get(delete).content.decode()
    assert "recorded by mistake" in page and urls(other_team_account, entitlement)["end"] in page
    assert Entitlement.objects.exists()
    response = client.post(delete)
    assert response.status_code == 302 and not Entitlement.objects.exists()


def test_an_entitlement_of_another_account_is_not_found_through_this_one(
    client, csm, own_account, pool_account, reports
):
    other = EntitlementFactory(account=pool_account, product=reports)
    client.force_login(csm)
    for url in urls(own_account, other).values():
        assert client.get(url).status_code == 404
