"""Who may read and write what, at every URL: one table, checked route by route and role by role.

Every URL pattern the site answers (walked from the root resolver: pages, the API's routers and views, Django's
admin) must have an entry in TABLE below, or its test fails naming it, so a new route cannot ship unchecked.
Each entry says, per method, what each of eight callers gets:

    anonymous             nobody signed in
    csm_owner             Alex, a CSM of team A, who owns the account asked about
    csm_other_team        Olga, a CSM of team B
    csm_pooled            Pia, a CSM of team A, asked about an account her team's pool shares (owner: nobody)
    manager               Maria, team A's manager
    manager_other_team    Tom, team B's manager
    admin                 Ada, an admin (superuser and staff, as the demo makes its admin)
    revoked_token         a revoked token of Ada's, sent as `Authorization: Bearer ...`

Outcomes: OK (through: 2xx, or a redirect anywhere but a sign-in page), BAD (through the access checks, then
the request itself refused: 400, 409, 413, 415 or 422, as an empty or invalid body is), LOGIN (sent to a sign-in
page: the site's, or the Django admin's for its own pages), and 401, 403, 404, 405. A 5xx is never expected.

Reads are GET. Writes are every other method the route takes: the API's viewsets say which (PUT runs the same
`update` as PATCH in every viewset here, so PATCH stands for both); pages and the Django admin get a POST (but the
admin's history pages and object redirects, which do the same whatever the method, get a GET alone). A write
whose permission depends on what it names (the account a contact is created on, the steps ticked) is sent a
valid body (BODIES) naming the role's own account, so "allowed" means the write went through; other writes
go empty, and their gate answers first. Every request is rolled back, so no case changes what the next sees.

The URL's arguments come from a small book of business (tests/permission_book.py, tests/permission_urls.py).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client
from django.utils import timezone

from tests.permission_book import Book, build_book
from tests.permission_harness import (
    BAD,
    E401,
    E403,
    E404,
    E405,
    LOGIN,
    OK,
    ROLES,
    Caller,
    NoNetwork,
    Route,
    all_routes,
    outcome_of,
    url_for,
)
from tests.permission_urls import ARGS, admin_object_args

Expect = dict[str, str]

# The six signed-in people, in this order, in every row below:
#        (csm_owner, csm_other_team, csm_pooled, manager, manager_other_team, admin)
SIGNED_IN = ROLES[1:7]
EVERYONE = (OK, OK, OK, OK, OK, OK)
EDITORS = (OK, E403, OK, OK, E403, OK)  # users.permissions.can_edit_account
TEAM_MANAGER = (E403, E403, E403, OK, E403, OK)  # can_reassign_account, can_manage_transition
MANAGERS = (E403, E403, E403, OK, OK, OK)  # any manager, and admins
ADMINS = (E403, E403, E403, E403, E403, OK)  # can_configure
NOBODY = (E405, E405, E405, E405, E405, E405)  # the method is not taken here (a GET of a POST-only action)
# Personal rows (Alex's notification, subscription): the others are told there is no such thing.
ALEX_ONLY = (OK, E404, E404, E404, E404, E404)


def _row(signed_in: tuple[str, ...], anonymous: str, revoked_token: str) -> Expect:
    assert len(signed_in) == len(SIGNED_IN), signed_in
    return {"anonymous": anonymous, **dict(zip(SIGNED_IN, signed_in, strict=True)), "revoked_token": revoked_token}


def page(*signed_in: str, anonymous: str = LOGIN, revoked_token: str = LOGIN) -> Expect:
    """A page: strangers are sent to sign in (pages do not read tokens, so a revoked one is a stranger there)."""
    return _row(signed_in, anonymous, revoked_token)


def api(*signed_in: str, anonymous: str = E401, revoked_token: str = E401) -> Expect:
    """An API route: strangers and revoked tokens get 401."""
    return _row(signed_in, anonymous, revoked_token)


def post_only(*signed_in: str) -> dict[str, Expect]:
    """A page that only acts (require_POST): its GET is a 405 to everyone signed in."""
    return {"GET": page(*NOBODY), "POST": page(*signed_in)}


def same(*signed_in: str, **strangers: str) -> dict[str, Expect]:
    """A page whose GET and POST pass the same gate (a form shown, then sent; or a list a POST just shows again)."""
    return {"GET": page(*signed_in, **strangers), "POST": page(*signed_in, **strangers)}


def form(get: tuple[str, ...], post: tuple[str, ...]) -> dict[str, Expect]:
    return {"GET": page(*get), "POST": page(*post)}


def _with(row: tuple[str, ...], **changes: str) -> tuple[str, ...]:
    values = dict(zip(SIGNED_IN, row, strict=True))
    values.update(changes)
    return tuple(values[role] for role in SIGNED_IN)


def bad_for_allowed(row: tuple[str, ...]) -> tuple[str, ...]:
    """The same gate, with an empty body: whoever gets through is then told what is missing."""
    return tuple(BAD if outcome == OK else outcome for outcome in row)


EDITORS_BAD = bad_for_allowed(EDITORS)
TEAM_MANAGER_BAD = bad_for_allowed(TEAM_MANAGER)
MANAGERS_BAD = bad_for_allowed(MANAGERS)
ADMINS_BAD = bad_for_allowed(ADMINS)
# Whoever works the account's handover steps: the step's assignee (Alex's outgoing step; on the pooled account,
# with no outgoing CSM, it is the manager's), the team's manager and admins (can_complete_transition_task).
STEP_WORKERS = (OK, E403, E403, OK, E403, OK)
# The handover's email step is the incoming CSM's (Ines, who is none of the roles): only the manager and admins.
EMAIL_STEP_WORKERS = TEAM_MANAGER
# Imports belong to who started them (Maria): another manager is told there is no such import; CSMs do not import.
IMPORT_OWNER = (E403, E403, E403, OK, E404, OK)
# Signals are written by whoever may change the account, and by managers and admins for any account, as
# integrations do (users.permissions.can_write_signals_for_any_account).
SIGNAL_WRITERS = (OK, E403, OK, OK, OK, OK)
# Tokens: Alex's personal token is Alex's and the admins' to rotate and revoke (can_manage_token).
TOKEN_MANAGERS = (OK, E403, E403, E403, E403, OK)


# --- Bodies ------------------------------------------------------------------------------------------------------

Body = Callable[[Book, Any], dict[str, Any]]


def _today() -> str:
    return timezone.localdate().isoformat()


def _in_days(days: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


BODIES: dict[str, Body] = {
    # Pages
    "account-create POST": lambda b, k: {
        "name": "New customer", "industry": "software", "region": "emea", "arr": "1000", "currency": "USD",
        "fiscal_year_start_month": "1", "cov-coverage": "assigned", "cov-owner": b.people["csm_owner"].pk,
    },
    "bulk-handover-start POST": lambda b, k: {
        "incoming": b.people["csm_incoming"].pk, "strategy": "arr", "reason": "rebalancing",
        "playbook": b.rows["playbook"].pk, "start_date": _today(), "target_date": _in_days(14),
        f"assign-{k.spare.pk}": b.people["csm_incoming"].pk,
    },
    "my-transition-tasks-complete POST": lambda b, k: {"task": k.task.pk},
    "intro-emails POST": lambda b, k: {
        "shown": k.email_task.pk, "send": k.email_task.pk, f"to-{k.email_task.pk}": k.contact.pk,
        f"subject-{k.email_task.pk}": "Meet Ines", f"body-{k.email_task.pk}": "Hello {contact_first_name}",
    },
    "transition-task-email POST": lambda b, k: {
        "contacts": k.contact.pk, "subject": "Meet Ines", "body": "Hello {contact_first_name}",
    },
    "signal-import POST": lambda b, k: {
        "kind": "usage", "content": f"account,day,active_users\n{k.account.pk},{_today()},5\n",
    },
    "personal-tokens POST": lambda b, k: {"name": "Matrix script", "scopes": ["read"]},
    # API
    "api:account-list POST": lambda b, k: {
        "name": "New customer", "industry": "software", "region": "emea", "coverage": "assigned",
        "owner": b.people["csm_owner"].pk,
    },
    "api:contact-list POST": lambda b, k: {"account": k.account.pk, "first_name": "New", "last_name": "Person"},
    "api:timeline-list POST": lambda b, k: {"account": k.account.pk, "kind": "note", "summary": "Spoke to them"},
    "api:outcome-list POST": lambda b, k: {
        "account": k.account.pk, "kind": "renewed", "occurred_on": _today(), "term_start": _in_days(-365),
        "term_end": _today(), "arr_before": "50000", "arr_after": "50000",
    },
    "api:entitlement-list POST": lambda b, k: {
        "account": k.account.pk, "product": b.rows["new_product"].key, "seats": 5, "starts_on": _today(),
    },
    "api:entitlement-bulk POST": lambda b, k: {
        "rows": [{"account": k.account.pk, "product": b.rows["new_product"].key, "seats": 5, "starts_on": _today()}],
    },
    "api:success-plan-list POST": lambda b, k: {"account": k.account.pk, "name": "Second plan"},
    "api:objective-list POST": lambda b, k: {"plan": k.plan.pk, "title": "Roll out to sales"},
    "api:achievement-list POST": lambda b, k: {"plan": k.plan.pk, "title": "Went live", "achieved_on": _today()},
    "api:signal-usage-list POST": lambda b, k: {
        "rows": [{"account": k.account.pk, "day": _today(), "active_users": 5}],
    },
    "api:signal-tickets-list POST": lambda b, k: {
        "rows": [{"account": k.account.pk, "external_id": "pm-t2", "opened_at": timezone.now().isoformat()}],
    },
    "api:signal-surveys-list POST": lambda b, k: {
        "rows": [{"account": k.account.pk, "external_id": "pm-s2", "kind": "nps", "score": 9,
                  "responded_at": timezone.now().isoformat()}],
    },
    "api:signal-invoices-list POST": lambda b, k: {
        "rows": [{"account": k.account.pk, "external_id": "pm-i2", "issued_on": _today(), "amount": "10"}],
    },
    "api:transition-list POST": lambda b, k: {
        "account": k.spare.pk, "to_csm": b.people["csm_incoming"].pk, "reason": "rebalancing",
        "playbook": b.rows["playbook"].pk, "start_date": _today(), "target_date": _in_days(14),
    },
    "api:transition-bulk-start POST": lambda b, k: {
        "assignments": [{"account": k.spare.pk, "to_csm": b.people["csm_incoming"].pk}],
        "reason": "rebalancing", "start_date": _today(), "target_date": _in_days(14),
    },
    "api:transition-cancel POST": lambda b, k: {"reason": "The customer asked to keep their CSM"},
    "api:transition-reschedule POST": lambda b, k: {"target_date": _in_days(30)},
    "api:transition-task-send-email POST": lambda b, k: {
        "contacts": [k.contact.pk], "subject": "Meet Ines", "body": "Hello {contact_first_name}",
        "call_date": (timezone.now() + dt.timedelta(days=7)).isoformat(),
    },
    "api:playbook-list POST": lambda b, k: {
        "name": "Matrix playbook", "kind": "risk", "is_default": False, "steps": [{"title": "Call them", "assignee_role": "outgoing",
                                                              "due_offset_days": 1}],
    },
    "api:account-change-stage POST": lambda b, k: {"to_stage": "adoption", "reason": "Went live"},
}  # fmt: skip


# --- The table ---------------------------------------------------------------------------------------------------

TABLE: dict[str, dict[str, Expect]] = {
    # Signing in and out, and the load balancer's probe: open to all.
    "login": same(*EVERYONE, anonymous=OK, revoked_token=OK),
    # Signing out sends everyone (signed in or not) to the sign-in page.
    "logout": {"GET": page(*NOBODY), "POST": page(LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)},
    "healthz": same(*EVERYONE, anonymous=OK, revoked_token=OK),
    # The desk: every signed-in person reads the whole book (product.md §1); lists are scoped, not refused.
    "cockpit": same(*EVERYONE),
    "account-list": same(*EVERYONE),
    "account-detail": same(*EVERYONE),
    "alerts": same(*EVERYONE),
    "portfolio": same(*EVERYONE),
    "timeline-page": same(*EVERYONE),
    "handover-brief": same(*EVERYONE),
    # Writes on one account: whoever may change it.
    "stage-change": post_only(*EDITORS_BAD),
    "note-add": post_only(*EDITORS_BAD),
    "touchpoint-add": form(EDITORS, EDITORS_BAD),
    "outcome-add": form(EDITORS, EDITORS_BAD),
    "account-edit": same(*EDITORS),
    "contact-create": same(*EDITORS),
    "contact-edit": same(*EDITORS),
    "contact-verify": post_only(*EDITORS),
    "contact-archive": same(*EDITORS),
    "contact-restore": post_only(*EDITORS),
    "checkin": same(*EDITORS),
    "pulse": same(*EDITORS),
    "entitlement-create": same(*EDITORS),
    "entitlement-edit": same(*EDITORS),
    "entitlement-end": same(*EDITORS),
    "entitlement-delete": same(*EDITORS),
    "plan-create": same(*EDITORS),
    "plan-detail": same(*EVERYONE),
    "plan-edit": same(*EDITORS),
    "objective-create": same(*EDITORS),
    "objective-edit": same(*EDITORS),
    "achievement-add": same(*EDITORS),
    "flag-acknowledge": post_only(*EDITORS),
    "flag-snooze": post_only(*EDITORS),
    "flag-resolve": post_only(*EDITORS),
    # Who covers an account, and its health score, are the team manager's (and admins') call.
    "account-reassign": same(*TEAM_MANAGER),
    "health-override-set": post_only(*TEAM_MANAGER_BAD),
    "health-override-clear": post_only(*TEAM_MANAGER_BAD),
    # Managers open accounts for their own team's book: Tom (team B) is told so on the form (422).
    "account-create": form(MANAGERS, _with(MANAGERS, manager_other_team=BAD)),
    # Flood warnings are for whoever oversees alerts: managers and admins.
    "flood-warning-acknowledge": post_only(*MANAGERS),
    # Configuration: admins only; everyone reads the lists that show it.
    "flood-guard": same(*ADMINS),
    "scorecard-list": same(*EVERYONE),
    "scorecard-detail": same(*EVERYONE),
    "scorecard-create": form(ADMINS, ADMINS_BAD),
    "scorecard-edit": form(ADMINS, ADMINS_BAD),
    "scorecard-preview": same(*ADMINS),
    "scorecard-clone": post_only(*ADMINS_BAD),
    "scorecard-activate": post_only(*ADMINS_BAD),
    "scorecard-retire": post_only(*ADMINS_BAD),
    "scorecard-delete": post_only(*ADMINS),
    "backtest-list": same(*ADMINS),
    "backtest-new": same(*ADMINS),
    "backtest-detail": same(*ADMINS),
    "backtest-progress": same(*ADMINS),
    "backtest-draft": post_only(*ADMINS_BAD),
    "playbook-list": same(*EVERYONE),
    "playbook-create": same(*ADMINS),
    "playbook-edit": same(*ADMINS),
    "product-list": same(*EVERYONE),
    "product-create": same(*ADMINS),
    "product-edit": same(*ADMINS),
    "product-delete": form(ADMINS, ADMINS_BAD),
    "exchange-rate-list": form(EVERYONE, ADMINS_BAD),
    "exchange-rate-import": post_only(*ADMINS_BAD),
    "exchange-rate-edit": form(ADMINS, ADMINS_BAD),
    "exchange-rate-delete": post_only(*ADMINS),
    "tier-rule-list": form(EVERYONE, ADMINS_BAD),
    "tier-preview": same(*MANAGERS),
    "tier-apply": post_only(*ADMINS_BAD),
    "tier-rule-edit": same(*ADMINS),
    "tier-rule-delete": post_only(*ADMINS),
    "tier-rule-move": post_only(*ADMINS),
    "webhook-list": same(*ADMINS),
    "webhook-create": same(*ADMINS),
    "webhook-detail": same(*ADMINS),
    "webhook-edit": same(*ADMINS),
    "webhook-delete": post_only(*ADMINS),
    "webhook-rotate-secret": post_only(*ADMINS),
    "webhook-test": post_only(*ADMINS),
    "webhook-pause": post_only(*ADMINS),
    "webhook-resume": post_only(*ADMINS),
    "webhook-delivery-retry": post_only(*ADMINS),
    "deliveries-failed": same(*ADMINS),
    "delivery-retry": post_only(*ADMINS),
    "integration-tokens": form(ADMINS, ADMINS_BAD),
    # A person's own: notifications, subscriptions and personal tokens.
    "notifications": same(*EVERYONE),
    "notifications-bell": same(*EVERYONE),
    "notifications-read-all": post_only(*EVERYONE),
    "notification-read": post_only(*ALEX_ONLY),
    "subscriptions": same(*EVERYONE),
    "subscription-edit": same(*ALEX_ONLY),
    "subscription-delete": post_only(*ALEX_ONLY),
    "personal-tokens": same(*EVERYONE),
    "token-rotate": post_only(*TOKEN_MANAGERS),
    "token-revoke": post_only(*TOKEN_MANAGERS),
    # Signals: everyone reads them; a CSM's import writes only rows of accounts they may change, and refuses the
    # whole file (422) otherwise; managers and admins feed any account.
    "signal-export": same(*EVERYONE),
    "signal-import": form(EVERYONE, _with(SIGNAL_WRITERS, csm_other_team=BAD)),
    # Imports of accounts and contacts, and of outcomes: managers and admins (each row checked again).
    "import-start": form(MANAGERS, MANAGERS_BAD),
    "import-detail": same(*IMPORT_OWNER),
    "import-mapping": form(IMPORT_OWNER, bad_for_allowed(IMPORT_OWNER)),
    "import-run": post_only(*IMPORT_OWNER),
    "import-recheck": post_only(*IMPORT_OWNER),
    "import-errors": same(*IMPORT_OWNER),
    "outcome-import": form(MANAGERS, MANAGERS_BAD),
    # Handovers: everyone follows them; the team's manager starts, re-dates and cancels; the CSMs of a handover
    # (and the manager) complete it and work their steps.
    "transition-board": same(*EVERYONE),
    "transition-detail": same(*EVERYONE),
    "transition-new": same(*TEAM_MANAGER),
    "transition-cancel": post_only(*TEAM_MANAGER_BAD),
    "transition-reschedule": post_only(*TEAM_MANAGER_BAD),
    # Alex hands the account over, so may complete it; its required steps are still open (400).
    "transition-complete": post_only(*bad_for_allowed(STEP_WORKERS)),
    "transition-task-complete": post_only(*STEP_WORKERS),
    "transition-task-email": same(*EMAIL_STEP_WORKERS),
    "transition-task-email-preview": same(*EMAIL_STEP_WORKERS),
    "outbound-email-retry": post_only(*EMAIL_STEP_WORKERS),
    "my-transition-tasks": same(*EVERYONE),
    "my-transition-tasks-complete": post_only(*STEP_WORKERS),
    "intro-emails": form(EVERYONE, EMAIL_STEP_WORKERS),
    "bulk-handover-new": same(*MANAGERS),
    # The preview writes nothing: any manager may look at a split (an empty one is refused, 422).
    "bulk-handover-preview": post_only(*MANAGERS_BAD),
    # Tom may not hand over team A's accounts: the start refuses them.
    "bulk-handover-start": post_only(*_with(MANAGERS, manager_other_team=BAD)),
    "bulk-handover-detail": same(*EVERYONE),
}  # fmt: skip

TABLE.update({
    # The API. Its documentation and schema are for whoever is signed in.
    "api-schema": {"GET": api(*EVERYONE)},
    "api-docs": {"GET": api(*EVERYONE)},
    "api:api-root": {"GET": api(*EVERYONE)},
    # Accounts: read by all; created by managers (into their own team's book) and admins; changed by whoever may
    # change the account; covered anew by the team's manager; deleted by admins only.
    "api:account-list": {"GET": api(*EVERYONE), "POST": api(*TEAM_MANAGER)},
    "api:account-detail": {"GET": api(*EVERYONE), "PATCH": api(*EDITORS), "DELETE": api(*ADMINS)},
    "api:account-health": {"GET": api(*EVERYONE)},
    "api:account-change-stage": {"POST": api(*EDITORS)},
    "api:account-reassign": {"POST": api(*TEAM_MANAGER_BAD)},
    "api:account-import": {"POST": api(*MANAGERS_BAD)},
    "api:contact-import": {"POST": api(*MANAGERS_BAD)},
    "api:import-job": {"GET": api(*IMPORT_OWNER)},
    # What hangs off an account: read by all, written by whoever may change the account it names.
    "api:contact-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:contact-detail": {"GET": api(*EVERYONE), "PATCH": api(*EDITORS), "DELETE": api(*EDITORS)},
    "api:contact-restore": {"POST": api(*EDITORS)},
    "api:timeline-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:timeline-detail": {"GET": api(*EVERYONE)},
    "api:outcome-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:outcome-detail": {"GET": api(*EVERYONE)},
    "api:entitlement-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:entitlement-bulk": {"POST": api(*EDITORS)},
    "api:entitlement-detail": {"GET": api(*EVERYONE), "PATCH": api(*EDITORS), "DELETE": api(*EDITORS)},
    "api:success-plan-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:success-plan-detail": {"GET": api(*EVERYONE), "PATCH": api(*EDITORS)},
    "api:objective-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:objective-detail": {"GET": api(*EVERYONE), "PATCH": api(*EDITORS)},
    "api:achievement-list": {"GET": api(*EVERYONE), "POST": api(*EDITORS)},
    "api:achievement-detail": {"GET": api(*EVERYONE)},
    "api:red-flag-list": {"GET": api(*EVERYONE)},
    "api:red-flag-detail": {"GET": api(*EVERYONE)},
    "api:red-flag-acknowledge": {"POST": api(*EDITORS)},
    "api:red-flag-snooze": {"POST": api(*EDITORS_BAD)},
    "api:red-flag-resolve": {"POST": api(*EDITORS_BAD)},
    # Signals: everyone reads them; a batch is refused whole when a row names an account the sender may not change.
    "api:signal-usage-list": {"GET": api(*EVERYONE), "POST": api(*SIGNAL_WRITERS)},
    "api:signal-product-usage-list": {"GET": api(*EVERYONE)},
    "api:signal-tickets-list": {"GET": api(*EVERYONE), "POST": api(*SIGNAL_WRITERS)},
    "api:signal-surveys-list": {"GET": api(*EVERYONE), "POST": api(*SIGNAL_WRITERS)},
    "api:signal-invoices-list": {"GET": api(*EVERYONE), "POST": api(*SIGNAL_WRITERS)},
    # Handovers and playbook runs, as on the pages.
    "api:transition-list": {"GET": api(*EVERYONE), "POST": api(*TEAM_MANAGER)},
    "api:transition-bulk-start": {"POST": api(*TEAM_MANAGER)},
    "api:transition-detail": {"GET": api(*EVERYONE)},
    "api:transition-cancel": {"POST": api(*TEAM_MANAGER)},
    "api:transition-reschedule": {"POST": api(*TEAM_MANAGER)},
    "api:transition-complete": {"POST": api(*bad_for_allowed(STEP_WORKERS))},
    "api:transition-task-list": {"GET": api(*EVERYONE)},
    "api:transition-task-detail": {"GET": api(*EVERYONE)},
    "api:transition-task-complete": {"POST": api(*STEP_WORKERS)},
    # Alex's step is required: skipping it is refused (400) to whoever may work it.
    "api:transition-task-skip": {"POST": api(*bad_for_allowed(STEP_WORKERS))},
    "api:transition-task-send-email": {"POST": api(*EMAIL_STEP_WORKERS)},
    "api:outbound-email-list": {"GET": api(*EVERYONE)},
    "api:outbound-email-detail": {"GET": api(*EVERYONE)},
    "api:outbound-email-retry": {"POST": api(*EMAIL_STEP_WORKERS)},
    "api:playbook-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS)},
    # Playbooks are archived, never deleted.
    "api:playbook-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*NOBODY)},
    # Flood warnings: managers and admins.
    "api:flood-warning-list": {"GET": api(*MANAGERS)},
    "api:flood-warning-detail": {"GET": api(*MANAGERS)},
    "api:flood-warning-acknowledge": {"POST": api(*MANAGERS)},
    # Configuration: read by all where the pages show it, changed by admins.
    "api:alert-settings": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS)},
    "api:alert-rule-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    # The rule asked about has raised a flag: deleting it is refused (409; retire it instead).
    "api:alert-rule-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*ADMINS_BAD)},
    "api:product-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    # The product is held by the accounts' entitlements: deleting it is refused.
    "api:product-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*ADMINS_BAD)},
    "api:exchange-rate-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    "api:exchange-rate-import-csv": {"POST": api(*ADMINS_BAD)},
    "api:exchange-rate-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*ADMINS)},
    "api:tier-rule-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    "api:tier-rule-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*ADMINS)},
    "api:tier-rule-preview": {"GET": api(*MANAGERS)},
    "api:tier-rule-apply": {"POST": api(*ADMINS)},
    "api:tier-rule-reorder": {"POST": api(*ADMINS_BAD)},
    "api:health-scorecard-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    "api:health-scorecard-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*ADMINS)},
    "api:health-scorecard-preview": {"GET": api(*ADMINS)},
    "api:health-scorecard-activate": {"POST": api(*ADMINS_BAD)},
    "api:health-scorecard-clone": {"POST": api(*ADMINS_BAD)},
    "api:health-scorecard-new-version": {"POST": api(*ADMINS_BAD)},
    "api:health-scorecard-retire": {"POST": api(*ADMINS_BAD)},
    "api:health-backtest-list": {"GET": api(*ADMINS), "POST": api(*ADMINS_BAD)},
    "api:health-backtest-detail": {"GET": api(*ADMINS)},
    "api:health-recompute-list": {"GET": api(*ADMINS), "POST": api(*ADMINS_BAD)},
    "api:health-recompute-detail": {"GET": api(*ADMINS)},
    "api:webhook-list": {"GET": api(*ADMINS), "POST": api(*ADMINS_BAD)},
    # The URL is written, never read back: a PATCH without one is refused.
    "api:webhook-detail": {"GET": api(*ADMINS), "PATCH": api(*ADMINS_BAD), "DELETE": api(*ADMINS)},
    "api:webhook-deliveries": {"GET": api(*ADMINS)},
    "api:webhook-pause": {"POST": api(*ADMINS)},
    # Resuming an endpoint that is not paused is refused.
    "api:webhook-resume": {"POST": api(*ADMINS_BAD)},
    "api:webhook-rotate-secret": {"POST": api(*ADMINS)},
    "api:webhook-test": {"POST": api(*ADMINS)},
    # People and teams: read by all, changed by admins; people are deactivated, never deleted.
    "api:user-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    "api:user-me": {"GET": api(*EVERYONE)},
    "api:user-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*_with(ADMINS, admin=E405))},
    "api:user-deactivate": {"POST": api(*ADMINS_BAD)},
    "api:user-reactivate": {"POST": api(*ADMINS_BAD)},
    "api:team-list": {"GET": api(*EVERYONE), "POST": api(*ADMINS_BAD)},
    # A team with accounts in its pool cannot be deleted.
    "api:team-detail": {"GET": api(*EVERYONE), "PATCH": api(*ADMINS), "DELETE": api(*ADMINS_BAD)},
    # Tokens over the API are for admins signed in through the browser; no token makes or changes tokens.
    "api:api-token-list": {"GET": api(*ADMINS), "POST": api(*ADMINS_BAD)},
    "api:api-token-detail": {"GET": api(*ADMINS)},
    "api:api-token-rotate": {"POST": api(*ADMINS)},
    "api:api-token-revoke": {"POST": api(*ADMINS)},
    # A person's own notifications and subscriptions.
    "api:notification-list": {"GET": api(*EVERYONE)},
    "api:notification-mark-all-read": {"POST": api(*EVERYONE)},
    "api:notification-detail": {"GET": api(*ALEX_ONLY)},
    "api:notification-mark-read": {"POST": api(*ALEX_ONLY)},
    "api:subscription-list": {"GET": api(*EVERYONE), "POST": api(*EVERYONE)},
    "api:subscription-detail": {"GET": api(*ALEX_ONLY), "PATCH": api(*ALEX_ONLY), "DELETE": api(*ALEX_ONLY)},
})  # fmt: skip


# --- Django's admin ----------------------------------------------------------------------------------------------

# Django's admin is for staff: everyone else (CSMs and managers too) is sent to its sign-in page. What an admin
# may do there, per model: add (a), change (c), delete (d); every model's list, page and history are readable.
# Audited history is read-only there (tests/test_admin_audited.py says which fields and why).
STAFF = (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, OK)
STAFF_REFUSED = (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, E403)
ADMIN_MODELS: dict[str, str] = {
    "auth.group": "acd",
    "axes.accessattempt": "cd",  # deleting one unlocks a sign-in
    "axes.accesslog": "cd",
    "axes.accessfailurelog": "cd",
    "users.team": "acd",
    "users.user": "ac",  # deactivated, never deleted
    "users.userevent": "",
    "authtoken.tokenproxy": "d",  # a legacy key stops by being deleted
    "users.apitoken": "",
    "accounts.account": "",
    "accounts.accountterms": "",
    "accounts.contact": "",
    "accounts.timelineentry": "",
    "accounts.outcome": "",
    "accounts.auditevent": "",
    "accounts.tag": "acd",
    "lifecycle.alertrule": "ac",  # this one has raised a flag, so it cannot be deleted
    "lifecycle.redflag": "",
    "lifecycle.floodwarning": "",
    "lifecycle.scorecard": "",
    "lifecycle.checkinquestion": "acd",
    "lifecycle.checkin": "c",
    "lifecycle.pulserating": "c",
    "lifecycle.usagedaily": "cd",
    "lifecycle.supportticket": "cd",
    "lifecycle.surveyresponse": "cd",
    "lifecycle.invoice": "cd",
    "lifecycle.stagechange": "",
    "notifications.notification": "acd",
    "notifications.delivery": "acd",
    "notifications.subscription": "acd",
    "notifications.webhookendpoint": "d",
    "notifications.webhookdelivery": "d",
    "plans.successplan": "acd",
    "plans.achievement": "acd",
    "transitions.handoverpolicy": "c",  # one row, made by a migration
    "transitions.playbook": "c",  # every field read-only: edited on its own page
    "transitions.transition": "",
    "transitions.outboundemail": "c",
    "transitions.bulkhandover": "c",
}


def _staff(allowed: bool) -> Expect:
    return page(*(STAFF if allowed else STAFF_REFUSED))


def _admin_model_entries(label: str, can: str) -> dict[str, dict[str, Expect]]:
    app, model = label.split(".")
    return {
        # A POST to the list runs its actions.
        f"admin:{app}_{model}_changelist": {"GET": _staff(True), "POST": _staff(True)},
        f"admin:{app}_{model}_add": {"GET": _staff("a" in can), "POST": _staff("a" in can)},
        f"admin:{app}_{model}_change": {"GET": _staff(True), "POST": _staff("c" in can)},
        f"admin:{app}_{model}_delete": {"GET": _staff("d" in can), "POST": _staff("d" in can)},
        # Read only, whatever the method (Django's history view and the redirect of the bare object URL to its
        # change page do the same on a POST), so they are asked with a GET alone.
        f"admin:{app}_{model}_history": {"GET": _staff(True)},
        f"admin/{app}/{model}/<path:object_id>/": {"GET": _staff(True)},
    }


for _label, _can in ADMIN_MODELS.items():
    TABLE.update(_admin_model_entries(_label, _can))

TABLE.update({
    "admin:index": same(*STAFF),
    "admin:app_list": same(*STAFF),
    "admin:password_change": same(*STAFF),
    "admin:password_change_done": form(STAFF, _with(STAFF, admin=E405)),
    "admin:auth_user_password_change": same(*STAFF),
    "admin:jsi18n": form(STAFF, _with(STAFF, admin=E405)),
    "admin:autocomplete": form(_with(STAFF, admin=E403), _with(STAFF, admin=E405)),
    # The account's "view on site" link: Account has no page of its own to send the admin to.
    "admin:view_on_site": same(*_with(STAFF, admin=E404)),
    "admin/(?P<url>.*)$": same(*_with(STAFF, admin=E404)),
    # Its sign-in page is open to all; signing out sends staff to the site's sign-in page, and anyone else back to
    # the admin's index (which sends them to sign in).
    "admin:login": same(*EVERYONE, anonymous=OK, revoked_token=OK),
    "admin:logout": form(_with(EVERYONE, admin=E405), _with(EVERYONE, admin=LOGIN)),
})  # fmt: skip


# --- The test ----------------------------------------------------------------------------------------------------

ROUTES = all_routes()


def _args(route: Route):
    if route.key in ARGS:
        return ARGS[route.key]
    if route.pattern.startswith("admin/") and route.params == ("object_id",):
        return admin_object_args(".".join(route.pattern.split("/")[1:3]))
    if not route.params:
        return lambda b, k: {}
    return None


QUERIES: dict[str, dict[str, str]] = {
    # Which signals to export is part of the address; without it the page is a 404 for everyone.
    "signal-export": {"kind": "usage"},
}


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """Built once for the module, inside a transaction rolled back at its end; each case rolls back its own."""
    with django_db_blocker.unblock(), transaction.atomic():
        book = build_book()
        signed_in = {}
        for role in SIGNED_IN:
            client = Client()
            client.force_login(book.people[role])
            signed_in[role] = {name: morsel.value for name, morsel in client.cookies.items()}
        book.caller = Caller(signed_in, book.revoked_token)
        yield book
        transaction.set_rollback(True)


def _render_an_empty_schema(monkeypatch) -> None:
    """The schema view's gate is its own (authentication and permission classes, run before it renders); what it
    renders is tests/test_api_schema.py's to check, and generating it takes seconds each time: six signed-in
    people would spend half the matrix's time on it. So here it renders an empty schema."""
    from drf_spectacular.generators import SchemaGenerator

    empty = {"openapi": "3.0.3", "info": {"title": "Baton", "version": "test"}, "paths": {}}
    monkeypatch.setattr(SchemaGenerator, "get_schema", lambda self, request=None, public=False: empty)


def _methods(route: Route, entry: dict[str, Expect]) -> tuple[str, ...]:
    """The methods to ask: on the API, those its view maps (PATCH standing for PUT too); elsewhere a GET and a POST,
    but for the admin's read-only pages (its history and object redirects), which the table asks with a GET."""
    if route.is_api:
        methods = tuple(method for method in route.methods if method != "PUT")
    elif route.key.endswith("_history") or route.key.endswith("/<path:object_id>/"):
        methods = ("GET",)
    else:
        methods = route.methods
    assert set(entry) == set(methods), f"{route.key} takes {methods}; the table has {tuple(entry)}"
    return methods


@pytest.mark.django_db
@pytest.mark.parametrize("route", ROUTES, ids=[route.key for route in ROUTES])
def test_every_role_gets_what_the_table_says(book, route, monkeypatch, caplog):
    NoNetwork(monkeypatch)
    # Thousands of refusals would each log a warning with its traceback; a server error still logs.
    caplog.set_level(logging.ERROR, logger="django.request")
    if route.key == "api-schema":
        _render_an_empty_schema(monkeypatch)
    entry = TABLE.get(route.key)
    assert entry is not None, (
        f"{route.key} ({route.pattern}) has no entry in the permission matrix: say in TABLE what each role gets "
        f"for {', '.join(route.methods)}"
    )
    args = _args(route)
    assert args is not None, f"{route.key} takes {', '.join(route.params)}: say in tests/permission_urls.py which"
    methods = _methods(route, entry)
    query = QUERIES.get(route.key)
    wrong = []
    for method in methods:
        body = BODIES.get(f"{route.key} {method}")
        for role in ROLES:
            kit = book.pooled if role == "csm_pooled" else book.owned
            url = url_for(route, args(book, kit))
            if query:
                url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
            response = book.caller.send(role, method, url, body(book, kit) if body else None, is_api=route.is_api)
            got, expected = outcome_of(response), entry[method][role]
            if got != expected:
                detail = response.content[:200].decode(errors="replace").replace("\n", " ")
                wrong.append(
                    f"{method} {url} as {role}: expected {expected}, got {got} ({response.status_code} {detail})"
                )
    assert not wrong, f"{route.key}:\n" + "\n".join(wrong)


def test_every_table_entry_is_a_route():
    routes = {route.key for route in ROUTES}
    assert set(TABLE) - routes == set(), "entries for routes that no longer exist"
    assert {key.split(" ")[0] for key in BODIES} - routes == set(), "bodies for routes that no longer exist"


def test_every_model_in_djangos_admin_is_in_the_table():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered == set(ADMIN_MODELS)
