"""One AccountTerms row per existing account, and: a correction names an outcome of its own account.

The backfill is one INSERT ... SELECT (set-based at any size): each account's terms as they
stand, effective from its creation, since nothing older was kept.

Django declares no foreign key over two columns, so the "same account" rule is written here
for each database: on PostgreSQL a composite foreign key (corrects_id, account_id) onto a
unique (id, account_id); on SQLite (development and the test suite) triggers refusing a row
whose corrected outcome belongs to another account. SQLite drops triggers when Django rebuilds
a table, which it does to alter one; accounts/tests/test_outcome_models.py fails if they go
missing, as a later migration on Outcome would then have to create them again.
"""

from django.db import migrations

POSTGRESQL = [
    (
        "ALTER TABLE accounts_outcome ADD CONSTRAINT outcome_id_account UNIQUE (id, account_id)",
        "ALTER TABLE accounts_outcome DROP CONSTRAINT outcome_id_account",
    ),
    (
        "ALTER TABLE accounts_outcome ADD CONSTRAINT outcome_corrects_same_account "
        "FOREIGN KEY (corrects_id, account_id) REFERENCES accounts_outcome (id, account_id)",
        "ALTER TABLE accounts_outcome DROP CONSTRAINT outcome_corrects_same_account",
    ),
]

_SQLITE_CHECK = """
CREATE TRIGGER outcome_corrects_same_account_{event}
BEFORE {event} ON accounts_outcome
WHEN NEW.corrects_id IS NOT NULL
 AND NOT EXISTS (SELECT 1 FROM accounts_outcome WHERE id = NEW.corrects_id AND account_id = NEW.account_id)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: outcome_corrects_same_account');
END
"""
SQLITE = [
    (_SQLITE_CHECK.format(event=event), f"DROP TRIGGER outcome_corrects_same_account_{event}")
    for event in ("INSERT", "UPDATE")
]

BACKFILL = """
INSERT INTO accounts_accountterms
    (account_id, effective_at, contract_start, renewal_date, arr, currency, tier, recorded_by_id, source)
SELECT id, created_at, contract_start, renewal_date, arr, currency, tier, NULL, 'backfill'
FROM accounts_account
"""


def _statements(vendor: str) -> list[tuple[str, str]]:
    return {"postgresql": POSTGRESQL, "sqlite": SQLITE}.get(vendor, [])


def add_same_account_rule(apps, schema_editor):
    for forward, _ in _statements(schema_editor.connection.vendor):
        schema_editor.execute(forward)


def remove_same_account_rule(apps, schema_editor):
    for _, backward in reversed(_statements(schema_editor.connection.vendor)):
        schema_editor.execute(backward)


def backfill_terms(apps, schema_editor):
    schema_editor.execute(BACKFILL)


def forget_backfill(apps, schema_editor):
    apps.get_model("accounts", "AccountTerms").objects.filter(source="backfill").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_outcomes_and_terms_history"),
    ]

    operations = [
        migrations.RunPython(add_same_account_rule, remove_same_account_rule),
        migrations.RunPython(backfill_terms, forget_backfill),
    ]
