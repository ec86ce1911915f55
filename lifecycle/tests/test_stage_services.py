"""account_stage_change: history, audit and timeline in one go; the same or an unknown stage is refused."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent, Outcome, Stage, TimelineKind
from accounts.tests.conftest import *  # noqa: F403  (accounts, people and nothing_written)
from lifecycle.models import StageChange
from lifecycle.stages.selectors import stage_history_with_durations
from lifecycle.stages.services import account_stage_change

pytestmark = pytest.mark.django_db


def test_a_stage_change_writes_history_audit_and_a_timeline_entry(csm, own_account):
    own_account.stage_entered_at = timezone.now() - dt.timedelta(days=40)
    own_account.save()
    change = account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason="Live on day 40")
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ADOPTION
    assert own_account.days_in_stage == 0
    assert (change.from_stage, change.to_stage, change.changed_by, change.reason) == (
        Stage.ONBOARDING,
        Stage.ADOPTION,
        csm,
        "Live on day 40",
    )
    audit = AuditEvent.objects.get()
    assert (audit.action, audit.actor, audit.changes, audit.reason) == (
        AuditAction.STAGE_CHANGED,
        csm,
        {"stage": ["onboarding", "adoption"]},
        "Live on day 40",
    )
    entry = own_account.timeline.get()
    assert (entry.kind, entry.event) == (TimelineKind.SYSTEM, "stage_changed")
    assert entry.summary == "Stage changed from Onboarding to Adoption after 40 days"


@pytest.mark.parametrize(("days", "after"), [(1, "after 1 day"), (2, "after 2 days")])
def test_the_timeline_counts_the_days_in_the_previous_stage_in_english(csm, own_account, days, after):
    own_account.stage_entered_at = timezone.now() - dt.timedelta(days=days, hours=1)
    own_account.save()
    account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason="Live early")
    assert own_account.timeline.get().summary == f"Stage changed from Onboarding to Adoption {after}"


@pytest.mark.parametrize(("to_stage", "message"), [(Stage.ONBOARDING, "already in Onboarding"), ("paused", "Unknown")])
def test_the_same_stage_or_an_unknown_one_is_refused(csm, own_account, nothing_written, to_stage, message):
    with nothing_written(), pytest.raises(ValidationError, match=message) as error:
        account_stage_change(actor=csm, account=own_account, to_stage=to_stage, reason="Moving on")
    assert "to_stage" in error.value.message_dict
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ONBOARDING


def test_stage_history_lists_newest_first_with_days_spent_in_each(csm, own_account):
    start = timezone.now() - dt.timedelta(days=100)
    with time_machine.travel(start, tick=False):
        account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason="Went live")
    with time_machine.travel(start + dt.timedelta(days=30), tick=False):
        account_stage_change(actor=None, account=own_account, to_stage=Stage.SUCCESS, reason="Adopted")
    periods = stage_history_with_durations(own_account)
    assert [(p.change.to_stage, p.days, p.current) for p in periods] == [
        (Stage.SUCCESS, 70, True),
        (Stage.ADOPTION, 30, False),
    ]
    assert StageChange.objects.filter(changed_by=None).count() == 1


def test_entering_onboarding_starts_the_onboarding_checklist_for_the_owner(
    csm, own_account, django_capture_on_commit_callbacks
):
    from transitions.models import PlaybookKind, Transition

    with django_capture_on_commit_callbacks(execute=True):
        account_stage_change(actor=csm, account=own_account, to_stage=Stage.ADOPTION, reason="Went live")
    assert not Transition.objects.filter(account=own_account, kind=PlaybookKind.STAGE).exists()
    with django_capture_on_commit_callbacks(execute=True):
        account_stage_change(actor=csm, account=own_account, to_stage=Stage.ONBOARDING, reason="Restarted")
    checklist = Transition.objects.get(account=own_account, kind=PlaybookKind.STAGE)
    assert checklist.playbook.trigger_stage == Stage.ONBOARDING
    assert checklist.tasks.exists()
    assert checklist.tasks.filter(assignee=own_account.owner).exists()


def test_churning_records_the_churn_outcome_in_the_same_transaction(csm, own_account):
    own_account.arr = Decimal("75000")
    own_account.save()
    change = account_stage_change(
        actor=csm, account=own_account, to_stage=Stage.CHURNED, reason="Acquired by a rival", churn_reason="acquired"
    )
    outcome = Outcome.objects.get()
    assert (change.to_stage, outcome.kind, outcome.reason, outcome.note) == (
        Stage.CHURNED,
        "churned",
        "acquired",
        "Acquired by a rival",
    )
    assert (outcome.occurred_on, outcome.term_start, outcome.term_end) == (
        timezone.localdate(),
        own_account.contract_start,
        own_account.renewal_date,
    )
    assert (outcome.arr_before, outcome.arr_after, outcome.source) == (Decimal("75000"), 0, "stage_change")
    assert set(AuditEvent.objects.values_list("action", flat=True)) == {
        AuditAction.STAGE_CHANGED,
        AuditAction.OUTCOME_RECORDED,
    }
    assert set(own_account.timeline.values_list("event", flat=True)) == {"stage_changed", "outcome_recorded"}


@pytest.mark.parametrize(("churn_reason", "message"), [("", "Say why the customer left."), ("vibes", "Unknown")])
def test_churning_without_a_known_reason_is_refused(csm, own_account, nothing_written, churn_reason, message):
    with nothing_written(), pytest.raises(ValidationError, match=message) as error:
        account_stage_change(
            actor=csm, account=own_account, to_stage=Stage.CHURNED, churn_reason=churn_reason, reason="Gone"
        )
    assert "churn_reason" in error.value.message_dict
    assert not Outcome.objects.exists()


def test_a_churn_that_cannot_be_recorded_leaves_the_stage_as_it_was(csm, own_account, nothing_written):
    own_account.contract_start = own_account.renewal_date = None
    own_account.save()  # created just now, no contract dates: no term to close yet
    with nothing_written(), pytest.raises(ValidationError, match="no contract term to close") as error:
        account_stage_change(
            actor=csm, account=own_account, to_stage=Stage.CHURNED, churn_reason="budget", reason="Budget cut"
        )
    assert "to_stage" in error.value.message_dict
    own_account.refresh_from_db()
    assert own_account.stage == Stage.ONBOARDING and not StageChange.objects.exists()


def test_leaving_churned_again_keeps_the_recorded_churn(csm, own_account):
    account_stage_change(
        actor=csm, account=own_account, to_stage=Stage.CHURNED, churn_reason="price", reason="Too dear"
    )
    account_stage_change(actor=csm, account=own_account, to_stage=Stage.ONBOARDING, reason="Won back")
    assert Outcome.objects.get().kind == "churned"
