"""Transitions' part of the demo company: a handover story in progress.

Sam is moving to another segment. Six days ago Maria handed about 40% of
Sam's book to Alex, Priya and Jonas in one bulk handover (target: eight days
from now). Since then two handovers have finished and the accounts changed
owner, one was cancelled, some are well along (the customer email went out)
and some are behind with overdue steps. In Mid-market, Tom has planned one
rebalancing handover from Sofia's big book that has not started yet.

Everything goes through the real services (bulk start, task completion, the
completion that flips the owner, cancellation), so the audit trail, timeline
and task rows are exactly what the product writes. A step marked done was
really done: the contacts verified, the org chart given a champion and a
decision maker, a success plan written, a context note, the call logged. The services stamp "now";
`_as_of` then moves what each step wrote to the moment it happened in the
story, so the dates on the board, the timeline and the audit trail agree.
Customer emails are put in the outbox already sent: nothing is queued and
nothing leaves the machine while seeding.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

from django.db.models import Max, Q

from accounts.demo import DemoCompany, Seeder, register_seeder
from accounts.models import (
    Account,
    AuditEvent,
    Channel,
    Contact,
    DealRole,
    Influence,
    Sentiment,
    Stage,
    TimelineEntry,
)
from accounts.services import contact_update, timeline_note_add, touchpoint_log
from plans.models import Objective, ObjectiveStatus, PlanStatus, SuccessPlan
from plans.services import objective_create, plan_create
from users.models import User

from . import emails, services
from .balancing import Candidate, Item, Strategy, split
from .models import (
    BulkHandover,
    BulkHandoverStatus,
    OutboundEmail,
    OutboundEmailStatus,
    Transition,
    TransitionReason,
    TransitionTask,
)
from .selectors import csm_loads

# Benchmark-sized companies skip the story: the benchmark times bulk starts itself.
STORY_MAX_ACCOUNTS = 5000
OUTGOING = "sam"
INCOMING = ("alex", "priya", "jonas")
MANAGER = "maria"
HANDOVER_SHARE = 0.4
STARTED_DAYS_AGO = 6
TARGET_IN_DAYS = 8
HANDOVER_NOTE = (
    "Sam moves to the Strategic segment at the end of the month. This first wave of "
    "Sam's book is split by ARR across Alex, Priya and Jonas; the rest follows later."
)

# How far each handover has got. The first fates are the ones the story cannot do
# without, so even a small demo shows a completed, a well-along and a late handover.
COMPLETED, WELL_ALONG, SLIPPING, BEHIND = (
    "completed",
    "well_along",
    "slipping",
    "behind",
)
FATES = [COMPLETED, WELL_ALONG, BEHIND, COMPLETED, SLIPPING, BEHIND, WELL_ALONG]
MORE_FATES = [SLIPPING, BEHIND, WELL_ALONG]
# Step position -> (days after the start, hour) it was done, per fate; missing steps are still open.
# Positions follow the default handover playbook: 1 notify (email), 2 verify contacts,
# 3 org chart, 4 success plan, 5 context note, 6 handover call, 7 confirm ownership.
PROGRESS = {
    COMPLETED: {
        1: (1, 9),
        2: (1, 14),
        3: (2, 11),
        4: (3, 10),
        5: (3, 16),
        6: (4, 15),
        7: (5, 10),
    },
    WELL_ALONG: {1: (1, 10), 2: (2, 9), 3: (3, 14), 4: (5, 11)},
    # The org chart was due yesterday and is still open.
    SLIPPING: {1: (1, 16), 2: (3, 10)},
    # Nobody has written to the customer yet: the email is five days late.
    BEHIND: {2: (4, 17)},
}
CANCELLED_AFTER = (1, 8)  # the morning after the start, before any email went out
PLANNED_IN_DAYS = 5
PLANNED_LENGTH_DAYS = 14


def _seed_handovers(company: DemoCompany) -> None:
    if company.size > STORY_MAX_ACCOUNTS:
        return
    rng = company.rng("handovers")
    users = company.users
    started = _bulk_handover_of_sams_book(company, rng)
    if started:
        _play_out(company, rng, started)
    _plan_midmarket_rebalancing(company, rng, users["tom"], users["sofia"])
    company.rows.update(
        {
            Transition._meta.label: Transition.objects.handovers().count(),
            OutboundEmail._meta.label: OutboundEmail.objects.count(),
        }
    )


# --- the bulk handover ------------------------------------------------------------------------------------------


def _moment(company: DemoCompany, start: dt.date, days: int, hour: int) -> dt.datetime:
    """A working hour `days` after `start`, never later than a minute ago."""
    minute = (17 * days + 7 * hour) % 60  # not everything on the hour
    at = dt.datetime.combine(start + dt.timedelta(days=days), dt.time(hour, minute), tzinfo=dt.UTC)
    return min(at, company.now - dt.timedelta(minutes=1))


@contextmanager
def _as_of(at: dt.datetime) -> Iterator[None]:
    """Run real services inside; afterwards, date everything they wrote to `at`.

    New audit and timeline rows are found by primary key; rows the services
    updated (tasks done, runs started, completed or cancelled) by a stamp
    later than the moment the block began.
    """
    from django.utils import timezone

    last = {model: model.objects.aggregate(last=Max("pk"))["last"] or 0 for model in (AuditEvent, TimelineEntry)}
    began = timezone.now()
    yield
    AuditEvent.objects.filter(pk__gt=last[AuditEvent]).update(created_at=at)
    TimelineEntry.objects.filter(pk__gt=last[TimelineEntry]).update(occurred_at=at, created_at=at)
    for model, stamp in RESTAMPED:
        model.objects.filter(**{f"{stamp}__gte": began}).update(**{stamp: at})


# Rows the services update or create with a "now" stamp, and which stamp.
RESTAMPED = [
    (TransitionTask, "completed_at"),
    (Transition, "created_at"),
    (Transition, "completed_at"),
    (Transition, "cancelled_at"),
    (BulkHandover, "created_at"),
    (BulkHandover, "finished_at"),
    (Account, "updated_at"),
    (Contact, "updated_at"),
    (SuccessPlan, "created_at"),
    (SuccessPlan, "updated_at"),
    (Objective, "created_at"),
    (Objective, "updated_at"),
]


def _bulk_handover_of_sams_book(company: DemoCompany, rng: random.Random) -> list[Transition]:
    """About 40% of Sam's live accounts, split by ARR across the three incoming CSMs, started in one bulk run."""
    users = company.users
    book = list(
        Account.objects.filter(owner=users[OUTGOING])
        .exclude(stage=Stage.CHURNED)
        .order_by("pk")
        .values_list("pk", "arr_reporting")
    )
    chosen = sorted(rng.sample(book, round(len(book) * HANDOVER_SHARE)))
    if not chosen:
        return []
    incoming = [users[name] for name in INCOMING]
    assignment = split(
        [Item(account_id=pk, arr=arr or Decimal(0)) for pk, arr in chosen],
        [Candidate(user_id=user.pk) for user in incoming],
        Strategy.ARR,
    )
    start = company.today - dt.timedelta(days=STARTED_DAYS_AGO)
    with _as_of(_moment(company, start, 0, 9)):
        bulk = services.bulk_handover_create(
            actor=users[MANAGER],
            assignments=list(assignment.items()),
            playbook=services.default_handover_playbook(),
            reason=TransitionReason.REORG,
            start_date=start,
            target_date=company.today + dt.timedelta(days=TARGET_IN_DAYS),
            note=HANDOVER_NOTE,
        )
        bulk = services.bulk_handover_run(bulk_id=bulk.pk)
    if bulk.status != BulkHandoverStatus.DONE:
        raise RuntimeError(f"The demo's bulk handover failed: {bulk.error}")
    return list(
        Transition.objects.filter(bulk=bulk).select_related("account", "from_csm", "to_csm").order_by("account_id")
    )


# --- how far each one got ---------------------------------------------------------------------------------------


def _play_out(company: DemoCompany, rng: random.Random, transitions: list[Transition]) -> None:
    manager = company.users[MANAGER]
    remaining = list(transitions)
    if len(remaining) >= 3:
        # The account renewing soonest: its champion wants no change of contact before signing.
        cancelled = min(remaining, key=lambda t: (t.account.renewal_date, t.pk))
        remaining.remove(cancelled)
        _cancel(company, cancelled, manager)
    fates = FATES + MORE_FATES * len(remaining)
    rng.shuffle(remaining)
    contacts = _email_contacts([t.account_id for t in remaining])
    for transition, fate in zip(remaining, fates, strict=False):
        tasks = {task.position: task for task in transition.tasks.order_by("position")}
        for position, (days, hour) in sorted(PROGRESS[fate].items(), key=lambda item: item[1]):
            task = tasks[position]
            at = _moment(company, transition.start_date, days, hour)
            actor = _assignee(task, manager)
            with _as_of(at):
                if task.has_email:
                    _send_email(transition, task, actor, contacts.get(transition.account_id), at)
                elif position in STEP_WORK:
                    STEP_WORK[position](transition, actor, at, rng)
                services.task_complete(actor=actor, task=task)


def _assignee(task: TransitionTask, manager: User) -> User:
    return task.assignee if task.assignee_id else manager


def _cancel(company: DemoCompany, transition: Transition, manager: User) -> None:
    account = transition.account
    with _as_of(_moment(company, transition.start_date, *CANCELLED_AFTER)):
        services.transition_cancel(
            actor=manager,
            transition=transition,
            reason=(
                f"{account.name} renews on {account.renewal_date:%d %b %Y} and their champion asked "
                "for no change of contact before signing. Sam keeps the account through the renewal; "
                "we hand it over in the second wave."
            ),
        )


def _email_contacts(account_ids: list[int]) -> dict[int, list[Contact]]:
    """Who hears about the change first: the champion and the decision maker, else the first current contact."""
    found: dict[int, list[Contact]] = {}
    for contact in (
        Contact.objects.filter(account_id__in=account_ids, departed=False)
        .exclude(email="")
        .order_by("account_id", "pk")
    ):
        found.setdefault(contact.account_id, []).append(contact)
    key_people = (DealRole.CHAMPION, DealRole.DECISION_MAKER)
    return {
        account_id: [c for c in people if c.deal_role in key_people] or people[:1]
        for account_id, people in found.items()
    }


def _send_email(
    transition: Transition,
    task: TransitionTask,
    sender: User,
    contacts: list[Contact] | None,
    at: dt.datetime,
) -> None:
    """What `task_email_send` and the email's delivery leave on the outbox row, minus the sending.

    The email is rendered from the step's template as the task page does, put
    in the outbox as sent, and logged as a touchpoint as `outbound_email_mark_sent` logs it.
    """
    if not contacts:
        return
    task.transition = transition
    call = dt.datetime.combine(transition.start_date + dt.timedelta(days=10), dt.time(15, 0), tzinfo=dt.UTC)
    sent = []
    for contact in contacts:
        context = services.email_context(task, contact, call)
        sent.append(
            OutboundEmail(
                account_id=transition.account_id,
                task=task,
                contact=contact,
                to_email=contact.email,
                subject=emails.render(task.email_subject, context, field="subject")[:200],
                body=emails.render(task.email_body, context, field="body"),
                status=OutboundEmailStatus.SENT,
                attempts=1,
                created_by=sender,
                created_at=at,
                sent_at=at,
            )
        )
    OutboundEmail.objects.bulk_create(sent)
    for email in sent:
        touchpoint_log(
            actor=sender,
            account=transition.account,
            channel=Channel.EMAIL,
            occurred_at=at,
            summary=f"Email sent: {email.subject}"[:200],
            body=email.body,
            participants=[email.contact],
        )


# --- doing the steps, so what the task list says matches the account ------------------------------------------


def _current_contacts(account: Account) -> list[Contact]:
    return list(account.contacts.filter(departed=False).order_by("pk"))


def _verify_contacts(transition: Transition, actor: User, at: dt.datetime, rng: random.Random) -> None:
    for contact in _current_contacts(transition.account):
        contact_update(actor=actor, contact=contact, fields={"last_verified_at": at})


def _complete_org_chart(transition: Transition, actor: User, at: dt.datetime, rng: random.Random) -> None:
    """Name a decision maker and a champion if the org chart lacks either: the top of the chart decides."""
    contacts = _current_contacts(transition.account)
    roles = {contact.deal_role for contact in contacts}
    if DealRole.DECISION_MAKER not in roles:
        candidates = [c for c in contacts if c.deal_role != DealRole.CHAMPION]
        if candidates:
            top = next((c for c in candidates if c.reports_to_id is None), candidates[0])
            contact_update(
                actor=actor,
                contact=top,
                fields={
                    "deal_role": DealRole.DECISION_MAKER,
                    "influence": Influence.HIGH,
                },
            )
    if DealRole.CHAMPION not in roles:
        others = [c for c in contacts if c.deal_role != DealRole.DECISION_MAKER]
        if others:
            contact_update(
                actor=actor,
                contact=rng.choice(others),
                fields={
                    "deal_role": DealRole.CHAMPION,
                    "sentiment": Sentiment.POSITIVE,
                },
            )


def _write_success_plan(transition: Transition, actor: User, at: dt.datetime, rng: random.Random) -> None:
    account = transition.account
    if account.success_plans.filter(status=PlanStatus.ACTIVE, objectives__isnull=False).exists():
        return
    plan = plan_create(
        actor=actor,
        account=account,
        fields={
            "name": f"{at.year} goals",
            "summary": account.why_they_bought or "What the customer bought us for, in their words.",
        },
    )
    for title, metric, baseline, target, months in rng.sample(OBJECTIVES, 2):
        objective_create(
            actor=actor,
            plan=plan,
            fields={
                "title": title,
                "metric": metric,
                "baseline": baseline,
                "target": target,
                "current_value": baseline,
                "due_date": at.date() + dt.timedelta(days=30 * months),
                "status": ObjectiveStatus.ON_TRACK,
                "owner": actor,
            },
        )


def _write_context_note(transition: Transition, actor: User, at: dt.datetime, rng: random.Random) -> None:
    timeline_note_add(
        actor=actor,
        account=transition.account,
        summary=f"Handover context for {transition.to_csm.first_name}",
        body="\n\n".join(rng.sample(CONTEXT_NOTES, 3)),
    )


def _log_handover_call(transition: Transition, actor: User, at: dt.datetime, rng: random.Random) -> None:
    contacts = _current_contacts(transition.account)
    key_people = [c for c in contacts if c.deal_role in (DealRole.CHAMPION, DealRole.DECISION_MAKER)] or contacts[:1]
    touchpoint_log(
        actor=actor,
        account=transition.account,
        channel=Channel.CALL,
        occurred_at=at,
        summary=f"Handover call: {transition.from_csm.first_name} introduced "
        f"{transition.to_csm.first_name} and walked through the success plan",
        sentiment=Sentiment.POSITIVE,
        participants=key_people,
    )


OBJECTIVES = [
    ("Roll out to a second team", "Active teams", 1, 3, 6),
    ("Cut time to first report", "Days to first report", 14, 5, 4),
    ("Grow weekly active users", "Weekly active users", 40, 75, 6),
    (
        "Retire the legacy spreadsheet process",
        "Processes still on spreadsheets",
        6,
        0,
        9,
    ),
    ("Fewer support tickets per month", "Tickets per month", 18, 8, 3),
]
CONTEXT_NOTES = [
    "Decision rhythm: cautious. Nothing over budget gets signed without the CFO, so bring numbers early.",
    "The champion fought for us in the original evaluation; keep them in the loop before anyone else.",
    "Past issue: a rough first implementation (data import took three attempts). They still mention it.",
    "They plan to expand to a second region next fiscal year; that is where the upsell is.",
    "Open blocker: SSO with their identity provider; support has a ticket, the fix is promised for next month.",
    "Relationship is warm at the working level, thinner with the new VP; book an intro in the first month.",
    "They compare us with a competitor at every renewal; the value summary from the last QBR helps.",
]


# --- Mid-market: one rebalancing planned ------------------------------------------------------------------------


def _plan_midmarket_rebalancing(company: DemoCompany, rng: random.Random, manager: User, outgoing: User) -> None:
    """Sofia carries about twice anyone else's book: Tom plans to move one account to the lightest colleague."""
    colleagues = [user for user in company.csms if user.team_id == outgoing.team_id and user.pk != outgoing.pk]
    candidates = list(
        Account.objects.filter(owner=outgoing)
        .exclude(stage__in=[Stage.CHURNED, Stage.AT_RISK])
        .filter(Q(renewal_date__isnull=True) | Q(renewal_date__gt=company.today + dt.timedelta(days=90)))
        .order_by("pk")
    )
    if not colleagues or not candidates:
        return
    loads = csm_loads([user.pk for user in colleagues])
    lightest = min(colleagues, key=lambda user: (loads[user.pk].accounts, user.pk))
    start = company.today + dt.timedelta(days=PLANNED_IN_DAYS)
    with _as_of(_moment(company, company.today, -1, 16)):
        services.transition_start(
            actor=manager,
            account=rng.choice(candidates),
            to_csm=lightest,
            reason=TransitionReason.REBALANCING,
            start_date=start,
            target_date=start + dt.timedelta(days=PLANNED_LENGTH_DAYS),
            note=f"Sofia's book is twice the team's average; {lightest.first_name} has room. "
            "First of a few accounts to move; no renewal in the next three months.",
        )


# What doing each step means, by position in the default handover playbook (the email step is step 1).
STEP_WORK = {
    2: _verify_contacts,
    3: _complete_org_chart,
    4: _write_success_plan,
    5: _write_context_note,
    6: _log_handover_call,
}

register_seeder(Seeder(name="handovers", order=70, finish=_seed_handovers))
