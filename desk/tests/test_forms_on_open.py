"""The Account 360's forms that are closed when it loads: each is fetched when its tab opens.

The touchpoint form answers a GET of the URL it posts to: htmx gets the form alone, to put in the tab;
a browser without script follows the tab's link to a page with the form. The pulse tab fetches the
pulse view's partial the same way. Sending either form behaves as it always did (test_timeline_forms).
"""

import pytest
from django.urls import reverse

from accounts.tests.factories import ContactFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def touchpoint_url(account) -> str:
    return reverse("touchpoint-add", args=[account.pk])


def test_opening_the_touchpoint_tab_fetches_the_blank_form_alone(client, csm, own_account, django_assert_num_queries):
    ContactFactory(account=own_account, first_name="Dana", last_name="Lee")
    ContactFactory(account=own_account, first_name="Gone", departed=True)
    client.force_login(csm)
    # session, user, the account; the current contacts, offered as participants
    with django_assert_num_queries(4):
        response = client.get(touchpoint_url(own_account), **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<form id="touchpoint-form"') and "<html" not in fragment
    assert f'hx-post="{touchpoint_url(own_account)}"' in fragment
    assert "Dana Lee" in fragment and "Gone" not in fragment
    assert not response.context["touchpoint_form"].is_bound


def test_the_touchpoint_query_count_does_not_grow_with_the_contacts(
    client, csm, own_account, django_assert_num_queries
):
    ContactFactory.create_batch(40, account=own_account)
    client.force_login(csm)
    with django_assert_num_queries(4):
        client.get(touchpoint_url(own_account), **HTMX)


def test_without_script_the_touchpoint_link_opens_a_page_with_the_form(client, csm, own_account):
    client.force_login(csm)
    page = client.get(touchpoint_url(own_account)).content.decode()
    assert "<html" in page and 'id="touchpoint-form"' in page and "<h1>Log a touchpoint</h1>" in page
    assert f'href="{reverse("account-detail", args=[own_account.pk])}"' in page


def test_the_360_links_each_closed_form_to_where_it_is_fetched(client, csm, own_account):
    client.force_login(csm)
    page = client.get(reverse("account-detail", args=[own_account.pk])).content.decode()
    # The link is what a browser without script follows; htmx swaps the form in its place.
    assert f'<a href="{touchpoint_url(own_account)}" class="small">Log a touchpoint</a>' in page
    assert f'<a href="{reverse("pulse", args=[own_account.pk])}" class="small">' in page


def test_the_pulse_tab_fetches_the_pulse_and_its_form(client, csm, own_account):
    client.force_login(csm)
    response = client.get(reverse("pulse", args=[own_account.pk]), **HTMX)
    fragment = response.content.decode()
    assert response.status_code == 200 and "<html" not in fragment
    assert 'id="pulse-current"' in fragment and 'id="pulse-form"' in fragment


def test_someone_who_cannot_change_the_account_reads_the_pulse_in_place(client, other_csm, own_account):
    client.force_login(other_csm)
    page = client.get(reverse("account-detail", args=[own_account.pk])).content.decode()
    assert 'id="pulse-current"' in page and 'id="pulse-form"' not in page and "form-on-open" not in page


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_the_touchpoint_form_is_not_shown_to_someone_who_cannot_change_the_account(
    client, other_csm, own_account, headers
):
    client.force_login(other_csm)
    assert client.get(touchpoint_url(own_account), **headers).status_code == 403


def test_a_stranger_is_sent_to_sign_in(client, own_account):
    response = client.get(touchpoint_url(own_account))
    assert response.status_code == 302 and reverse("login") in response.url


def test_a_missing_account_has_no_touchpoint_form(client, csm):
    client.force_login(csm)
    assert client.get(reverse("touchpoint-add", args=[98765]), **HTMX).status_code == 404


def test_a_touchpoint_sent_back_with_errors_is_on_the_page_in_place_of_the_link(client, csm, own_account):
    client.force_login(csm)
    response = client.post(touchpoint_url(own_account), {"tp-channel": "meeting", "tp-summary": ""})
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="touchpoint-form"' in page and "This field is required." in page
    assert "Log a touchpoint</a>" not in page
