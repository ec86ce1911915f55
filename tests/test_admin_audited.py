"""The Django admin cannot change what services audit, nor delete history.

Every model registered in the admin is listed here: AUDITED maps it to the fields the services audit
(empty: the whole row is history, read-only), CONFIGURATION names the rest with why they may be edited.
A newly registered model in neither list fails, so someone decides.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from users.models import User

pytestmark = pytest.mark.django_db

# Model label -> the fields its services audit. The admin shows them read-only (or is read-only
# altogether) and deletes nothing.
AUDITED: dict[str, set[str]] = {
    "accounts.account": {"owner", "pool", "coverage", "stage", "stage_entered_at", "arr", "currency", "tier"},
    "accounts.contact": {"first_name", "last_name", "email", "deal_role", "departed", "archived_at"},
    "accounts.timelineentry": set(),
    "accounts.auditevent": set(),
    "accounts.outcome": set(),
    "accounts.accountterms": set(),
    "lifecycle.stagechange": set(),
    "lifecycle.scorecard": set(),
    "lifecycle.redflag": {"status", "owner", "snoozed_until", "resolved_at"},
    "lifecycle.floodwarning": {"acknowledged_at", "acknowledged_by"},
    "lifecycle.checkin": {"account", "held_at", "conducted_by"},
    "lifecycle.pulserating": {"account", "rating", "rated_by", "rated_at"},
    "transitions.transition": {"from_csm", "to_csm", "status", "target_date"},
    "transitions.playbook": {"version"},
    "transitions.outboundemail": {"status", "sent_at"},
    "transitions.bulkhandover": {"status"},
    "users.user": {"is_active"},
    "users.userevent": set(),
    "users.apitoken": {"revoked_at", "scope_read"},
}

# Editable in the admin, with why.
CONFIGURATION: dict[str, str] = {
    "accounts.tag": "labels; tagging an account is audited with the account",
    "users.team": "teams and their pools are set up by an operator",
    "authtoken.tokenproxy": "legacy keys: deleting one is how it stops (they have no history)",
    "auth.group": "Django's own permissions groups",
    "plans.successplan": "success plans are a working document, edited with the customer",
    "plans.achievement": "success plans are a working document",
    "lifecycle.checkinquestion": "questions are configuration; one with answers cannot be deleted",
    "lifecycle.alertrule": "rules are configuration; one that fired cannot be deleted (its flags would go)",
    "lifecycle.usagedaily": "signals ingested from the product; corrected by re-sending",
    "lifecycle.supportticket": "signals ingested from the help desk",
    "lifecycle.surveyresponse": "signals ingested from the survey tool",
    "lifecycle.invoice": "signals ingested from billing",
    "transitions.handoverpolicy": "one switch, set by an operator; cannot be deleted",
    "notifications.notification": "a person's inbox",
    "notifications.delivery": "retried through an action that calls the service",
    "notifications.subscription": "a person's own settings",
    "notifications.webhookendpoint": "read-only; changed at /settings/webhooks/",
    "notifications.webhookdelivery": "read-only",
    "axes.accessattempt": "sign-in lockouts: an admin unlocks by deleting one",
    "axes.accessfailurelog": "the sign-in lockout's log",
    "axes.accesslog": "the sign-in lockout's log",
}


@pytest.fixture
def request_as_superuser():
    request = RequestFactory().get("/admin/")
    request.user = User.objects.create_superuser("root", "root@example.com", "pw")
    return request


def test_every_registered_model_is_decided():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - AUDITED.keys() - CONFIGURATION.keys() == set(), "List the new admin in AUDITED or CONFIGURATION"
    assert (AUDITED.keys() | CONFIGURATION.keys()) - registered == set(), "A listed model is no longer registered"


@pytest.mark.parametrize("label", sorted(AUDITED))
def test_audited_fields_are_read_only_and_history_is_not_deleted(request_as_superuser, label):
    model_admin = next(ma for model, ma in admin.site._registry.items() if model._meta.label_lower == label)
    request = request_as_superuser
    obj = model_admin.model()
    assert not model_admin.has_delete_permission(request, obj), f"{label} can be deleted in the admin"
    assert not model_admin.has_delete_permission(request), f"{label} can be deleted in the admin"
    if model_admin.has_change_permission(request, obj):
        editable = AUDITED[label] - set(model_admin.get_readonly_fields(request, obj))
        assert not editable, f"{label}: audited fields editable in the admin: {sorted(editable)}"
        assert AUDITED[label], f"{label} is history: its admin should not change it at all"
    for inline in model_admin.get_inline_instances(request, obj):
        deletes = inline.can_delete and inline.has_delete_permission(request, obj)
        assert not deletes, f"{label}'s {inline.model.__name__} inline deletes"
