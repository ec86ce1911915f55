"""An incoming CSM reviews three accounts' introduction emails on one page, edits one, and sends them together."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.tests.factories import AccountFactory, ContactFactory
from tests.support import login, screenshot
from transitions import services
from transitions.models import OutboundEmail, OutboundEmailStatus, TaskStatus, TransitionReason, TransitionTask
from transitions.tests.conftest import ensure_default_playbooks
from users.tests.factories import CSMFactory, ManagerFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PEOPLE = {
    "Acme Robotics": [("Dana", "Diaz", "champion"), ("Lee", "Park", "decision_maker"), ("Ola", "Berg", "user")],
    "Birch Health": [("Maya", "Chen", "champion"), ("Ravi", "Patel", "decision_maker")],
    "Cedar Logistics": [("Ines", "Costa", "champion"), ("Noor", "Haddad", "user")],
}


def test_an_incoming_csm_reviews_edits_and_sends_three_introduction_emails_at_once(page, live_server):
    playbook = ensure_default_playbooks()
    team = TeamFactory(name="Mid-market")
    manager = ManagerFactory(username="tom", first_name="Tom", last_name="Tanaka", team=team)
    alex = CSMFactory(username="alex", first_name="Alex", last_name="Archer", team=team)
    sam = CSMFactory(username="sam", first_name="Sam", last_name="Sato", team=team)
    accounts = {}
    for name, people in PEOPLE.items():
        account = AccountFactory(name=name, owner=alex)
        for first, last, role in people:
            ContactFactory(
                account=account,
                first_name=first,
                last_name=last,
                email=f"{first.lower()}@{account.domain}",
                deal_role=role,
            )
        accounts[name] = account
    today = timezone.localdate()
    bulk = services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, sam.pk) for a in accounts.values()],
        playbook=playbook,
        reason=TransitionReason.PROMOTION,
        start_date=today,
        target_date=today + timezone.timedelta(days=14),
    )
    services.bulk_handover_run(bulk_id=bulk.pk)

    # Sam opens the bulk handover and is offered the introduction emails of its accounts.
    login(page, live_server, "sam")
    page.goto(f"{live_server.url}/transitions/bulk/{bulk.pk}/")
    expect(page.locator("#intro-emails-offer")).to_contain_text("3 introduction emails")
    page.click("#intro-emails-offer a")

    # Each account's email is written for it; the champion and the decision maker are chosen.
    sections = page.locator("section.intro-email")
    expect(sections).to_have_count(3)
    acme, birch, cedar = (page.locator(f"section[data-account='{name}']") for name in PEOPLE)
    expect(acme.locator("textarea.intro-body")).to_contain_text("handing over the Acme Robotics account to Sam Sato")
    expect(acme.locator("[data-preview]")).to_contain_text("Hi Dana,")
    expect(acme.locator("input[type=checkbox][name^=to-]:checked")).to_have_count(2)
    expect(cedar.locator("input[type=checkbox][name^=to-]:checked")).to_have_count(1)  # the champion only
    expect(birch.locator("[data-preview]")).to_contain_text("Hi Maya,")
    expect(page.locator("#send-emails")).to_have_text("Send 3 emails")
    screenshot(page, "intro-emails-1-review")

    # Sam makes Birch's email their own, and writes to Cedar's user too.
    birch.locator("textarea.intro-body").fill(
        "Hi {contact_first_name},\n\nAlex has told me all about the Birch Health rollout in the clinics. "
        "I'm taking over as your customer success manager and would love to keep it on track.\n\n"
        "Could we talk on Thursday?\n\nSam"
    )
    expect(birch.locator("[data-preview]")).to_contain_text(
        "Hi Maya,\n\nAlex has told me all about the Birch Health rollout"
    )
    cedar.locator("label:has-text('Noor Haddad')").click()
    # Unticking an account leaves it for later and the button follows; ticked again, it goes too.
    cedar.locator(".intro-toggle").uncheck()
    expect(page.locator("#send-emails")).to_have_text("Send 2 emails")
    cedar.locator(".intro-toggle").check()
    expect(page.locator("#send-emails")).to_have_text("Send 3 emails")
    screenshot(page, "intro-emails-2-edited")

    page.click("#send-emails")
    expect(page.locator(".alert-success")).to_contain_text("6 introduction email(s) to 3 account(s) in the outbox")
    screenshot(page, "intro-emails-3-sent")

    # Each email went to its own people, personalised; the steps are done and the emails show as sent.
    sent = OutboundEmail.objects.select_related("account", "contact")
    assert sent.count() == 6
    assert {e.status for e in sent} == {OutboundEmailStatus.SENT}
    birch_bodies = sorted(e.body for e in sent if e.account.name == "Birch Health")
    assert birch_bodies[0].startswith("Hi Maya,") and "Birch Health rollout" in birch_bodies[0]
    assert birch_bodies[1].startswith("Hi Ravi,")
    assert {e.contact.first_name for e in sent if e.account.name == "Cedar Logistics"} == {"Ines", "Noor"}
    acme_email = next(e for e in sent if e.contact.first_name == "Dana")
    assert "Alex Archer is handing over the Acme Robotics account to Sam Sato" in acme_email.body
    assert not TransitionTask.objects.exclude(email_body="").filter(status=TaskStatus.OPEN).exists()

    transition = TransitionTask.objects.get(transition__account=accounts["Birch Health"], position=1).transition
    page.goto(f"{live_server.url}/transitions/{transition.pk}/")
    expect(page.locator(".email-status[data-status=sent]")).to_have_count(2)
    screenshot(page, "intro-emails-4-recorded")
