"""The Account 360's forms that are closed when it loads: each is fetched when its tab opens.

The touchpoint form answers a GET of the URL it posts to: htmx gets the form alone, to put in the tab;
a browser without script follows the tab's link to a page with the form. The pulse tab fetches the
pulse view's partial the same way, and so does the outcome form when "Record outcome" opens its disclosure.
Sending any of them behaves as it always did (test_timeline_forms, test_outcomes_panel).
"""

import pytest
from django.urls import reverse

from accounts.tests.factories import ContactFactory, OutcomeFactory
from accounts.tests.volumes import SIZES, build_outcomes

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
    assert f'<a href="{outcome_url(own_account)}" class="small">Record an outcome</a>' in page


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


def outcome_url(account) -> str:
    return reverse("outcome-add", args=[account.pk])


def as_fetched(client, account, **changes: str) -> dict[str, str]:
    """What the fetched outcome form sends as it comes (prefilled from the account), with `changes` typed in."""
    blank = client.get(outcome_url(account), **HTMX).context["outcome_form"]
    data = {f"oc-{name}": "" if value is None else str(value) for name, value in blank.initial.items()}
    data.update({f"oc-{name}": value for name, value in changes.items()})
    return data


def test_the_360_renders_none_of_the_outcome_form_until_record_outcome_is_pressed(client, csm, own_account):
    client.force_login(csm)
    response = client.get(reverse("account-detail", args=[own_account.pk]))
    page = response.content.decode()
    assert response.context["outcome_form"] is None
    assert 'id="outcome-form"' not in page and 'name="oc-' not in page
    # The button and the closed disclosure stay; opening it is what fetches the form, once.
    assert "Record outcome</button>" in page and 'id="outcome-form-box"' in page
    assert 'hx-trigger="show.bs.collapse from:#outcome-form-box once"' in page


def test_opening_record_outcome_fetches_the_blank_form_alone(client, csm, own_account, django_assert_num_queries):
    earlier = OutcomeFactory(account=own_account)
    client.force_login(csm)
    # session, user, the account; its outcomes, offered for correcting
    with django_assert_num_queries(4):
        response = client.get(outcome_url(own_account), **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert fragment.lstrip().startswith('<form id="outcome-form"') and "<html" not in fragment
    # In the panel it posts by htmx, and the panel comes back in place.
    assert f'hx-post="{outcome_url(own_account)}" hx-target="#outcomes"' in fragment
    assert 'name="oc-arr_before"' in fragment and 'name="oc-corrects"' in fragment
    form = response.context["outcome_form"]
    assert not form.is_bound
    assert [value for value, _ in form.fields["corrects"].choices] == ["", earlier.pk]


@pytest.mark.parametrize("n", SIZES)
def test_the_outcome_form_query_count_does_not_grow_with_the_outcomes(
    client, csm, own_account, django_assert_num_queries, n
):
    build_outcomes(n, own_account, csm)
    client.force_login(csm)
    with django_assert_num_queries(4):
        response = client.get(outcome_url(own_account), **HTMX)
    # Every outcome not yet corrected can be corrected, and "none".
    assert len(response.context["outcome_form"].fields["corrects"].choices) == n + 1


def test_without_script_the_outcome_link_opens_a_page_with_the_form_that_posts_plainly(client, csm, own_account):
    client.force_login(csm)
    page = client.get(outcome_url(own_account)).content.decode()
    assert "<html" in page and 'id="outcome-form"' in page and "<h1>Record an outcome</h1>" in page
    assert f'action="{outcome_url(own_account)}"' in page
    # No panel to swap on this page: the form posts plainly and lands back on the 360.
    assert "hx-post" not in page.split('id="outcome-form"')[1].split("</form>")[0]
    assert f'href="{reverse("account-detail", args=[own_account.pk])}"' in page


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
@pytest.mark.parametrize("role", ["other_csm", "other_manager"])
def test_the_outcome_form_is_not_shown_to_someone_who_cannot_change_the_account(
    client, request, own_account, headers, role
):
    client.force_login(request.getfixturevalue(role))
    # The same answer as their POST gets (test_outcomes_panel).
    assert client.get(outcome_url(own_account), **headers).status_code == 403


def test_someone_who_cannot_change_the_account_has_no_record_outcome(client, other_csm, own_account):
    client.force_login(other_csm)
    page = client.get(reverse("account-detail", args=[own_account.pk])).content.decode()
    assert "Record outcome" not in page and outcome_url(own_account) not in page


def test_a_stranger_asking_for_the_outcome_form_is_sent_to_sign_in(client, own_account):
    response = client.get(outcome_url(own_account))
    assert response.status_code == 302 and reverse("login") in response.url


def test_a_missing_account_has_no_outcome_form(client, csm):
    client.force_login(csm)
    assert client.get(reverse("outcome-add", args=[98765]), **HTMX).status_code == 404


@pytest.mark.parametrize("headers", [HTMX, {}], ids=["htmx", "plain"])
def test_an_outcome_sent_back_with_errors_is_open_in_place_of_the_link(client, csm, own_account, headers):
    client.force_login(csm)
    data = as_fetched(client, own_account, kind="churned", occurred_on="2025-03-01", arr_after="0")
    response = client.post(outcome_url(own_account), data, **headers)
    assert response.status_code == 422
    page = response.content.decode()
    assert 'class="collapse show no-print" id="outcome-form-box"' in page
    assert 'id="outcome-form"' in page and "Say why the customer left." in page
    assert "Record an outcome</a>" not in page


def test_after_an_outcome_is_recorded_the_panel_holds_a_blank_form_closed(client, csm, own_account):
    client.force_login(csm)
    data = as_fetched(client, own_account, occurred_on="2025-03-01", arr_after="60000")
    response = client.post(outcome_url(own_account), data, **HTMX)
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Renewed recorded." in fragment and "→ 60,000" in fragment
    # Built from the outcomes as they are now, ready for the next one behind the same button.
    assert 'class="collapse no-print" id="outcome-form-box"' in fragment and 'id="outcome-form"' in fragment
    assert not response.context["outcome_form"].is_bound
    assert "Record an outcome</a>" not in fragment
