"""The demo company: who is in it, that it is deterministic, and that it keeps every invariant."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F
from django.utils import timezone

from accounts.demo import (
    DEMO_PASSWORD,
    HANDOVER_CSM,
    DemoBatch,
    DemoCompany,
    Seeder,
    core,
)
from accounts.models import (
    Account,
    Contact,
    Coverage,
    DealRole,
    Outcome,
    OutcomeKind,
    Stage,
    Tag,
    TimelineEntry,
    TimelineKind,
)
from accounts.selectors import account_terms_as_of
from lifecycle.models import StageChange
from users.models import Team, User

pytestmark = pytest.mark.django_db


def seed(**options) -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out, **options)
    return out.getvalue()


def book_fingerprint() -> list[tuple]:
    return list(Account.objects.order_by("pk").values_list("name", "domain", "arr", "tier", "stage"))


def test_the_same_seed_builds_the_same_company_and_another_seed_a_different_one():
    seed(seed=7, accounts=40)
    first = book_fingerprint()
    first_contacts = list(Contact.objects.order_by("pk").values_list("first_name", "last_name", "deal_role"))

    seed(seed=7, accounts=40, reset=True)
    assert book_fingerprint() == first
    assert list(Contact.objects.order_by("pk").values_list("first_name", "last_name", "deal_role")) == first_contacts

    seed(seed=8, accounts=40, reset=True)
    assert [row[0] for row in book_fingerprint()] != [row[0] for row in first]


def test_the_demo_people_have_the_usernames_roles_and_teams_make_run_prints():
    seed(accounts=20)
    admin = User.objects.get(username="admin")
    assert (admin.role, admin.is_staff, admin.is_superuser) == (
        User.Role.ADMIN,
        True,
        True,
    )
    assert admin.check_password(DEMO_PASSWORD)

    enterprise, mid_market = (
        Team.objects.get(name="Enterprise"),
        Team.objects.get(name="Mid-market"),
    )
    assert enterprise.segment == "Enterprise" and mid_market.segment == "Mid-market"
    managers = {user.username: user for user in User.objects.filter(role=User.Role.MANAGER)}
    assert managers.keys() == {"maria", "tom"}
    assert managers["maria"].team == enterprise and managers["tom"].team == mid_market

    csms = dict(User.objects.filter(role=User.Role.CSM).values_list("username", "team__name"))
    assert csms == {
        "alex": "Enterprise",
        "sam": "Enterprise",
        "priya": "Enterprise",
        "jonas": "Enterprise",
        "lena": "Mid-market",
        "omar": "Mid-market",
        "chen": "Mid-market",
        "sofia": "Mid-market",
    }
    for user in User.objects.all():
        assert user.first_name and user.last_name and user.title
        assert user.check_password(DEMO_PASSWORD)


def test_accounts_option_sets_the_size_of_the_book():
    seed(accounts=37)
    assert Account.objects.count() == 37


def test_every_invariant_holds_across_the_generated_data():
    seed(seed=3, accounts=120)
    today = timezone.localdate()

    assert not Account.objects.filter(renewal_date__lte=F("contract_start")).exists()
    assert not Account.objects.filter(contract_start__isnull=True).exists()
    assert not Account.objects.filter(coverage=Coverage.ASSIGNED, owner__isnull=True).exists()
    assert not Account.objects.filter(coverage=Coverage.POOLED, owner__isnull=False).exists()
    assert not Account.objects.filter(coverage=Coverage.POOLED, pool__isnull=True).exists()
    assert set(Account.objects.exclude(owner=None).values_list("owner__role", flat=True)) == {User.Role.CSM}
    assert not Account.objects.filter(stage_entered_at__gt=timezone.now()).exists()

    # The org chart is a tree inside each account.
    contacts = {contact.pk: contact for contact in Contact.objects.all()}
    for contact in contacts.values():
        seen = {contact.pk}
        manager = contacts.get(contact.reports_to_id)
        while manager is not None:
            assert manager.account_id == contact.account_id
            assert manager.pk not in seen, "reports_to forms a cycle"
            seen.add(manager.pk)
            manager = contacts.get(manager.reports_to_id)
    roots = Counter(c.account_id for c in contacts.values() if c.reports_to_id is None)
    assert set(roots.values()) == {1}
    per_account = Counter(c.account_id for c in contacts.values())
    assert min(per_account.values()) >= 3 and max(per_account.values()) <= 8
    assert all(c.departed_at and c.departed_at <= today for c in contacts.values() if c.departed)
    emails = [(c.account_id, c.email) for c in contacts.values()]
    assert len(emails) == len(set(emails))

    # Stage history walks from onboarding to the current stage, ending when the account entered it.
    history: dict[int, list[StageChange]] = {}
    for change in StageChange.objects.order_by("changed_at", "pk"):
        history.setdefault(change.account_id, []).append(change)
    for account in Account.objects.all():
        changes = history[account.pk]
        assert changes[0].from_stage == "" and changes[0].to_stage == Stage.ONBOARDING
        assert all(later.from_stage == earlier.to_stage for earlier, later in zip(changes, changes[1:]))
        assert all(earlier.changed_at < later.changed_at for earlier, later in zip(changes, changes[1:]))
        assert changes[-1].to_stage == account.stage
        assert changes[-1].changed_at == account.stage_entered_at
        if account.stage == Stage.CHURNED:
            assert changes[-2].to_stage == Stage.AT_RISK
    # Every stage change has its system event (the first one is the account's creation); other parts
    # add their own (red flags raised today, risk plays and handovers under way).
    system_events = TimelineEntry.objects.filter(
        kind=TimelineKind.SYSTEM, event__in=["account_created", "stage_changed"]
    ).count()
    assert system_events == StageChange.objects.count()

    # Touchpoints only involve the account's own people, and nothing happens in the future.
    assert not TimelineEntry.participants.through.objects.exclude(contact__account=F("timelineentry__account")).exists()
    assert not TimelineEntry.objects.filter(occurred_at__gt=timezone.now()).exists()
    assert not TimelineEntry.objects.filter(kind=TimelineKind.TOUCHPOINT, channel="").exists()
    assert not TimelineEntry.objects.filter(kind=TimelineKind.RISK, risk_tag="").exists()


def test_every_account_has_a_terms_history_and_the_outcomes_that_explain_it():
    seed(seed=5, accounts=150)
    today = timezone.localdate()
    latest = account_terms_as_of(None, today)
    for account in Account.objects.all():
        terms = latest[account.pk]
        assert (terms.contract_start, terms.renewal_date, terms.arr, terms.currency, terms.tier) == (
            account.contract_start,
            account.renewal_date,
            account.arr,
            account.currency,
            account.tier,
        )
    churned = set(Account.objects.filter(stage=Stage.CHURNED).values_list("pk", flat=True))
    assert (
        churned
        and set(Outcome.objects.filter(kind=OutcomeKind.CHURNED).values_list("account_id", flat=True)) == churned
    )
    assert Outcome.objects.filter(kind=OutcomeKind.RENEWED).count() > 30
    assert Outcome.objects.filter(kind=OutcomeKind.DOWNGRADED).exists()
    assert {"expansion", "flat"} <= set(Outcome.objects.with_movement().values_list("arr_movement", flat=True))
    assert not Outcome.objects.filter(occurred_on__gt=today).exists()
    # Each renewal's new ARR is what the terms said from the next term on.
    for outcome in Outcome.objects.filter(kind=OutcomeKind.RENEWED).order_by("pk")[:40]:
        after = account_terms_as_of([outcome.account_id], outcome.term_end)[outcome.account_id]
        assert (after.contract_start, after.arr) == (outcome.term_end, outcome.arr_after)
    assert TimelineEntry.objects.filter(event="outcome_recorded").count() == Outcome.objects.count()


def test_a_demo_sized_company_tells_the_stories_the_product_needs():
    seed(seed=42, accounts=300)
    today = timezone.localdate()
    stages = Counter(Account.objects.values_list("stage", flat=True))
    assert set(stages) == set(Stage.values)
    assert 0.25 <= stages[Stage.SUCCESS] / 300 <= 0.55

    books = dict(
        User.objects.filter(role=User.Role.CSM).annotate(n=Count("owned_accounts")).values_list("username", "n")
    )
    assert max(books, key=books.get) == HANDOVER_CSM
    assert 30 <= books[HANDOVER_CSM] <= 50
    assert min(books.values()) >= 10
    assert (
        Account.objects.filter(tier="tech", coverage=Coverage.POOLED).count()
        > Account.objects.filter(tier="tech", coverage=Coverage.ASSIGNED).count()
    )

    renewing_soon = Account.objects.filter(
        renewal_date__gte=today + dt.timedelta(days=30),
        renewal_date__lte=today + dt.timedelta(days=120),
    ).count()
    assert renewing_soon >= 60
    assert Account.objects.exclude(contacts__deal_role=DealRole.CHAMPION).exists()
    assert Account.objects.filter(contacts__deal_role=DealRole.CHAMPION).count() > 200
    assert Contact.objects.filter(departed=True).exists()
    assert Account.objects.exclude(why_they_bought="").count() == 300
    assert Tag.objects.filter(accounts__isnull=False).distinct().count() >= 10
    six_months_ago = timezone.now() - dt.timedelta(days=180)
    assert TimelineEntry.objects.filter(kind=TimelineKind.TOUCHPOINT, occurred_at__lt=six_months_ago).exists()
    assert TimelineEntry.objects.filter(kind=TimelineKind.NOTE).exists()
    assert TimelineEntry.objects.filter(kind=TimelineKind.RISK).exists()


def test_running_again_without_reset_changes_nothing():
    seed(accounts=25)
    before = (
        book_fingerprint(),
        User.objects.count(),
        Contact.objects.count(),
        TimelineEntry.objects.count(),
    )
    output = seed(accounts=25)
    assert "already has data" in output
    after = (
        book_fingerprint(),
        User.objects.count(),
        Contact.objects.count(),
        TimelineEntry.objects.count(),
    )
    assert after == before


def test_reset_replaces_the_company_instead_of_adding_to_it():
    seed(accounts=25)
    seed(accounts=30, reset=True)
    assert Account.objects.count() == 30
    assert User.objects.filter(username="admin").count() == 1
    assert Team.objects.count() == 2


def test_a_book_without_accounts_is_refused():
    with pytest.raises(CommandError, match="at least 1"):
        seed(accounts=0)
    assert not User.objects.exists()


def test_another_app_can_add_a_part_that_runs_for_every_batch(monkeypatch):
    seen: list[tuple[int, int]] = []
    calls: list[str] = []

    def seed_batch(company: DemoCompany, batch: DemoBatch) -> None:
        # Contacts are already there (order 10 runs first) and randomness is private and repeatable.
        assert all(batch.contacts[account.pk] for account in batch.accounts)
        assert batch.rng("extra").random() == batch.rng("extra").random()
        seen.append((batch.index, len(batch.accounts)))

    extra = Seeder(
        name="extra",
        seed_batch=seed_batch,
        order=50,
        setup=lambda company: calls.append("setup"),
        finish=lambda company: calls.append("finish"),
    )
    monkeypatch.setitem(core._SEEDERS, "extra", extra)
    monkeypatch.setattr(core, "BATCH_ACCOUNTS", 10)
    seed(accounts=25)
    assert seen == [(0, 10), (1, 10), (2, 5)]
    assert calls == ["setup", "finish"]
