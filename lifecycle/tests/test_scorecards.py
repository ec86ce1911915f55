"""Scorecard versions: drafts are edited, live versions are frozen, activation is audited and exclusive."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import AuditAction, AuditEvent
from accounts.tests.factories import AccountFactory
from lifecycle.health.recompute import health_recompute_all_inline
from lifecycle.health.scorecards.preview import scorecard_preview
from lifecycle.health.scorecards.services import (
    MeasureSpec,
    scorecard_activate,
    scorecard_clone,
    scorecard_create,
    scorecard_delete_draft,
    scorecard_new_version,
    scorecard_retire,
    scorecard_update_draft,
)
from lifecycle.models import HealthScore, Measure, RecomputeRun, Scorecard, ScorecardStatus, UsageDaily
from users.tests.factories import AdminFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin():
    return AdminFactory()


@pytest.fixture
def standard() -> Scorecard:
    return Scorecard.objects.active().get(tier="", stage="")


def usage_only(weight: str = "1") -> list[MeasureSpec]:
    return [
        MeasureSpec(
            kind="usage_trend", weight=Decimal(weight), zero_at=Decimal(-50), full_at=Decimal(10), validity_days=7
        )
    ]


def test_a_new_scorecard_is_a_draft_of_its_own_lineage_and_audited(admin):
    card = scorecard_create(actor=admin, fields={"name": "Enterprise", "tier": "high"}, measures=usage_only())

    assert (card.status, card.version, card.label) == (ScorecardStatus.DRAFT, 1, "Enterprise v1")
    assert card.created_by == admin
    event = AuditEvent.objects.get(action=AuditAction.SCORECARD_CREATED, subject_id=card.pk)
    assert event.actor == admin and "measure:usage_trend" in event.changes


def test_settings_that_make_no_sense_are_refused_with_reasons_per_field(admin, standard):
    with pytest.raises(ValidationError) as refused:
        scorecard_create(
            actor=admin,
            fields={"name": standard.name, "green_min": 40, "yellow_min": 60},
            measures=[*usage_only(), *usage_only("2"), MeasureSpec("nps", Decimal(0), Decimal(5), Decimal(5), 0)],
        )

    errors = refused.value.message_dict
    assert "already called" in errors["name"][0]
    assert "below green" in errors["yellow_min"][0]
    assert any("appears twice" in message for message in errors["measures"])
    assert any("weight is between" in message for message in errors["measures"])
    assert any("must differ" in message for message in errors["measures"])
    assert any("valid for" in message for message in errors["measures"])
    assert not Scorecard.objects.filter(status=ScorecardStatus.DRAFT).exists()


def test_a_clone_copies_the_settings_into_a_new_lineage(admin, standard):
    clone = scorecard_clone(actor=admin, source=standard, name="Standard, usage-heavy")

    assert clone.lineage != standard.lineage and clone.based_on == standard
    assert clone.measures.count() == standard.measures.count()
    assert (clone.green_min, clone.yellow_min, clone.tier, clone.stage) == (
        standard.green_min,
        standard.yellow_min,
        standard.tier,
        standard.stage,
    )


def test_a_live_version_is_frozen_and_editing_means_a_new_draft_version(admin, standard):
    with pytest.raises(ValidationError, match="frozen"):
        scorecard_update_draft(actor=admin, draft=standard, fields={"green_min": 80}, measures=usage_only())

    draft = scorecard_new_version(actor=admin, source=standard, measure_weights={"usage_trend": Decimal("4")})

    assert (draft.lineage, draft.version, draft.status) == (standard.lineage, standard.version + 1, "draft")
    assert draft.measures.get(kind="usage_trend").weight == Decimal("4")
    assert standard.measures.get(kind="usage_trend").weight == Decimal("2")
    with pytest.raises(ValidationError, match="already a draft"):
        scorecard_new_version(actor=admin, source=standard)


def test_activation_retires_the_old_version_audits_who_and_why_and_rescores_today(
    admin, standard, django_capture_on_commit_callbacks
):
    account = AccountFactory()
    draft = scorecard_new_version(actor=admin, source=standard)
    scorecard_update_draft(actor=admin, draft=draft, fields={"green_min": 75, "yellow_min": 45}, measures=usage_only())

    with pytest.raises(ValidationError) as refused:
        scorecard_activate(actor=admin, draft=draft, note="  ")
    assert "why" in refused.value.message_dict["note"][0]

    with django_capture_on_commit_callbacks(execute=True):
        live = scorecard_activate(actor=admin, draft=draft, note="Usage predicts churn best in our backtest")

    standard.refresh_from_db()
    assert (live.status, live.activated_by, live.activation_note) == (
        "active",
        admin,
        "Usage predicts churn best in our backtest",
    )
    assert standard.status == "retired" and standard.retired_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.SCORECARD_ACTIVATED, subject_id=live.pk, actor=admin).exists()
    assert AuditEvent.objects.filter(action=AuditAction.SCORECARD_RETIRED, subject_id=standard.pk).exists()
    assert RecomputeRun.objects.filter(day=timezone.localdate()).exists()
    # Tests run tasks eagerly: today's snapshot already names the new version.
    assert HealthScore.objects.get(account=account, day=timezone.localdate()).scorecard == live


def test_snapshots_of_earlier_days_keep_the_version_that_made_them(admin, standard):
    account = AccountFactory()
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    health_recompute_all_inline(day=yesterday)
    draft = scorecard_new_version(actor=admin, source=standard)

    scorecard_activate(actor=admin, draft=draft, note="New weights")

    assert HealthScore.objects.get(account=account, day=yesterday).scorecard == standard


def test_two_active_scorecards_cannot_claim_the_same_scope(admin, standard):
    first = scorecard_create(actor=admin, fields={"name": "High touch", "tier": "high"}, measures=usage_only())
    scorecard_activate(actor=admin, draft=first, note="High-touch accounts differ")
    second = scorecard_create(actor=admin, fields={"name": "Enterprise", "tier": "high"}, measures=usage_only())

    with pytest.raises(ValidationError) as refused:
        scorecard_activate(actor=admin, draft=second, note="Try")

    assert "High touch v1 is already active for High-touch" in refused.value.message_dict["scope"][0]
    # The database says the same to anything that goes around the service.
    with pytest.raises(IntegrityError), transaction.atomic():
        Scorecard.objects.filter(pk=second.pk).update(status="active", activated_at=timezone.now())


def test_the_all_accounts_scorecard_cannot_retire_and_leave_accounts_unscored(admin, standard):
    with pytest.raises(ValidationError, match="every account"):
        scorecard_retire(actor=admin, scorecard=standard, reason="Tidy up")

    scoped = scorecard_create(actor=admin, fields={"name": "Tech touch", "tier": "tech"}, measures=usage_only())
    scorecard_activate(actor=admin, draft=scoped, note="Low-touch accounts")
    retired = scorecard_retire(actor=admin, scorecard=scoped, reason="Back to one scorecard")
    assert retired.status == "retired"


def test_only_drafts_can_be_deleted(admin, standard):
    draft = scorecard_clone(actor=admin, source=standard, name="Scratch")
    scorecard_delete_draft(actor=admin, draft=draft)
    assert not Scorecard.objects.filter(pk=draft.pk).exists()
    with pytest.raises(ValidationError, match="frozen"):
        scorecard_delete_draft(actor=admin, draft=standard)


def test_a_missing_measure_can_count_as_zero_instead_of_dropping_out(admin, django_capture_on_commit_callbacks):
    account = AccountFactory(tier="high")
    UsageDaily.objects.create(
        account=account, day=timezone.localdate(), active_users=10, key_events=5, licences_used=8, licences_owned=10
    )
    card = scorecard_create(
        actor=admin,
        fields={"name": "Strict", "tier": "high"},
        measures=[
            MeasureSpec("licence_utilisation", Decimal(1), Decimal(0), Decimal(100), 14),
            MeasureSpec("nps", Decimal(1), Decimal(0), Decimal(10), 180, when_missing="worst"),
        ],
    )
    with django_capture_on_commit_callbacks(execute=True):
        scorecard_activate(actor=admin, draft=card, note="No survey is bad news")

    snapshot = HealthScore.objects.get(account=account, day=timezone.localdate())
    # Licence use 80 points, NPS missing counts 0: (80 + 0) / 2.
    assert snapshot.score == Decimal("40.0")
    assert snapshot.measures["nps"] == {"raw": None, "score": 0.0, "weight": 1.0, "status": "missing"}


def test_the_preview_compares_the_draft_with_what_is_live_on_the_same_facts(admin, standard):
    today = timezone.localdate()
    busy, quiet = AccountFactory(name="Busy Ltd"), AccountFactory(name="Quiet plc")
    for account, licences in ((busy, 9), (quiet, 1)):
        UsageDaily.objects.create(
            account=account, day=today, active_users=5, key_events=5, licences_used=licences, licences_owned=10
        )
    health_recompute_all_inline(day=today)
    draft = scorecard_new_version(actor=admin, source=standard)
    scorecard_update_draft(
        actor=admin,
        draft=draft,
        fields={},
        measures=[MeasureSpec("licence_utilisation", Decimal(1), Decimal(0), Decimal(100), 14)],
    )

    preview = scorecard_preview(draft)

    assert preview.accounts == 2
    assert preview.after == {"green": 1, "red": 1}
    # Live (the default), one day of 5 users on 10 licences is a low usage level: both red. The draft
    # reads licence use alone: 90% and 10%.
    assert preview.moves == {("red", "green"): 1, ("red", "red"): 1}
    [mover] = preview.movers  # only a change of band makes a mover
    assert (mover.name, mover.before_band, mover.after_band) == ("Busy Ltd", "red", "green")
    assert mover.reasons[0] == ("Licence utilisation", 0.0, 90.0)
    # Nothing was written: the book still carries the live version's scores.
    assert not HealthScore.objects.filter(scorecard=draft).exists()
    assert Measure.objects.filter(scorecard=draft).count() == 1
