"""Writes to accounts, contacts and the timeline: each one records itself, bad input writes nothing."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import Account, AuditAction, AuditEvent, Coverage, TimelineEntry, TimelineKind
from accounts.tests.factories import ContactFactory
from users.tests.factories import CSMFactory

pytestmark = pytest.mark.django_db


def test_account_create_writes_the_account_an_audit_row_and_a_timeline_entry(manager, csm):
    account = services.account_create(
        actor=manager,
        fields={"name": "Echo Media", "industry": "media", "region": "emea", "arr": Decimal("1000")},
        owner=csm,
    )
    assert Account.objects.get() == account
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.actor, audit.account) == (AuditAction.ACCOUNT_CREATED, manager, account)
    entry = account.timeline.get()
    assert (entry.kind, entry.event, entry.author) == (TimelineKind.SYSTEM, "account_created", manager)


@pytest.mark.parametrize(("coverage", "field"), [(Coverage.ASSIGNED, "owner"), (Coverage.POOLED, "pool")])
def test_account_create_refuses_coverage_without_someone_to_cover_it(manager, nothing_written, coverage, field):
    with nothing_written(), pytest.raises(ValidationError) as error:
        services.account_create(
            actor=manager, fields={"name": "X", "industry": "media", "region": "emea"}, coverage=coverage
        )
    assert field in error.value.message_dict


def test_account_create_refuses_an_inactive_owner(manager, csm, nothing_written):
    csm.is_active = False
    csm.save()
    with nothing_written(), pytest.raises(ValidationError, match="no longer active"):
        services.account_create(actor=manager, fields={"name": "X", "industry": "media", "region": "emea"}, owner=csm)


def test_account_create_refuses_fields_it_does_not_own(manager, csm, nothing_written):
    with nothing_written(), pytest.raises(ValidationError, match="stage"):
        services.account_create(
            actor=manager, fields={"name": "X", "industry": "media", "region": "emea", "stage": "churned"}, owner=csm
        )


def test_account_update_audits_old_and_new_values_only_when_something_changed(own_account, csm):
    services.account_update(actor=csm, account=own_account, fields={"name": "Acme Robotics", "tier": "high"})
    audit = AuditEvent.objects.get()
    # A tier changed by hand is an override of the tier rules (accounts/segments/), audited with it.
    assert audit.changes == {"tier": ["low", "high"], "tier_source": ["rules", "manual"]}
    services.account_update(actor=csm, account=own_account, fields={"tier": "high"})
    assert AuditEvent.objects.count() == 1


def test_account_update_refuses_a_renewal_before_the_contract_start(own_account, csm, nothing_written):
    with nothing_written(), pytest.raises(ValidationError):
        services.account_update(
            actor=csm, account=own_account, fields={"renewal_date": own_account.contract_start - dt.timedelta(days=1)}
        )


def test_account_reassign_records_who_what_and_why(manager, own_account, csm, teammate):
    services.account_reassign(
        actor=manager,
        account=own_account,
        coverage=Coverage.ASSIGNED,
        owner=teammate,
        pool=None,
        reason="Alex on leave",
    )
    own_account.refresh_from_db()
    assert own_account.owner == teammate
    audit = AuditEvent.objects.get()
    assert audit.action == AuditAction.OWNER_CHANGED
    assert audit.actor == manager
    assert audit.changes == {"owner": [csm.pk, teammate.pk]}
    assert audit.reason == "Alex on leave"
    entry = own_account.timeline.get()
    assert entry.kind == TimelineKind.SYSTEM and entry.event == "owner_changed"
    assert entry.summary == "Coverage changed from Alex Ward to Sam Okafor"
    assert entry.body == "Alex on leave" and entry.author == manager


def test_account_reassign_into_a_pool_records_the_coverage_change(manager, own_account, csm, team):
    services.account_reassign(
        actor=manager, account=own_account, coverage=Coverage.POOLED, owner=None, pool=team, reason="Low touch now"
    )
    assert AuditEvent.objects.get().changes == {
        "coverage": ["assigned", "pooled"],
        "owner": [csm.pk, None],
        "pool": [None, team.pk],
    }
    assert own_account.timeline.get().summary == "Coverage changed from Alex Ward to Enterprise pool"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "  "}, "Say why"),
        ({"owner": None}, "needs an owner"),
        ({"owner": "same"}, "already covered that way"),
    ],
)
def test_account_reassign_refuses_bad_requests_and_writes_nothing(
    manager, own_account, csm, teammate, nothing_written, kwargs, message
):
    arguments = {"coverage": Coverage.ASSIGNED, "owner": teammate, "pool": None, "reason": "rebalancing"}
    arguments.update(kwargs)
    if arguments["owner"] == "same":
        arguments["owner"] = csm
    with nothing_written(), pytest.raises(ValidationError, match=message):
        services.account_reassign(actor=manager, account=own_account, **arguments)
    own_account.refresh_from_db()
    assert own_account.owner == csm


def test_contact_create_and_update_are_audited(csm, own_account):
    contact = services.contact_create(actor=csm, account=own_account, fields={"first_name": "Dana", "email": "d@x.io"})
    services.contact_update(actor=csm, contact=contact, fields={"title": "CTO"})
    assert list(AuditEvent.objects.order_by("id").values_list("action", "changes")) == [
        (AuditAction.CONTACT_CREATED, {}),
        (AuditAction.CONTACT_UPDATED, {"title": ["", "CTO"]}),
    ]


def test_a_contact_cannot_report_to_someone_at_another_account(csm, own_account, other_team_account, nothing_written):
    stranger = ContactFactory(account=other_team_account)
    with nothing_written(), pytest.raises(ValidationError, match="same account"):
        services.contact_create(actor=csm, account=own_account, fields={"first_name": "Dana", "reports_to": stranger})


def test_the_org_chart_cannot_go_round_in_a_circle(csm, own_account, nothing_written):
    ceo = ContactFactory(account=own_account, first_name="Ceo")
    vp = ContactFactory(account=own_account, first_name="Vp", reports_to=ceo)
    lead = ContactFactory(account=own_account, first_name="Lead", reports_to=vp)
    with nothing_written(), pytest.raises(ValidationError, match="circle"):
        services.contact_update(actor=csm, contact=ceo, fields={"reports_to": lead})
    with nothing_written(), pytest.raises(ValidationError, match="circle"):
        services.contact_update(actor=csm, contact=ceo, fields={"reports_to": ceo})
    ceo.refresh_from_db()
    assert ceo.reports_to is None


def test_a_departing_champion_is_dated_and_lands_on_the_timeline(csm, own_account):
    champion = ContactFactory(account=own_account, first_name="Dana", last_name="Lee", deal_role="champion")
    services.contact_update(actor=csm, contact=champion, fields={"departed": True})
    champion.refresh_from_db()
    assert champion.departed_at == timezone.localdate()
    entry = own_account.timeline.get()
    assert (entry.event, entry.summary) == ("contact_departed", "Dana Lee (Champion) left the company")


def test_contact_verify_stamps_now_and_audits(csm, own_account):
    contact = ContactFactory(account=own_account)
    assert contact.is_stale
    services.contact_verify(actor=csm, contact=contact)
    contact.refresh_from_db()
    assert not contact.is_stale
    assert AuditEvent.objects.get().changes["last_verified_at"][0] is None


def test_a_note_with_a_risk_tag_becomes_a_risk_entry(csm, own_account):
    note = services.timeline_note_add(actor=csm, account=own_account, summary="Sponsor is friendly")
    risk = services.timeline_note_add(actor=csm, account=own_account, summary="Budget frozen", risk_tag="budget_cut")
    assert (note.kind, risk.kind, risk.risk_tag) == (TimelineKind.NOTE, TimelineKind.RISK, "budget_cut")


def test_a_note_needs_a_summary(csm, own_account, nothing_written):
    with nothing_written(), pytest.raises(ValidationError) as error:
        services.timeline_note_add(actor=csm, account=own_account, summary="")
    assert "summary" in error.value.message_dict


def test_touchpoint_log_records_the_participants(csm, own_account):
    dana = ContactFactory(account=own_account)
    when = timezone.now() - dt.timedelta(hours=2)
    entry = services.touchpoint_log(
        actor=csm, account=own_account, channel="call", occurred_at=when, summary="Check-in", participants=[dana]
    )
    assert list(entry.participants.all()) == [dana]
    assert (entry.kind, entry.channel, entry.occurred_at) == (TimelineKind.TOUCHPOINT, "call", when)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"occurred_at": "future"}, "occurred_at"),
        ({"participants": "stranger"}, "participants"),
        ({"channel": ""}, "channel"),
        ({"channel": "pigeon"}, "channel"),
    ],
)
def test_touchpoint_log_refuses_bad_input_and_writes_nothing(
    csm, own_account, other_team_account, nothing_written, overrides, field
):
    arguments = {
        "channel": "call",
        "occurred_at": timezone.now() - dt.timedelta(hours=1),
        "summary": "Check-in",
        "participants": [ContactFactory(account=own_account)],
    }
    if overrides.get("occurred_at") == "future":
        overrides["occurred_at"] = timezone.now() + dt.timedelta(days=1)
    if overrides.get("participants") == "stranger":
        overrides["participants"] = [ContactFactory(account=other_team_account)]
    arguments.update(overrides)
    with nothing_written(), pytest.raises(ValidationError) as error:
        services.touchpoint_log(actor=csm, account=own_account, **arguments)
    assert field in error.value.message_dict
    assert not TimelineEntry.objects.exists()


def test_an_inactive_csm_cannot_become_an_owner_by_reassignment(manager, own_account, team, nothing_written):
    gone = CSMFactory(team=team, is_active=False)
    with nothing_written(), pytest.raises(ValidationError, match="no longer active"):
        services.account_reassign(
            actor=manager, account=own_account, coverage=Coverage.ASSIGNED, owner=gone, pool=None, reason="x"
        )
