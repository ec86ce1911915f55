"""Which row of the permission matrix's book (tests/permission_book.py) fills each URL's arguments.

`k` is the kit of the account the role is asked about (the pooled account for the pooled CSM, Alex's for
everyone else); `b` is the whole book. A route with arguments and no line here fails the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.apps import apps

Args = Callable[[Any, Any], dict[str, Any]]


def _pk(get: Callable[[Any, Any], Any]) -> Args:
    return lambda b, k: {"pk": get(b, k).pk}


ACCOUNT = _pk(lambda b, k: k.account)

ARGS: dict[str, Args] = {
    # Pages
    "account-detail": ACCOUNT,
    "account-edit": ACCOUNT,
    "account-reassign": ACCOUNT,
    "stage-change": ACCOUNT,
    "note-add": ACCOUNT,
    "touchpoint-add": ACCOUNT,
    "outcome-add": ACCOUNT,
    "health-override-set": ACCOUNT,
    "health-override-clear": ACCOUNT,
    "checkin": ACCOUNT,
    "pulse": ACCOUNT,
    "transition-new": ACCOUNT,
    "handover-brief": ACCOUNT,
    "plan-create": ACCOUNT,
    "contact-create": ACCOUNT,
    "timeline-page": ACCOUNT,
    "entitlement-create": ACCOUNT,
    "contact-edit": lambda b, k: {"pk": k.account.pk, "contact_pk": k.contact.pk},
    "contact-verify": lambda b, k: {"pk": k.account.pk, "contact_pk": k.contact.pk},
    "contact-archive": lambda b, k: {"pk": k.account.pk, "contact_pk": k.contact.pk},
    "contact-restore": lambda b, k: {"pk": k.account.pk, "contact_pk": k.contact.pk},
    "entitlement-edit": lambda b, k: {"pk": k.account.pk, "entitlement_pk": k.entitlement.pk},
    "entitlement-end": lambda b, k: {"pk": k.account.pk, "entitlement_pk": k.entitlement.pk},
    "entitlement-delete": lambda b, k: {"pk": k.account.pk, "entitlement_pk": k.entitlement.pk},
    "plan-detail": _pk(lambda b, k: k.plan),
    "plan-edit": _pk(lambda b, k: k.plan),
    "objective-create": _pk(lambda b, k: k.plan),
    "achievement-add": _pk(lambda b, k: k.plan),
    "objective-edit": _pk(lambda b, k: k.objective),
    "flag-acknowledge": _pk(lambda b, k: k.flag),
    "flag-snooze": _pk(lambda b, k: k.flag),
    "flag-resolve": _pk(lambda b, k: k.flag),
    "transition-detail": _pk(lambda b, k: k.transition),
    "transition-cancel": _pk(lambda b, k: k.transition),
    "transition-complete": _pk(lambda b, k: k.transition),
    "transition-reschedule": _pk(lambda b, k: k.transition),
    "transition-task-complete": _pk(lambda b, k: k.task),
    "transition-task-email": _pk(lambda b, k: k.email_task),
    "transition-task-email-preview": _pk(lambda b, k: k.email_task),
    "outbound-email-retry": _pk(lambda b, k: k.email),
    "bulk-handover-detail": _pk(lambda b, k: b.rows["bulk"]),
    "playbook-edit": _pk(lambda b, k: b.rows["playbook"]),
    "scorecard-detail": _pk(lambda b, k: b.rows["scorecard"]),
    "scorecard-edit": _pk(lambda b, k: b.rows["scorecard"]),
    "scorecard-clone": _pk(lambda b, k: b.rows["scorecard"]),
    "scorecard-preview": _pk(lambda b, k: b.rows["scorecard"]),
    "scorecard-activate": _pk(lambda b, k: b.rows["scorecard"]),
    "scorecard-retire": _pk(lambda b, k: b.rows["scorecard"]),
    "scorecard-delete": _pk(lambda b, k: b.rows["scorecard"]),
    "backtest-detail": _pk(lambda b, k: b.rows["backtest"]),
    "backtest-progress": _pk(lambda b, k: b.rows["backtest"]),
    "backtest-draft": _pk(lambda b, k: b.rows["backtest"]),
    "flood-warning-acknowledge": _pk(lambda b, k: b.rows["flood_warning"]),
    "notification-read": _pk(lambda b, k: b.rows["notification"]),
    "subscription-edit": _pk(lambda b, k: b.rows["subscription"]),
    "subscription-delete": _pk(lambda b, k: b.rows["subscription"]),
    "delivery-retry": _pk(lambda b, k: b.rows["delivery"]),
    "webhook-detail": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-edit": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-delete": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-rotate-secret": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-test": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-pause": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-resume": _pk(lambda b, k: b.rows["webhook"]),
    "webhook-delivery-retry": _pk(lambda b, k: b.rows["webhook_delivery"]),
    "product-edit": _pk(lambda b, k: b.rows["product"]),
    "product-delete": _pk(lambda b, k: b.rows["product"]),
    "exchange-rate-edit": _pk(lambda b, k: b.rows["rate"]),
    "exchange-rate-delete": _pk(lambda b, k: b.rows["rate"]),
    "tier-rule-edit": _pk(lambda b, k: b.rows["tier_rule"]),
    "tier-rule-delete": _pk(lambda b, k: b.rows["tier_rule"]),
    "tier-rule-move": _pk(lambda b, k: b.rows["tier_rule"]),
    "import-detail": _pk(lambda b, k: b.rows["import_job"]),
    "import-mapping": _pk(lambda b, k: b.rows["import_job"]),
    "import-run": _pk(lambda b, k: b.rows["import_job"]),
    "import-recheck": _pk(lambda b, k: b.rows["import_job"]),
    "import-errors": _pk(lambda b, k: b.rows["import_job"]),
    "token-rotate": _pk(lambda b, k: b.rows["token"]),
    "token-revoke": _pk(lambda b, k: b.rows["token"]),
    # API
    "api:account-detail": ACCOUNT,
    "api:account-change-stage": ACCOUNT,
    "api:account-health": ACCOUNT,
    "api:account-reassign": ACCOUNT,
    "api:contact-detail": _pk(lambda b, k: k.contact),
    "api:contact-restore": _pk(lambda b, k: k.contact),
    "api:timeline-detail": _pk(lambda b, k: k.note),
    "api:outcome-detail": _pk(lambda b, k: k.outcome),
    "api:entitlement-detail": _pk(lambda b, k: k.entitlement),
    "api:success-plan-detail": _pk(lambda b, k: k.plan),
    "api:objective-detail": _pk(lambda b, k: k.objective),
    "api:achievement-detail": _pk(lambda b, k: k.achievement),
    "api:red-flag-detail": _pk(lambda b, k: k.flag),
    "api:red-flag-acknowledge": _pk(lambda b, k: k.flag),
    "api:red-flag-snooze": _pk(lambda b, k: k.flag),
    "api:red-flag-resolve": _pk(lambda b, k: k.flag),
    "api:transition-detail": _pk(lambda b, k: k.transition),
    "api:transition-cancel": _pk(lambda b, k: k.transition),
    "api:transition-complete": _pk(lambda b, k: k.transition),
    "api:transition-reschedule": _pk(lambda b, k: k.transition),
    "api:transition-task-detail": _pk(lambda b, k: k.task),
    "api:transition-task-complete": _pk(lambda b, k: k.task),
    "api:transition-task-skip": _pk(lambda b, k: k.task),
    "api:transition-task-send-email": _pk(lambda b, k: k.email_task),
    "api:outbound-email-detail": _pk(lambda b, k: k.email),
    "api:outbound-email-retry": _pk(lambda b, k: k.email),
    "api:product-detail": _pk(lambda b, k: b.rows["product"]),
    "api:exchange-rate-detail": _pk(lambda b, k: b.rows["rate"]),
    "api:tier-rule-detail": _pk(lambda b, k: b.rows["tier_rule"]),
    "api:user-detail": _pk(lambda b, k: b.rows["user"]),
    "api:user-deactivate": _pk(lambda b, k: b.rows["user"]),
    "api:user-reactivate": _pk(lambda b, k: b.rows["user"]),
    "api:team-detail": _pk(lambda b, k: b.team),
    "api:api-token-detail": _pk(lambda b, k: b.rows["token"]),
    "api:api-token-rotate": _pk(lambda b, k: b.rows["token"]),
    "api:api-token-revoke": _pk(lambda b, k: b.rows["token"]),
    "api:playbook-detail": _pk(lambda b, k: b.rows["playbook"]),
    "api:alert-rule-detail": _pk(lambda b, k: b.rows["alert_rule"]),
    "api:flood-warning-detail": _pk(lambda b, k: b.rows["flood_warning"]),
    "api:flood-warning-acknowledge": _pk(lambda b, k: b.rows["flood_warning"]),
    "api:health-recompute-detail": _pk(lambda b, k: b.rows["backfill"]),
    "api:health-backtest-detail": _pk(lambda b, k: b.rows["backtest"]),
    "api:health-scorecard-detail": _pk(lambda b, k: b.rows["scorecard"]),
    "api:health-scorecard-activate": _pk(lambda b, k: b.rows["scorecard"]),
    "api:health-scorecard-clone": _pk(lambda b, k: b.rows["scorecard"]),
    "api:health-scorecard-new-version": _pk(lambda b, k: b.rows["scorecard"]),
    "api:health-scorecard-preview": _pk(lambda b, k: b.rows["scorecard"]),
    "api:health-scorecard-retire": _pk(lambda b, k: b.rows["scorecard"]),
    "api:notification-detail": _pk(lambda b, k: b.rows["notification"]),
    "api:notification-mark-read": _pk(lambda b, k: b.rows["notification"]),
    "api:subscription-detail": _pk(lambda b, k: b.rows["subscription"]),
    "api:webhook-detail": _pk(lambda b, k: b.rows["webhook"]),
    "api:webhook-deliveries": _pk(lambda b, k: b.rows["webhook"]),
    "api:webhook-pause": _pk(lambda b, k: b.rows["webhook"]),
    "api:webhook-resume": _pk(lambda b, k: b.rows["webhook"]),
    "api:webhook-rotate-secret": _pk(lambda b, k: b.rows["webhook"]),
    "api:webhook-test": _pk(lambda b, k: b.rows["webhook"]),
    "api:import-job": _pk(lambda b, k: b.rows["import_job"]),
    # Django's admin
    "admin:app_list": lambda b, k: {"app_label": "accounts"},
    "admin:view_on_site": lambda b, k: {"content_type_id": b.rows["content_type"].pk, "object_id": k.account.pk},
    "admin:auth_user_password_change": lambda b, k: {"id": b.rows["user"].pk},
    "admin/(?P<url>.*)$": lambda b, k: {"url": "no-such-page/"},
}


def admin_object_args(label: str) -> Args:
    """The admin's change, history and delete URLs of one model: the book's row of it, or the first there is."""

    def args(b: Any, k: Any) -> dict[str, Any]:
        row = b.admin_rows.get(label)
        if row is None:
            row = apps.get_model(label).objects.order_by("pk").first()
        assert row is not None, f"the book has no {label} for the admin's URLs"
        return {"object_id": row.pk}

    return args
