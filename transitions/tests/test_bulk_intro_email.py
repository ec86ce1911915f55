"""The incoming CSM sends several accounts' introduction emails in one step, each personalised and reviewed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import AuditAction, AuditEvent, Contact, DealRole, TimelineKind
from accounts.tests.factories import AccountFactory, ContactFactory
from transitions import emails, services
from transitions.models import OutboundEmail, OutboundEmailStatus, TaskStatus, TransitionReason, TransitionTask
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db

URL = reverse("intro-emails")


def hand_over(manager, outgoing, incoming, names, dates, playbook):
    """A bulk handover of `names` to the incoming CSM; each account has a champion, a decision maker and a user."""
    accounts = []
    for name in names:
        account = AccountFactory(name=name, owner=outgoing)
        first = name.split()[0]
        ContactFactory(account=account, first_name=f"{first}champ", last_name="A", deal_role=DealRole.CHAMPION)
        ContactFactory(account=account, first_name=f"{first}boss", last_name="B", deal_role=DealRole.DECISION_MAKER)
        ContactFactory(account=account, first_name=f"{first}user", last_name="C", deal_role=DealRole.USER)
        accounts.append(account)
    services.transition_bulk_start(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in accounts],
        playbook=playbook,
        reason=TransitionReason.REORG,
        **dates,
    )
    return accounts


def intro_steps(accounts):
    return list(
        TransitionTask.objects.filter(transition__account__in=accounts)
        .exclude(email_body="")
        .order_by("transition__account__name")
    )


def form_data(steps, *, send=None, edits=None):
    """What the review page posts: every shown step, the ticked ones, each one's recipients, subject and body."""
    data = {"shown": [s.pk for s in steps], "send": [s.pk for s in (steps if send is None else send)]}
    for step in steps:
        contacts = Contact.objects.filter(
            account=step.transition.account, deal_role__in=[DealRole.CHAMPION, DealRole.DECISION_MAKER]
        )
        data[f"to-{step.pk}"] = [c.pk for c in contacts]
        data[f"subject-{step.pk}"] = "A new customer success manager for {account}".replace(
            "{account}", step.transition.account.name
        )
        data[f"body-{step.pk}"] = (
            "Hi {contact_first_name},\n\n" + f"Sam Sato takes over {step.transition.account.name} from Alex Archer."
        )
    data.update(edits or {})
    return data


@pytest.fixture
def book(manager, outgoing, incoming, dates, playbook):
    return hand_over(manager, outgoing, incoming, ["Acme Robotics", "Birch Health", "Cedar Logistics"], dates, playbook)


def test_the_review_page_shows_each_accounts_email_written_for_it(client, incoming, book):
    client.force_login(incoming)

    response = client.get(URL)

    page = response.content.decode()
    assert response.status_code == 200
    for step, name in zip(intro_steps(book), ["Acme", "Birch", "Cedar"], strict=True):
        section = page.split(f'id="intro-{step.pk}"', 1)[1].split("</section>", 1)[0]
        # The account and the CSMs are written in, the first name is left for each recipient.
        assert f"handing over the {step.transition.account.name} account to Sam Sato" in section
        assert "Alex Archer is handing over" in section and "{contact_first_name}" in section
        # The champion and the decision maker are chosen; the plain user is offered, not chosen.
        assert section.count(" checked>") == 3  # the send switch and two recipients
        assert f"{name}user C" in section
        assert f"As {name}champ A will read it" in section and f"Hi {name}champ," in section
    assert "Send <span data-count>3</span> emails" in page


def test_sending_puts_each_accounts_emails_in_the_outbox_personalised_and_completes_the_steps(
    client, incoming, book, django_capture_on_commit_callbacks
):
    steps = intro_steps(book)
    client.force_login(incoming)
    edited = "Hi {contact_first_name},\n\nBirch is special: Sam will call you on Monday."

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(URL, form_data(steps, edits={f"body-{steps[1].pk}": edited}))

    assert response.status_code == 302 and response.url == reverse("my-transition-tasks")
    emails_sent = OutboundEmail.objects.order_by("account__name", "to_email")
    assert emails_sent.count() == 6  # two recipients per account
    birch = [e for e in emails_sent if e.account == book[1]]
    assert {e.body for e in birch} == {
        "Hi Birchchamp,\n\nBirch is special: Sam will call you on Monday.",
        "Hi Birchboss,\n\nBirch is special: Sam will call you on Monday.",
    }
    acme = next(e for e in emails_sent if e.account == book[0] and e.contact.first_name == "Acmechamp")
    assert acme.body == "Hi Acmechamp,\n\nSam Sato takes over Acme Robotics from Alex Archer."
    assert acme.subject == "A new customer success manager for Acme Robotics"
    assert all(e.task_id and e.created_by == incoming for e in emails_sent)
    # Recorded like a single send: sent after the commit, on the timeline as a touchpoint, the step done.
    assert {e.status for e in emails_sent} == {OutboundEmailStatus.SENT}
    assert len(mail.outbox) == 6
    for account, step in zip(book, steps, strict=True):
        step.refresh_from_db()
        assert (step.status, step.completed_by) == (TaskStatus.DONE, incoming)
        assert account.timeline.filter(kind=TimelineKind.TOUCHPOINT).count() == 2
        assert account.timeline.filter(event="transition_step", summary__contains=step.title).exists()
        audit = AuditEvent.objects.get(subject_type="transition", subject_id=step.transition_id, actor=incoming)
        assert audit.action == AuditAction.TRANSITION_CHANGED
        assert audit.changes == {f"step 1 ({step.title})": ["open", "done"]}
        assert "one of 3 reviewed and sent at once" in audit.reason


def test_an_unticked_account_is_left_for_later(client, incoming, book):
    steps = intro_steps(book)
    client.force_login(incoming)

    client.post(URL, form_data(steps, send=steps[:2]))

    assert set(OutboundEmail.objects.values_list("account", flat=True)) == {book[0].pk, book[1].pk}
    steps[2].refresh_from_db()
    assert steps[2].status == TaskStatus.OPEN
    assert 'id="intro-' + str(steps[2].pk) + '"' in client.get(URL).content.decode()


def test_a_bad_address_or_an_empty_body_sends_nothing_and_the_page_says_which_and_keeps_the_text(
    client, incoming, book
):
    steps = intro_steps(book)
    champion = Contact.objects.get(account=book[0], deal_role=DealRole.CHAMPION)
    Contact.objects.filter(pk=champion.pk).update(email="acme-champion-at-nowhere")
    client.force_login(incoming)
    kept = "Hi {contact_first_name}, Birch text as typed."

    response = client.post(URL, form_data(steps, edits={f"body-{steps[2].pk}": "  ", f"body-{steps[1].pk}": kept}))

    page = response.content.decode()
    assert response.status_code == 422
    assert "Nothing was sent: 2 email(s) need a correction." in page
    acme = page.split(f'id="intro-{steps[0].pk}"', 1)[1].split("</section>", 1)[0]
    cedar = page.split(f'id="intro-{steps[2].pk}"', 1)[1].split("</section>", 1)[0]
    birch = page.split(f'id="intro-{steps[1].pk}"', 1)[1].split("</section>", 1)[0]
    assert "“acme-champion-at-nowhere” is not a valid email address" in acme
    assert "the body is empty" in cedar
    assert "data-errors" not in birch and kept in birch
    assert not OutboundEmail.objects.exists()
    assert not TransitionTask.objects.filter(pk__in=[s.pk for s in steps], status=TaskStatus.DONE).exists()
    assert not mail.outbox


def test_nothing_ticked_or_a_bad_placeholder_is_refused_too(client, incoming, book):
    steps = intro_steps(book)
    client.force_login(incoming)

    assert client.post(URL, form_data(steps, send=[])).status_code == 422
    typo = client.post(URL, form_data(steps, edits={f"subject-{steps[0].pk}": "Hello {first_name}"}))
    assert typo.status_code == 422 and "Unknown placeholder {first_name}" in typo.content.decode()
    assert not OutboundEmail.objects.exists()


def test_only_the_csm_the_steps_are_assigned_to_or_their_manager_may_review_and_send(
    client, incoming, outgoing, manager, book
):
    steps = intro_steps(book)
    picked = "?" + "&".join(f"task={s.pk}" for s in steps)

    for stranger in (outgoing, CSMFactory(username="zoe")):
        client.force_login(stranger)
        assert client.get(URL + picked).status_code == 403
        assert client.post(URL, form_data(steps)).status_code == 403
        # Their own list holds none of them.
        assert "No introduction email is waiting for you" in client.get(URL).content.decode()
    assert not OutboundEmail.objects.exists()

    client.force_login(manager)
    assert client.get(URL + picked).status_code == 200
    assert client.post(URL, form_data(steps, send=steps[:1])).status_code == 302
    assert OutboundEmail.objects.filter(created_by=manager).count() == 2


def test_the_service_refuses_someone_elses_step_whole(outgoing, incoming, book):
    steps = intro_steps(book)
    draft = services.IntroEmailDraft(task_id=steps[0].pk, contact_ids=(), subject="s", body="b")

    with pytest.raises(PermissionDenied, match="someone else's to send"):
        services.intro_emails_send(actor=outgoing, drafts=[draft])
    assert not OutboundEmail.objects.exists()


def test_the_review_page_and_the_send_run_fixed_queries_whatever_the_number_of_accounts(
    client, manager, outgoing, incoming, dates, playbook, django_assert_num_queries
):
    few = hand_over(manager, outgoing, incoming, ["Acme Robotics", "Birch Health"], dates, playbook)
    client.force_login(incoming)
    client.get(URL)  # the session and content types are cached after the first request

    with django_assert_num_queries(REVIEW_QUERIES):
        client.get(URL)
    more = hand_over(manager, outgoing, incoming, [f"Zeta {n}" for n in range(4)], dates, playbook)
    with django_assert_num_queries(REVIEW_QUERIES):
        response = client.get(URL)
    assert len(response.context["rows"]) == 6

    two, four = form_data(intro_steps(few)), form_data(intro_steps(more))
    with django_assert_num_queries(SEND_QUERIES):
        assert client.post(URL, two).status_code == 302
    with django_assert_num_queries(SEND_QUERIES):
        assert client.post(URL, four).status_code == 302
    assert OutboundEmail.objects.count() == 12


# session, user, the steps, their accounts' contacts, and the page frame's bell count and team
REVIEW_QUERIES = 6
# session, user; the steps and contacts the page is redrawn from if need be; the service: savepoint, the runs,
# their lock, the steps, the contacts, the outbox, steps done, runs started, timeline, audit, runs it finished, release
SEND_QUERIES = 16


def test_my_tasks_offers_the_review_page(client, incoming, book):
    client.force_login(incoming)

    page = client.get(reverse("my-transition-tasks")).content.decode()

    assert f'href="{URL}"' in page and "3 customer emails" in page


def test_a_bulk_handover_offers_its_incoming_csm_the_review_page_for_its_accounts(
    client, manager, outgoing, incoming, dates, playbook
):
    accounts = [AccountFactory(owner=outgoing) for _ in range(2)]
    bulk = services.bulk_handover_create(
        actor=manager,
        assignments=[(a.pk, incoming.pk) for a in accounts],
        playbook=playbook,
        reason=TransitionReason.REORG,
        **dates,
    )
    services.bulk_handover_run(bulk_id=bulk.pk)
    client.force_login(incoming)

    page = client.get(reverse("bulk-handover-detail", args=[bulk.pk])).content.decode()
    assert f"{URL}?bulk={bulk.pk}" in page and "2 introduction emails" in page
    review = client.get(URL, {"bulk": bulk.pk})
    assert len(review.context["rows"]) == 2


def test_prefill_writes_in_everything_but_the_first_name_and_keeps_literal_braces():
    context = emails.EmailContext(
        contact_first_name="", account="Acme", outgoing_csm="Alex", incoming_csm="Sam", call_date=None
    )

    text = emails.prefill("Hi {contact_first_name}, {incoming_csm} takes {account} {{literally}}.", context)

    assert text == "Hi {contact_first_name}, Sam takes Acme {{literally}}."
    final = emails.EmailContext(
        contact_first_name="Dana", account="x", outgoing_csm="x", incoming_csm="x", call_date=None
    )
    assert emails.render(text, final) == "Hi Dana, Sam takes Acme {literally}."
