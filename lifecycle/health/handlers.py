"""Changes on the accounts side that move an account's health: each queues the debounced recompute.

Subscribed in lifecycle/apps.py; they run once the change has committed.
Lifecycle's own writes (signals, check-ins, pulse, stage changes, score
overrides) queue the recompute in their own transaction instead. A change
heard both ways (a check-in is also a touchpoint) still makes one request:
the handler finds the account's row already waiting, with its task on the
way (lifecycle.health.recompute.enqueue_account_recompute).
"""

from __future__ import annotations

from accounts.events import AccountChanged, AccountsChanged, ContactChanged, ConvertedArrChanged, TimelineEntryLogged
from accounts.models import Account, TimelineKind
from lifecycle.health.recompute import enqueue_account_recompute

# Account fields that scoring, the rules or the next-best rank read; "entitlements" is announced when the
# products an account holds change (adoption breadth reads them).
HEALTH_INPUT_FIELDS = frozenset({"arr", "currency", "contract_start", "renewal_date", "tier", "stage", "entitlements"})
# Contact fields behind stakeholder coverage and the "champion departed" rule.
STAKEHOLDER_FIELDS = frozenset({"deal_role", "departed", "departed_at", "archived_at"})


def recompute_after_account_change(event: AccountChanged) -> None:
    if event.created or event.fields & HEALTH_INPUT_FIELDS:
        enqueue_account_recompute([event.account_id])


def recompute_after_accounts_change(event: AccountsChanged) -> None:
    # "contacts": an import added or changed people on these accounts (stakeholder coverage reads them).
    if event.fields & (HEALTH_INPUT_FIELDS | {"contacts"}):
        enqueue_account_recompute(event.account_ids)


def recompute_after_contact_change(event: ContactChanged) -> None:
    if event.created or event.fields & STAKEHOLDER_FIELDS:
        enqueue_account_recompute([event.account_id])


def recompute_after_touchpoint(event: TimelineEntryLogged) -> None:
    # Engagement recency counts touchpoints; internal notes do not move health.
    if event.kind == TimelineKind.TOUCHPOINT:
        enqueue_account_recompute([event.account_id])


def recompute_after_reconversion(event: ConvertedArrChanged) -> None:
    # The next-best rank's size term and the rules read ARR in the reporting currency.
    enqueue_account_recompute(
        Account.objects.filter(currency__in=event.currencies).values_list("pk", flat=True).iterator(chunk_size=5000)
    )
