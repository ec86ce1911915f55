"""What an import writes for new accounts, set-based, is what the one-account services would have written.

The new accounts' converted ARR and tier are computed in the INSERT itself (accounts/imports/sql.py):
these tests hold them to the money module's refresh and the tier rules' own reading, and the history,
tags and audit trail to one row per account. They run on SQLite (`make test`) and on PostgreSQL
(`BATON_INTEGRATION=1`), whose loading paths differ (executemany, COPY).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.imports import engine, services
from accounts.imports.models import ImportStatus
from accounts.imports.services import import_dry_run, import_execute, import_rows, import_upload
from accounts.models import (
    Account,
    AccountTerms,
    AuditAction,
    AuditEvent,
    ExchangeRate,
    Industry,
    Tag,
    Tier,
    TierRule,
    TierSource,
)
from accounts.money.refresh import converted_arr_refresh
from accounts.segments.rules import NO_RATE, ruled, tier_rules, with_rule_tier
from accounts.tests.factories import AccountFactory

pytestmark = pytest.mark.django_db
D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def book_rules() -> None:
    """Healthcare is high-touch whatever its ARR; then ≥ 80k high, ≥ 15k low, tech below (reporting currency)."""
    TierRule.objects.create(position=1, tier=Tier.HIGH_TOUCH, industry=Industry.HEALTHCARE)
    TierRule.objects.create(position=2, tier=Tier.HIGH_TOUCH, min_arr=D("80000"))
    TierRule.objects.create(position=3, tier=Tier.LOW_TOUCH, min_arr=D("15000"))
    TierRule.objects.create(position=4, tier=Tier.TECH_TOUCH)


@pytest.fixture
def euro_rates() -> None:
    """EUR has an old rate, the one in force (1.08333333) and one from next week; GBP has none."""
    for days, rate in ((-400, "0.9"), (-30, "1.08333333"), (7, "2")):
        ExchangeRate.objects.create(currency="EUR", rate_to_reporting=D(rate), effective_on=TODAY + dt.timedelta(days))


def import_file(actor, text: str):
    job = import_upload(actor=actor, kind="accounts", upload=SimpleUploadedFile("accounts.csv", text.encode()))
    job = import_dry_run(job_id=job.pk)
    assert job.status == ImportStatus.VALIDATED, job.errors
    job = import_execute(job_id=job.pk)
    assert job.status == ImportStatus.DONE, job.message
    return job


BOOK = """External ID,Company,Domain,CSM,Industry,ARR,Currency,Tier,Tags
E-1,Big Euro,big.example,{csm},software,"100,000.00",EUR,,Key; Pilot
E-2,Small Euro,small.example,{csm},retail,10000,EUR,,
U-1,Mid Dollar,mid.example,{csm},media,20000,USD,,Key
G-1,No Rate,norate.example,{csm},software,90000,GBP,,
G-2,Hospital,hospital.example,{csm},healthcare,5000,GBP,,
U-2,By Hand,hand.example,{csm},software,500000,USD,Tech-touch,
U-3,Tiny,tiny.example,{csm},software,7.5,USD,,
"""


def test_new_accounts_get_the_converted_arr_and_tier_the_services_would_give(admin, csm, book_rules, euro_rates):
    import_file(admin, BOOK.format(csm=csm.email))
    accounts = {account.external_id: account for account in Account.objects.all()}
    assert {key: account.arr_reporting for key, account in accounts.items()} == {
        "E-1": D("108333.33"),  # at the rate in force today, rounded to the cent
        "E-2": D("10833.33"),
        "U-1": D("20000.00"),
        "G-1": None,  # GBP has no rate
        "G-2": None,
        "U-2": D("500000.00"),
        "U-3": D("7.50"),
    }
    assert {key: (account.tier, account.tier_source) for key, account in accounts.items()} == {
        "E-1": (Tier.HIGH_TOUCH, TierSource.RULES),
        "E-2": (Tier.TECH_TOUCH, TierSource.RULES),
        "U-1": (Tier.LOW_TOUCH, TierSource.RULES),
        "G-1": (Tier.LOW_TOUCH, TierSource.RULES),  # the ARR rules need a rate: the tier stays as created
        "G-2": (Tier.HIGH_TOUCH, TierSource.RULES),  # the industry rule comes first and needs none
        "U-2": (Tier.TECH_TOUCH, TierSource.MANUAL),
        "U-3": (Tier.TECH_TOUCH, TierSource.RULES),
    }
    # The same answers as the money module's refresh and the rules' own reading of the stored accounts.
    before = list(Account.objects.order_by("pk").values_list("pk", "arr_reporting"))
    converted_arr_refresh(account_ids=[pk for pk, _ in before])
    assert list(Account.objects.order_by("pk").values_list("pk", "arr_reporting")) == before
    judged = with_rule_tier(ruled(Account.objects.all()), tier_rules()).values_list("external_id", "rule_tier", "tier")
    for external_id, rule_tier, tier in judged:
        assert tier == (Tier.LOW_TOUCH if rule_tier in (None, NO_RATE) else rule_tier), external_id


def test_history_tags_and_audit_trail_hold_one_row_per_new_account(admin, csm, book_rules, euro_rates):
    import_file(admin, BOOK.format(csm=csm.email))
    for account in Account.objects.all():
        terms = AccountTerms.objects.get(account=account)
        assert (terms.arr, terms.currency, terms.tier, terms.source, terms.recorded_by) == (
            account.arr,
            account.currency,
            account.tier,
            "imported",
            admin,
        )
    assert sorted(Account.objects.get(external_id="E-1").tags.values_list("name", flat=True)) == ["Key", "Pilot"]
    assert list(Account.objects.get(external_id="U-1").tags.values_list("name", flat=True)) == ["Key"]
    assert Tag.objects.count() == 2
    audits = {audit.account.external_id: audit for audit in AuditEvent.objects.select_related("account", "actor")}
    assert len(audits) == 7 and AuditEvent.objects.count() == 7
    line = {key: position for position, key in enumerate(["E-1", "E-2", "U-1", "G-1", "G-2", "U-2", "U-3"], start=2)}
    moved = {"E-1", "E-2", "G-2", "U-3"}  # the rules moved them from the low-touch they were created with
    for key, audit in audits.items():
        assert (audit.action, audit.subject_type, audit.subject_id) == (
            AuditAction.ACCOUNT_CREATED,
            "account",
            audit.account.pk,
        )
        assert (audit.actor, audit.actor_name, audit.changes) == (admin, audit.actor_name, {})
        assert audit.actor_name
        expected = f"({'accounts.csv'}), line {line[key]}"
        assert expected in audit.reason, audit.reason
        assert audit.reason.endswith(". Tier from the rules") == (key in moved), (key, audit.reason)
        terms = AccountTerms.objects.get(account=audit.account)
        assert terms.effective_at == audit.created_at == audit.account.created_at == audit.account.updated_at


def test_new_accounts_take_ids_no_account_ever_had_and_later_accounts_follow_them(admin, csm):
    gone = AccountFactory(owner=csm)
    gone_id = gone.pk
    gone.delete()
    import_file(admin, BOOK.format(csm=csm.email))
    imported = sorted(Account.objects.values_list("pk", flat=True))
    assert len(imported) == 7 and imported[0] > gone_id
    later = AccountFactory(owner=csm)
    assert later.pk > imported[-1]


def test_an_import_over_many_chunks_writes_every_row_once_and_again_changes_nothing(admin, csm, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_ROWS", 3)
    monkeypatch.setattr(services, "CHUNK_ROWS", 3)
    rows = "".join(f"C-{n},Company {n},c{n}.example,{csm.username},,{n}000,,,Cohort {n % 2}\n" for n in range(8))
    text = "External ID,Company,Domain,CSM,Industry,ARR,Currency,Tier,Tags\n" + rows
    job = import_file(admin, text)
    assert (job.rows, job.to_create) == (8, 8)
    assert Account.objects.count() == 8 and AccountTerms.objects.count() == 8 and AuditEvent.objects.count() == 8
    assert Account.tags.through.objects.count() == 8
    assert sorted(AuditEvent.objects.values_list("reason", flat=True)) == sorted(
        f"Import #{job.pk} (accounts.csv), line {line}" for line in range(2, 10)
    )
    again = import_file(admin, text)
    assert (again.to_create, again.to_update, again.unchanged) == (0, 0, 8)
    assert (Account.objects.count(), AccountTerms.objects.count(), AuditEvent.objects.count()) == (8, 8, 8)


def test_the_bulk_api_path_writes_new_accounts_the_same_way(admin, csm, book_rules, euro_rates):
    rows = [
        {"external_id": "A-1", "name": "Api Euro", "owner": csm.email, "arr": "100000", "currency": "EUR"},
        {"external_id": "A-2", "name": "Api Pooled", "pool": csm.team.name, "arr": 1000, "tags": ["X", "y"]},
    ]
    tally = import_rows(actor=admin, kind="accounts", rows=rows, dry_run=False)
    assert tally.ok and tally.to_create == 2, tally.errors
    euro, pooled = Account.objects.get(external_id="A-1"), Account.objects.get(external_id="A-2")
    assert (euro.arr_reporting, euro.tier, euro.owner, euro.coverage) == (D("108333.33"), "high", csm, "assigned")
    assert (pooled.pool, pooled.owner, pooled.coverage, pooled.tier) == (csm.team, None, "pooled", "tech")
    assert sorted(pooled.tags.values_list("name", flat=True)) == ["X", "y"]
    assert AuditEvent.objects.get(account=pooled).reason == "Bulk import (API), row 1. Tier from the rules"


def test_changed_accounts_are_written_as_the_account_service_writes_them(admin, csm, book_rules, euro_rates):
    from accounts.services import account_update
    from accounts.tests.factories import AccountFactory

    def pair(key: str, **fields):
        by_service = AccountFactory(external_id=f"S-{key}", owner=csm, **fields)
        by_import = AccountFactory(external_id=f"I-{key}", owner=csm, **fields)
        return by_service, by_import

    arr = pair("arr", arr=D("10000"), currency="EUR", tier=Tier.TECH_TOUCH)  # to 100,000 EUR: high-touch by the rules
    name = pair("name", arr=D("90000"), currency="USD", tier=Tier.TECH_TOUCH)  # a name alone: the rules do not run
    hand = pair("hand", arr=D("10000"), currency="USD", tier=Tier.TECH_TOUCH)  # a tier by hand
    converted_arr_refresh()
    account_update(actor=admin, account=arr[0], fields={"arr": D("100000.00")})
    account_update(actor=admin, account=name[0], fields={"name": "Renamed"})
    account_update(actor=admin, account=hand[0], fields={"tier": Tier.HIGH_TOUCH, "tier_source": TierSource.MANUAL})
    terms_before = AccountTerms.objects.count()
    job = import_file(admin, "External ID,ARR,Company,Tier\nI-arr,100000,,\nI-name,,Renamed,\nI-hand,,,High-touch\n")
    assert (job.to_update, job.to_create) == (3, 0)
    fields = ("arr", "arr_reporting", "tier", "tier_source")
    for by_service, by_import in (arr, name, hand):
        by_service.refresh_from_db()
        by_import.refresh_from_db()
        assert [getattr(by_import, f) for f in fields] == [getattr(by_service, f) for f in fields], (
            by_import.external_id
        )
    assert (arr[1].tier, arr[1].arr_reporting) == (Tier.HIGH_TOUCH, D("108333.33"))
    assert name[0].name == name[1].name == "Renamed"
    # A terms row where the terms changed (ARR and the tier it moved, the tier by hand), none for a new name.
    assert AccountTerms.objects.count() - terms_before == 2
    imported = AccountTerms.objects.filter(source="imported").values_list("account__external_id", flat=True)
    assert sorted(imported) == ["I-arr", "I-hand"]
    assert AccountTerms.objects.filter(account=arr[1], source="imported").get().tier == Tier.HIGH_TOUCH
    audits = {a.account.external_id: a for a in AuditEvent.objects.filter(action=AuditAction.ACCOUNT_UPDATED)}
    assert audits["I-arr"].changes == {"arr": ["10000.00", "100000.00"], "tier": ["tech", "high"]}
    assert audits["I-arr"].reason.endswith("line 2. Tier from the rules")
    assert audits["I-name"].changes == {"name": [audits["I-name"].changes["name"][0], "Renamed"]}
    assert audits["I-hand"].changes == {"tier": ["tech", "high"], "tier_source": ["rules", "manual"]}
    assert audits["S-arr"].changes["tier"] == audits["I-arr"].changes["tier"]


def test_a_change_of_tags_alone_rewrites_the_links_and_is_audited_without_touching_the_account(admin, csm):
    from accounts.tests.factories import AccountFactory

    account = AccountFactory(external_id="T-1", owner=csm)
    account.tags.set([Tag.objects.create(name="Old")])
    stamp = Account.objects.get(pk=account.pk).updated_at
    job = import_file(admin, "External ID,Tags\nT-1,New; old\n")
    assert job.to_update == 1
    account.refresh_from_db()
    assert sorted(account.tags.values_list("name", flat=True)) == ["New", "Old"]
    assert account.updated_at == stamp
    audit = AuditEvent.objects.get(action=AuditAction.ACCOUNT_UPDATED)
    assert audit.changes == {"tags": [["Old"], ["New", "old"]]}
    again = import_file(admin, "External ID,Tags\nT-1,New; old\n")
    assert (again.to_update, again.unchanged) == (0, 1)
