"""The seed story in Chromium: a manager hands a CSM's 40 accounts to three colleagues, one handover runs to the end."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts.models import Account, DealRole
from accounts.tests.factories import AccountFactory, ContactFactory
from tests.support import login, screenshot
from transitions.models import OutboundEmail, Transition, TransitionStatus
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def company(playbook):
    team = TeamFactory(name="SMB")
    manager = ManagerFactory(username="tom", first_name="Tom", last_name="Tanaka", team=team)
    alex = CSMFactory(username="alex", first_name="Alex", last_name="Archer", team=team)
    incoming = [
        CSMFactory(username=name.lower(), first_name=name, last_name="Lee", team=team)
        for name in ("Sam", "Priya", "Jonas")
    ]
    book = [AccountFactory(name=f"Customer {i:02d}", owner=alex, arr=Decimal(10_000 + 2_500 * i)) for i in range(40)]
    AccountFactory(name="Not Alex's", owner=incoming[0])
    ContactFactory(
        account=book[39],
        first_name="Dana",
        last_name="Diaz",
        email="dana@customer.example",
        deal_role=DealRole.CHAMPION,
    )
    return manager, alex, incoming, book


def test_a_manager_splits_a_book_and_an_incoming_csm_completes_one_handover_with_its_email(page, live_server, company):
    manager, alex, incoming, book = company
    biggest = book[39]

    # The manager picks Alex's book and splits it across three CSMs by ARR.
    login(page, live_server, "tom")
    page.click("nav >> text=Handovers")
    page.click("text=Hand over a book")
    page.select_option("#bulk-filter select[name=owner]", str(alex.pk))
    page.click("#bulk-filter button:has-text('Select accounts')")
    expect(page.locator("#selected-count")).to_have_text("40")
    for person in incoming:
        page.check(f"#bulk-settings input[name=incoming][value='{person.pk}']")
    page.check("#bulk-settings input[name=strategy][value=arr]")
    page.select_option("#bulk-settings select[name=reason]", "promotion")
    screenshot(page, "handover-1-select")
    page.click("#preview-split")
    expect(page.locator("#split-table tbody tr")).to_have_count(40)
    totals = page.locator("#split-totals tbody tr")
    expect(totals).to_have_count(3)
    screenshot(page, "handover-2-preview")
    arr_per_csm = [int(totals.nth(i).locator(".js-arr").inner_text().replace(",", "")) for i in range(3)]
    assert max(arr_per_csm) - min(arr_per_csm) <= 12_500, arr_per_csm  # balanced within about one account

    page.click("#start-all")
    expect(page.locator("#board-table [data-transition]")).to_have_count(40)
    screenshot(page, "handover-3-board")
    assert Transition.objects.filter(status=TransitionStatus.IN_PROGRESS).count() == 40
    transition = Transition.objects.select_related("to_csm").get(account=biggest)
    new_owner = transition.to_csm

    # Alex does the outgoing steps of the biggest account.
    page.context.clear_cookies()
    login(page, live_server, "alex")
    page.goto(f"{live_server.url}/transitions/{transition.pk}/")
    for _ in range(4):
        page.click("#tasks button:has-text('Mark done')")
        expect(page.locator(".alert-success")).to_be_visible()

    # The incoming CSM writes and sends the customer email, then finishes the handover.
    page.context.clear_cookies()
    login(page, live_server, new_owner.username)
    page.goto(f"{live_server.url}/transitions/{transition.pk}/")
    page.click("text=Write the email")
    expect(page.locator("#email-previews")).to_contain_text("Hi Dana,")
    page.fill("#id_subject", "Customer 39: meet {incoming_csm}, your new CSM")
    page.fill(
        "#id_body",
        "Hi {contact_first_name},\n\nI'm taking over from {outgoing_csm}. Coffee on {call_date}?\n\n{incoming_csm}",
    )
    expect(page.locator("#email-previews")).to_contain_text("I'm taking over from Alex Archer")
    screenshot(page, "handover-4-email")
    page.click("#send-email")
    expect(page.locator(".email-status[data-status=sent]")).to_be_visible()
    email = OutboundEmail.objects.get()
    assert email.subject == f"Customer 39: meet {new_owner.get_full_name()}, your new CSM"
    assert email.body.startswith("Hi Dana,")
    while page.locator("#tasks button:has-text('Mark done')").count():
        page.locator("#tasks button:has-text('Mark done')").first.click()
        page.wait_for_load_state()
    # Customer 39's context is thin (one unverified contact, no plan, no note): the handover waits for the manager.
    expect(page.locator("#awaiting-confirmation")).to_contain_text("Needs a manager's confirmation")
    expect(page.locator("#complete-form")).to_have_count(0)
    screenshot(page, "handover-5-awaiting-confirmation")

    # The manager sees it awaiting confirmation on the board and confirms it, saying why.
    page.context.clear_cookies()
    login(page, live_server, "tom")
    page.goto(f"{live_server.url}/transitions/")
    page.locator(f"[data-transition='{transition.pk}'] [data-testid=awaiting-confirmation]").click()
    page.fill("#complete-form textarea[name=reason]", "Alex leaves on Friday; Sam fills the gaps in week one.")
    page.click("#complete-form button")
    expect(page.locator("#outcome")).to_contain_text(f"{new_owner.get_full_name()} now owns Customer 39")
    expect(page.locator("#confirmation")).to_contain_text("Sam fills the gaps in week one")
    screenshot(page, "handover-6-confirmed")

    # The manager's board shows it completed, and the account has its new owner.
    page.goto(f"{live_server.url}/transitions/?status=completed")
    row = page.locator(f"[data-transition='{transition.pk}']")
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("100%")
    page.goto(f"{live_server.url}/accounts/{biggest.pk}/")
    expect(page.locator("body")).to_contain_text(new_owner.get_full_name())
    assert Account.objects.get(pk=biggest.pk).owner == new_owner
