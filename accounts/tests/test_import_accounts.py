"""Importing accounts from a CSV file: dry run, then exactly what it showed; re-importing changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.imports.models import ImportJob, ImportStatus
from accounts.imports.services import import_dry_run, import_execute, import_map, import_upload
from accounts.models import Account, AccountTerms, AuditAction, AuditEvent, Industry, Region, Stage, Tag, TierSource
from accounts.tests.factories import AccountFactory
from lifecycle.models import StageChange

pytestmark = pytest.mark.django_db

HEADER = (
    "External ID,Company,Website,CSM,Industry,Region,ARR,Currency,Contract start,Renewal date,Stage,Stage entered,Tags"
)


def upload(
    actor, text: str, *, kind: str = "accounts", name: str = "accounts.csv", encoding: str = "utf-8"
) -> ImportJob:
    return import_upload(actor=actor, kind=kind, upload=SimpleUploadedFile(name, text.encode(encoding)))


def dry_run(job: ImportJob) -> ImportJob:
    return import_dry_run(job_id=job.pk)


def good_file(csm) -> str:
    return "\n".join(
        [
            HEADER,
            f'CRM-1,Acme Robotics,https://www.acme.example/,{csm.email},Software,EMEA,"48,000.00",EUR,2025-01-01,2026-01-01,'
            "Adoption,2025-03-01,Key account; Pilot",
            f"CRM-2,Birch Health,birch.example,{csm.username},unknown,,12000,USD,,,,,",
        ]
    )


def test_auto_mapping_matches_common_names(admin, csm):
    job = upload(admin, good_file(csm))
    assert job.mapping == {
        "External ID": "external_id",
        "Company": "name",
        "Website": "domain",
        "CSM": "owner",
        "Industry": "industry",
        "Region": "region",
        "ARR": "arr",
        "Currency": "currency",
        "Contract start": "contract_start",
        "Renewal date": "renewal_date",
        "Stage": "stage",
        "Stage entered": "stage_entered_at",
        "Tags": "tags",
    }
    assert (job.encoding, job.delimiter) == ("utf-8", ",")


def test_dry_run_then_import_writes_what_the_dry_run_showed(admin, csm, django_capture_on_commit_callbacks):
    job = dry_run(upload(admin, good_file(csm)))
    assert job.status == ImportStatus.VALIDATED, job.errors
    assert (job.rows, job.to_create, job.to_update, job.unchanged) == (2, 2, 0, 0)
    assert Account.objects.count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        job = import_execute(job_id=job.pk)
    assert job.status == ImportStatus.DONE, job.message
    acme = Account.objects.get(external_id="CRM-1")
    assert (acme.name, acme.domain, acme.owner, acme.industry, acme.region) == (
        "Acme Robotics",
        "acme.example",
        csm,
        Industry.SOFTWARE,
        Region.EMEA,
    )
    assert (acme.arr, acme.currency, acme.contract_start, acme.renewal_date) == (
        Decimal("48000.00"),
        "EUR",
        dt.date(2025, 1, 1),
        dt.date(2026, 1, 1),
    )
    assert acme.stage == Stage.ADOPTION and acme.stage_entered_at.date() == dt.date(2025, 3, 1)
    assert sorted(acme.tags.values_list("name", flat=True)) == ["Key account", "Pilot"]
    birch = Account.objects.get(external_id="CRM-2")
    assert (birch.industry, birch.region, birch.owner) == (Industry.UNKNOWN, Region.UNKNOWN, csm)
    # History for both, one audit record each, no stage change (the customer did not move today).
    assert AccountTerms.objects.filter(source="imported").count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.ACCOUNT_CREATED).count() == 2
    assert StageChange.objects.count() == 0


def test_reimport_is_idempotent(admin, csm):
    import_execute(job_id=dry_run(upload(admin, good_file(csm))).pk)
    audits, terms = AuditEvent.objects.count(), AccountTerms.objects.count()
    job = dry_run(upload(admin, good_file(csm)))
    assert (job.to_create, job.to_update, job.unchanged) == (0, 0, 2)
    job = import_execute(job_id=job.pk)
    assert job.status == ImportStatus.DONE
    assert (AuditEvent.objects.count(), AccountTerms.objects.count(), Account.objects.count()) == (audits, terms, 2)


def test_update_changes_only_changed_fields_and_keeps_terms_history(admin, csm):
    account = AccountFactory(domain="acme.example", name="Acme", arr=Decimal("1000"), currency="USD", owner=csm)
    text = "Website,ARR,Company\nACME.example,2000,\n"
    job = import_execute(job_id=dry_run(upload(admin, text)).pk)
    assert (job.to_create, job.to_update) == (0, 1)
    account.refresh_from_db()
    assert (account.name, account.arr) == ("Acme", Decimal("2000.00"))
    audit = AuditEvent.objects.get(action=AuditAction.ACCOUNT_UPDATED)
    assert audit.changes == {"arr": ["1000.00", "2000.00"]}
    assert AccountTerms.objects.filter(account=account, source="imported", arr=Decimal("2000")).exists()


def test_dry_run_with_good_and_bad_rows_writes_nothing_and_lists_each_problem(admin, csm, nothing_written):
    text = "\n".join(
        [
            "Website,Company,Owner,ARR,Renewal date,Industry",
            f"good.example,Good,{csm.email},100,2026-01-01,software",
            "bad.example,Bad,nobody@nowhere.example,-5,01/02/2026,mining",
            f"good.example,Again,{csm.email},1,,",
        ]
    )
    with nothing_written():
        job = dry_run(upload(admin, text))
    assert job.status == ImportStatus.INVALID
    problems = {(error["line"], error["column"]) for error in job.errors}
    assert problems == {(3, "owner"), (3, "arr"), (3, "renewal_date"), (3, "industry"), (4, "domain")}
    with pytest.raises(ValidationError):
        import_execute(job_id=job.pk)
    assert Account.objects.count() == 0


def test_the_real_run_refuses_when_the_data_changed_since_the_dry_run(admin, csm):
    job = dry_run(upload(admin, f"Website,Company,Owner\nnew.example,New,{csm.username}\n"))
    AccountFactory(domain="new.example", name="Meanwhile", owner=csm)
    job = import_execute(job_id=job.pk)
    assert job.status == ImportStatus.FAILED and "dry run again" in job.message
    assert Account.objects.get().name == "Meanwhile"


def test_owner_by_username_and_tags_created_on_the_fly(admin, csm):
    Tag.objects.create(name="Pilot")
    import_execute(
        job_id=dry_run(upload(admin, f"Domain,Name,Owner,Tags\nx.example,X,{csm.username.upper()},pilot|Fresh\n")).pk
    )
    account = Account.objects.get()
    assert account.owner == csm
    assert sorted(account.tags.values_list("name", flat=True)) == ["Fresh", "Pilot"]


def test_a_stage_change_of_an_existing_account_is_not_an_import(admin, csm):
    AccountFactory(domain="a.example", owner=csm, stage=Stage.ONBOARDING)
    job = dry_run(upload(admin, "Domain,Stage\na.example,Success\n"))
    assert job.status == ImportStatus.INVALID
    assert job.errors[0]["column"] == "stage"


def test_tier_in_the_file_is_set_by_hand(admin, csm):
    import_execute(job_id=dry_run(upload(admin, f"Domain,Name,Owner,Tier\nt.example,T,{csm.email},High-touch\n")).pk)
    account = Account.objects.get()
    assert (account.tier, account.tier_source) == ("high", TierSource.MANUAL)


def test_saved_mapping_is_reused_for_the_same_columns(admin, csm):
    job = upload(admin, "Acct,Site,Boss\nA,a.example,alex\n")
    assert job.mapping == {"Acct": "", "Site": "", "Boss": ""}
    import_map(
        actor=admin,
        job=job,
        mapping={"Acct": "name", "Site": "domain", "Boss": "owner"},
        date_format="dmy",
        save_as="Old CRM",
    )
    again = upload(admin, "boss,acct,site\nalex,B,b.example\n")
    assert again.mapping == {"boss": "owner", "acct": "name", "site": "domain"}
    assert again.date_format == "dmy"


def test_day_first_dates_when_the_mapping_says_so(admin, csm):
    job = upload(
        admin, f"Domain,Name,Owner,Contract start,Renewal date\nd.example,D,{csm.email},01/02/2025,31/01/2026\n"
    )
    import_map(actor=admin, job=job, mapping=job.mapping, date_format="dmy")
    import_execute(job_id=dry_run(job).pk)
    account = Account.objects.get()
    assert (account.contract_start, account.renewal_date) == (dt.date(2025, 2, 1), dt.date(2026, 1, 31))


def test_the_tier_rules_place_new_accounts_whose_tier_the_file_does_not_set(admin, csm):
    from accounts.models import TierRule

    TierRule.objects.create(position=1, tier="high", industry=Industry.SOFTWARE)
    text = (
        f"Domain,Name,Owner,Industry,Tier\nr.example,R,{csm.email},software,\nm.example,M,{csm.email},software,tech\n"
    )
    import_execute(job_id=dry_run(upload(admin, text)).pk)
    ruled, manual = Account.objects.get(domain="r.example"), Account.objects.get(domain="m.example")
    assert (ruled.tier, ruled.tier_source) == ("high", TierSource.RULES)
    assert (manual.tier, manual.tier_source) == ("tech", TierSource.MANUAL)
    assert AccountTerms.objects.get(account=ruled).tier == "high"
    assert "Tier from the rules" in AuditEvent.objects.get(account=ruled).reason
