"""Writes for notifications: who hears about a red flag, customer emails, sending with retries, the daily digest.

A flag's notifications are decided once, in one transaction: in-app rows and
Delivery rows (email, chat webhook) with their rendered content. Customer
emails queued on a handover step (transitions' outbox) become Delivery rows
too. Sending happens afterwards, one delivery at a time, and every attempt is
recorded; a customer email's outcome is also reported back to its outbox row.
Keys on notifications and deliveries make a redelivered task harmless.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from core.db_retry import retry_when_locked
from core.text import counted
from lifecycle.flags.models import SEVERITY_RANK, FloodWarning
from lifecycle.models import UNRESOLVED, FlagStatus, RedFlag
from transitions.models import OutboundEmail, OutboundEmailStatus, Transition
from transitions.services import (
    outbound_email_mark_failed,
    outbound_email_mark_sending,
    outbound_email_mark_sent,
    outbound_email_retry,
)
from transitions.services.customer_emails import UNCONFIRMED_REASON
from users.models import User
from users.permissions import can_manage_deliveries, unready_handover_confirmers_q

from .chat import slack_link, slack_text
from .models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationKind,
    Subscription,
    SubscriptionScope,
)
from .webhooks.addresses import UnsafeURL, check_url
from .webhooks.posting import post

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt; the last failure marks the delivery failed.
BACKOFF_SECONDS = (60, 5 * 60, 30 * 60, 2 * 3600, 6 * 3600)
# A claimed delivery is not retried for this long: a worker that died mid-send is picked up after it.
CLAIM_SECONDS = 10 * 60
RETRY_BATCH = 200
# A customer email still queued this long after it was written, without a delivery under way, was never
# handed over (the process died between the commit and the handler): the sweep takes it up.
CUSTOMER_EMAIL_ADOPT_AFTER = dt.timedelta(minutes=2)


class DeliveryError(Exception):
    """Sending failed; the message is what admins see on the delivery."""


# --- who hears about a flag ---------------------------------------------------


@dataclass(frozen=True)
class FlagScope:
    """What subscriptions match on, read off a flag and its account."""

    owner_id: int | None
    pool_id: int | None
    team_id: int | None  # the account's team: its owner's team, or its pool
    rule_id: int
    tier: str
    severity: str


def flag_scope(flag: RedFlag) -> FlagScope:
    account = flag.account
    team_id = account.owner.team_id if account.owner_id else account.pool_id
    return FlagScope(
        owner_id=flag.owner_id,
        pool_id=account.pool_id,
        team_id=team_id,
        rule_id=flag.rule_id,
        tier=account.tier,
        severity=flag.severity,
    )


def subscription_matches(subscription: Subscription, scope: FlagScope, *, rule_ids: set[int]) -> bool:
    """Does `subscription` (whose rule filter is `rule_ids`, empty = all) want to hear about this flag?"""
    user = subscription.user
    if subscription.scope == SubscriptionScope.MINE:
        own = scope.owner_id == user.pk
        pooled = scope.owner_id is None and user.team_id is not None and scope.pool_id == user.team_id
        if not (own or pooled):
            return False
    elif subscription.scope == SubscriptionScope.TEAM:
        if user.team_id is None or scope.team_id != user.team_id:
            return False
    if rule_ids and scope.rule_id not in rule_ids:
        return False
    if subscription.tier and subscription.tier != scope.tier:
        return False
    return SEVERITY_RANK[scope.severity] >= SEVERITY_RANK[subscription.min_severity]


def _absolute(path: str) -> str:
    return settings.BATON_BASE_URL.rstrip("/") + path


def _flag_key(flag: RedFlag) -> str:
    # Raising and each re-opening stamp raised_at afresh, so each is notified once.
    return f"flag:{flag.pk}:{int(flag.raised_at.timestamp() * 1000)}"


def _covered_by(flag: RedFlag) -> str:
    account = flag.account
    if account.owner_id:
        return str(account.owner)
    return f"{account.pool} pool" if account.pool_id else "nobody"


def _flag_email(flag: RedFlag, *, recipient: User, reopened: bool, why: str) -> dict[str, str]:
    context = {
        "flag": flag,
        "account": flag.account,
        "recipient": recipient,
        "reopened": reopened,
        "why": why,
        "covered_by": _covered_by(flag),
        "account_url": _absolute(reverse("account-detail", args=[flag.account_id])),
        "alerts_url": _absolute(reverse("alerts")),
        "subscriptions_url": _absolute(reverse("subscriptions")),
    }
    return {
        "subject": " ".join(render_to_string("notifications/email/flag_raised_subject.txt", context).split()),
        "body": render_to_string("notifications/email/flag_raised.txt", context),
        "html_body": render_to_string("notifications/email/flag_raised.html", context),
    }


def _webhook_text(flag: RedFlag, *, reopened: bool) -> str:
    url = _absolute(reverse("account-detail", args=[flag.account_id]))
    verb = "re-opened" if reopened else "raised"
    # Names and the reason may quote customers (an NPS comment): escaped as text, never live markup (chat.py).
    return (
        f":triangular_flag_on_post: *{flag.get_severity_display()}* red flag {verb} on {slack_link(url, flag.account)}: "
        f"{slack_text(flag.rule.name)}\n{slack_text(flag.reason)}\nCovered by {slack_text(_covered_by(flag))}."
    )


@dataclass(frozen=True)
class _Audience:
    """Who may hear about a set of flags, read once: the pools' active members and every active subscription."""

    pool_members: dict[int, list[User]]
    subscriptions: list[Subscription]
    rule_filters: dict[int, set[int]]


def _audience(flags: list[RedFlag]) -> _Audience:
    pool_ids = {f.account.pool_id for f in flags if f.owner_id is None and f.account.pool_id}
    pool_members: dict[int, list[User]] = {}
    for member in User.objects.filter(team_id__in=pool_ids, is_active=True):
        pool_members.setdefault(member.team_id, []).append(member)
    subscriptions = list(
        Subscription.objects.filter(user__is_active=True).select_related("user").prefetch_related("rules")
    )
    rule_filters = {s.pk: {r.pk for r in s.rules.all()} for s in subscriptions}
    return _Audience(pool_members=pool_members, subscriptions=subscriptions, rule_filters=rule_filters)


def _recipients(flag: RedFlag, audience: _Audience) -> dict[int, tuple[User, bool, str]]:
    """recipient id -> (the person, send them an email?, why they hear about it)."""
    scope = flag_scope(flag)
    recipients: dict[int, tuple[User, bool, str]] = {}
    if flag.owner_id and flag.owner.is_active:
        recipients[flag.owner_id] = (flag.owner, True, "you own this account")
    elif flag.owner_id is None:
        for member in audience.pool_members.get(flag.account.pool_id, []):
            recipients[member.pk] = (member, True, f"your team's pool ({flag.account.pool}) covers this account")
    for subscription in audience.subscriptions:
        if subscription.user_id in recipients and recipients[subscription.user_id][1]:
            continue
        if subscription_matches(subscription, scope, rule_ids=audience.rule_filters[subscription.pk]):
            wants_email = subscription.email_each_flag or recipients.get(subscription.user_id, (None, False))[1]
            recipients[subscription.user_id] = (
                subscription.user,
                wants_email,
                f"of your subscription to {subscription.get_scope_display().lower()}",
            )
    return recipients


def _open_flags(flag_ids: Iterable[int]) -> list[RedFlag]:
    return list(
        RedFlag.objects.filter(pk__in=list(flag_ids), status=FlagStatus.OPEN).select_related(
            "rule", "owner", "account__owner__team", "account__pool"
        )
    )


def _notified_before(flags: list[RedFlag]) -> tuple[set[tuple[int, str]], set[int]]:
    """The (recipient, key) pairs already notified about these flags, and the flags notified at all."""
    earlier = set(
        Notification.objects.filter(flag_id__in=[f.pk for f in flags]).values_list("recipient_id", "key", "flag_id")
    )
    return {(recipient_id, key) for recipient_id, key, _ in earlier}, {flag_id for _, _, flag_id in earlier}


def _flag_notifications(flag: RedFlag, recipients: list[User], *, reopened: bool) -> list[Notification]:
    """One unsaved in-app notification of `flag` for each of `recipients`, in their order."""
    kind = NotificationKind.FLAG_REOPENED if reopened else NotificationKind.FLAG_RAISED
    title = f"{'Re-opened' if reopened else 'Red flag'}: {flag.rule.name} · {flag.account}"[:200]
    url, key = reverse("account-detail", args=[flag.account_id]), _flag_key(flag)
    return [
        Notification(recipient=user, kind=kind, title=title, body=flag.reason, url=url, flag=flag, key=key)
        for user in recipients
    ]


@transaction.atomic
def flags_notify(*, flag_ids: Iterable[int]) -> list[int]:
    """Notify about newly raised or re-opened flags; returns the ids of the deliveries queued.

    The owner (every member of the pool's team when the account is pooled)
    always hears in-app and by email; matching subscribers in-app, and by
    email if they asked to; the account team's chat webhook gets one post.
    Flags that are no longer open are skipped: someone already acted.
    """
    flags = _open_flags(flag_ids)
    if not flags:
        return []
    audience = _audience(flags)
    done_keys, notified_before = _notified_before(flags)

    notifications: list[Notification] = []
    emails: list[tuple[Notification, User, str, bool]] = []
    webhooks: list[Delivery] = []
    for flag in flags:
        key = _flag_key(flag)
        reopened = flag.pk in notified_before
        new = [hears for hears in _recipients(flag, audience).values() if (hears[0].pk, key) not in done_keys]
        made = _flag_notifications(flag, [user for user, _, _ in new], reopened=reopened)
        notifications += made
        emails += [
            (notification, user, why, reopened)
            for notification, (user, wants_email, why) in zip(made, new, strict=True)
            if wants_email and user.email
        ]
        team = flag.account.owner.team if flag.account.owner_id else flag.account.pool
        if team is not None and team.chat_webhook_url:
            webhooks.append(
                Delivery(
                    flag=flag,
                    channel=Channel.WEBHOOK,
                    target=team.chat_webhook_url,
                    body=json.dumps({"text": _webhook_text(flag, reopened=reopened)}),
                    key=f"{key}:webhook:{team.pk}",
                )
            )
    Notification.objects.bulk_create(notifications)
    deliveries = webhooks + [
        Delivery(
            notification=notification,
            flag=notification.flag,
            channel=Channel.EMAIL,
            target=user.email,
            key=f"{notification.key}:email:{user.pk}",
            **_flag_email(notification.flag, recipient=user, reopened=reopened, why=why),
        )
        for notification, user, why, reopened in emails
    ]
    return _deliveries_queue(deliveries)


IN_APP_BATCH = 5000


@transaction.atomic
def flags_notify_in_app(*, flag_ids: Iterable[int]) -> int:
    """In-app notifications alone for open flags raised without notice (the demo's); returns how many were made.

    The same people hear as from flags_notify (owner or pool, matching
    subscribers) under the same keys, so a later flags_notify of the same
    raise adds nothing for them; nobody is emailed or posted to about flags
    that were never news. Each one is dated when its flag was raised. A fixed
    handful of queries per IN_APP_BATCH flags.
    """
    ids = sorted(set(flag_ids))
    made = 0
    for start in range(0, len(ids), IN_APP_BATCH):
        flags = _open_flags(ids[start : start + IN_APP_BATCH])
        if not flags:
            continue
        audience = _audience(flags)
        done_keys, notified_before = _notified_before(flags)
        notifications: list[Notification] = []
        for flag in flags:
            key = _flag_key(flag)
            recipients = [
                user for user, _, _ in _recipients(flag, audience).values() if (user.pk, key) not in done_keys
            ]
            for notification in _flag_notifications(flag, recipients, reopened=flag.pk in notified_before):
                notification.created_at = flag.raised_at
                notifications.append(notification)
        made += len(Notification.objects.bulk_create(notifications, batch_size=IN_APP_BATCH))
    return made


def flood_warnings_notify(*, warning_ids: Iterable[int]) -> int:
    """Tell every active admin and manager, under the bell, that one rule flagged much of the book last night.

    Once per warning and count of flags: a warning that grew after it was acknowledged tells them again.
    Returns how many notifications were written (one query for the warnings, one for the people, one insert).
    """
    warnings = list(FloodWarning.objects.filter(pk__in=list(warning_ids)).select_related("rule"))
    if not warnings:
        return 0
    people = list(User.objects.filter(is_active=True, role__in=[User.Role.ADMIN, User.Role.MANAGER]))
    url = reverse("alerts")
    notifications = [
        Notification(
            recipient=person,
            kind=NotificationKind.FLOOD_WARNING,
            title=f"“{warning.rule.name}” flagged {warning.share:.0%} of the book on {warning.day:%d %b}",
            body=(
                f"{counted(warning.fired, 'new flag', grouped=True)} across "
                f"{counted(warning.book_size, 'account', grouped=True)}, above the {warning.limit:.0%} "
                "limit. Every flag was raised; check whether the rule's threshold or a feed is at fault."
            ),
            url=url,
            key=f"flood:{warning.pk}:{warning.fired}",
        )
        for warning in warnings
        for person in people
    ]
    return len(Notification.objects.bulk_create(notifications, ignore_conflicts=True))


def handover_confirmation_notify(*, transition_id: int, readiness: int, threshold: int) -> int:
    """Ask, under the bell, the people who may confirm it to look at a handover held below its readiness bar.

    The managers of the teams that cover the account (its owner's, its pool); admins when those teams have
    no active manager, so a held handover always reaches someone who can release it. Once per handover and
    readiness: held again at another readiness (after a step was reopened), they are asked again.
    Returns how many notifications were written (the handover, the people, an admin fallback when needed, an insert).
    """
    handover = (
        Transition.objects.filter(pk=transition_id)
        .select_related("account__owner", "to_csm", "playbook")
        .with_progress()
        .first()
    )
    # Completed or cancelled since (a manager was quick, or it was reopened): nothing to ask.
    if handover is None or not handover.awaiting_confirmation:
        return 0
    account = handover.account
    team_ids = {team_id for team_id in (account.owner.team_id if account.owner else None, account.pool_id) if team_id}
    people = list(User.objects.filter(unready_handover_confirmers_q(team_ids=team_ids)))
    if not people:
        people = list(User.objects.filter(Q(role=User.Role.ADMIN) | Q(is_superuser=True), is_active=True))
    incoming = handover.to_csm.get_full_name() or handover.to_csm.username if handover.to_csm else "the incoming CSM"
    notifications = [
        Notification(
            recipient=person,
            kind=NotificationKind.HANDOVER_AWAITING,
            title=f"{account.name}: handover to {incoming} awaits your confirmation",
            body=(
                f"Every required step is done, but the context is {readiness}% ready against the "
                f"{threshold}% “{handover.playbook.name}” asks for. Complete it with a reason, or ask for "
                "what is missing."
            ),
            url=reverse("transition-detail", args=[handover.pk]),
            key=f"handover-awaiting:{handover.pk}:{readiness}",
        )
        for person in people
    ]
    return len(Notification.objects.bulk_create(notifications, ignore_conflicts=True))


def _deliveries_revive(deliveries: QuerySet[Delivery]) -> int:
    """Those of `deliveries` that failed get a fresh set of attempts, the first one due now."""
    return deliveries.filter(status=DeliveryStatus.FAILED).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )


def _deliveries_queue(deliveries: list[Delivery]) -> list[int]:
    """Insert deliveries (skipping any whose key exists) and send the new ones after commit."""
    if not deliveries:
        return []
    Delivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    ids = list(
        Delivery.objects.filter(key__in=[d.key for d in deliveries], status=DeliveryStatus.PENDING, attempts=0)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if ids:
        from .tasks import delivery_send

        transaction.on_commit(lambda: [delivery_send.delay(pk) for pk in ids])
    return ids


# --- customer emails from handover steps ----------------------------------------


def _customer_email_key(email_id: int) -> str:
    return f"customer_email:{email_id}"


@transaction.atomic
def customer_emails_queue(*, email_ids: Iterable[int]) -> list[int]:
    """Send queued customer emails (transitions' outbox) like any delivery; returns the ids of the deliveries queued.

    One delivery per email, with the email's rendered content. Idempotent: an
    email whose delivery is pending or sent is left to it; one whose delivery
    failed and that its sender queued again gets a fresh set of attempts.
    Emails no longer queued are skipped.
    """
    emails = list(OutboundEmail.objects.filter(pk__in=list(email_ids), status=OutboundEmailStatus.QUEUED))
    if not emails:
        return []
    _deliveries_revive(Delivery.objects.filter(outbound_email__in=emails))
    return _deliveries_queue(
        [
            Delivery(
                outbound_email=email,
                channel=Channel.CUSTOMER,
                target=email.to_email,
                subject=email.subject,
                body=email.body,
                key=_customer_email_key(email.pk),
            )
            for email in emails
        ]
    )


def _customer_emails_stranded(*, at: dt.datetime, limit: int) -> list[int]:
    """Queued customer emails with no delivery under way: never handed over, or queued again and not revived."""
    return list(
        OutboundEmail.objects.filter(status=OutboundEmailStatus.QUEUED, created_at__lte=at - CUSTOMER_EMAIL_ADOPT_AFTER)
        .filter(Q(delivery__isnull=True) | Q(delivery__status=DeliveryStatus.FAILED))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def _report(
    delivery: Delivery, *, sent_at: dt.datetime | None = None, error: str = "", will_retry: bool = False
) -> None:
    """Tell the customer email's outbox row how the attempt went; other channels have nobody to tell."""
    if delivery.outbound_email_id is None:
        return
    if sent_at is not None:
        outbound_email_mark_sent(email_id=delivery.outbound_email_id, sent_at=sent_at)
    else:
        outbound_email_mark_failed(email_id=delivery.outbound_email_id, error=error, will_retry=will_retry)


# --- sending ------------------------------------------------------------------


def _send_email(delivery: Delivery) -> None:
    message = EmailMultiAlternatives(
        subject=delivery.subject, body=delivery.body, from_email=settings.DEFAULT_FROM_EMAIL, to=[delivery.target]
    )
    if delivery.html_body:
        message.attach_alternative(delivery.html_body, "text/html")
    try:
        message.send(fail_silently=False)
    except Exception as error:  # noqa: BLE001 - any backend failure must be recorded, never lost
        raise DeliveryError(f"{type(error).__name__}: {error}") from error


def _post_webhook(delivery: Delivery) -> None:
    """Post a team's chat message the way outbound webhooks post (notifications.webhooks): the address is checked
    at send time (a team's URL is saved in users, below this app, which cannot check it), no redirects."""
    try:
        target = check_url(delivery.target)
    except UnsafeURL as error:
        raise DeliveryError(f"Refused: {error}") from error
    response = post(target, body=delivery.body.encode(), headers={}, timeout=settings.BATON_WEBHOOK_TIMEOUT)
    if response.status_code is None:
        raise DeliveryError(f"Could not reach the webhook: {response.error}")
    if not response.ok:
        raise DeliveryError(response.error)


SENDERS = {Channel.EMAIL: _send_email, Channel.WEBHOOK: _post_webhook, Channel.CUSTOMER: _send_email}


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1])


@retry_when_locked
@transaction.atomic
def _delivery_claim(*, delivery_id: int, now: dt.datetime) -> Delivery | None:
    """Claim a due delivery for one attempt, or None if it is not due (or taken).

    A customer email's outbox row is claimed with it ("sending", transitions.services.customer_emails). When the
    row may not be sent (an earlier attempt never reported back, so the customer may have it already; or it is no
    longer queued) the delivery fails at once with the reason, and nothing is sent: at most once, made visible.
    """
    claimed = Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now).update(
        attempts=F("attempts") + 1, next_attempt_at=now + dt.timedelta(seconds=CLAIM_SECONDS)
    )
    if not claimed:
        return None
    delivery = Delivery.objects.get(pk=delivery_id)
    if delivery.outbound_email_id is not None:
        status = outbound_email_mark_sending(email_id=delivery.outbound_email_id, at=now)
        if status != OutboundEmailStatus.SENDING:
            delivery.status = DeliveryStatus.FAILED
            delivery.last_error = (
                UNCONFIRMED_REASON
                if status == OutboundEmailStatus.UNCONFIRMED
                else f"Not sent: the email is {OutboundEmailStatus(status).label.lower() if status else 'gone'}."
            )
            Delivery.objects.filter(pk=delivery_id).update(
                status=delivery.status, last_error=delivery.last_error, next_attempt_at=now
            )
    return delivery


@retry_when_locked
@transaction.atomic
def _delivery_record(delivery: Delivery, *, sent_at: dt.datetime | None = None, error: str = "") -> str:
    """Write an attempt's outcome and report it to a customer email's outbox row, in one short transaction.

    Retried when the database is locked: after a send, losing this write is what would leave an email "sending".
    """
    if sent_at is not None:
        recorded = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.SENT, sent_at=sent_at, last_error=""
        )
        if recorded:
            _report(delivery, sent_at=sent_at)
        return DeliveryStatus.SENT
    finished = timezone.now()
    gave_up = delivery.attempts >= Delivery.MAX_ATTEMPTS
    status = DeliveryStatus.FAILED if gave_up else DeliveryStatus.PENDING
    recorded = Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.PENDING).update(
        status=status,
        last_error=error[:2000],
        next_attempt_at=finished if gave_up else finished + backoff(delivery.attempts),
    )
    if recorded:
        _report(delivery, error=error, will_retry=not gave_up)
    return status


def delivery_attempt(*, delivery_id: int) -> str | None:
    """Try to send one due delivery; returns its new status, or None if it was not due (or taken).

    The claim is a conditional update, so two workers never send the same
    delivery at once; no transaction is held open while the network is slow.
    The outcome is recorded afterwards, in one short transaction with the
    report to a customer email's outbox row.
    """
    delivery = _delivery_claim(delivery_id=delivery_id, now=timezone.now())
    if delivery is None:
        return None
    if delivery.status == DeliveryStatus.FAILED:
        logger.error("Delivery %s not sent: %s", delivery_id, delivery.last_error)
        return DeliveryStatus.FAILED
    try:
        SENDERS[delivery.channel](delivery)
    except DeliveryError as error:
        status = _delivery_record(delivery, error=str(error))
        log = logger.error if status == DeliveryStatus.FAILED else logger.warning
        log("Delivery %s attempt %s failed: %s", delivery_id, delivery.attempts, error)
        return status
    return _delivery_record(delivery, sent_at=timezone.now())


def deliveries_retry_due(*, limit: int = RETRY_BATCH) -> dict[str, int]:
    """Attempt up to `limit` due deliveries, oldest due first; the rest stay pending for the next sweep.

    Customer emails that never got a delivery under way are taken up first.
    """
    stranded = _customer_emails_stranded(at=timezone.now(), limit=limit)
    if stranded:
        customer_emails_queue(email_ids=stranded)
    outcome: dict[str, int] = {}
    for pk in Delivery.objects.due().order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]:
        status = delivery_attempt(delivery_id=pk)
        if status is not None:
            outcome[status] = outcome.get(status, 0) + 1
    return outcome


@transaction.atomic
def delivery_retry(*, actor: User, delivery: Delivery) -> Delivery:
    """An admin sends a failed delivery again, with a fresh set of attempts.

    A customer email is queued again through its outbox row, as its sender
    would from the task, so the task shows it queued too (customer_emails_queue
    then revives the delivery).
    """
    if not can_manage_deliveries(actor):
        raise ValidationError("Only admins can retry deliveries.")
    if delivery.status != DeliveryStatus.FAILED:
        raise ValidationError("Only failed deliveries can be retried.")
    if delivery.outbound_email is not None:
        outbound_email_retry(actor=actor, email=delivery.outbound_email)
        return delivery
    _deliveries_revive(Delivery.objects.filter(pk=delivery.pk))
    from .tasks import delivery_send

    transaction.on_commit(lambda: delivery_send.delay(delivery.pk))
    delivery.refresh_from_db()
    return delivery


# --- reading --------------------------------------------------------------------


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of `user`'s notifications read; someone else's is not found."""
    notification = Notification.objects.get(pk=notification_id, recipient=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, user: User) -> int:
    return Notification.objects.for_user(user).unread().update(read_at=timezone.now())


# --- subscriptions ----------------------------------------------------------------

SUBSCRIPTION_FIELDS = ("scope", "tier", "min_severity", "email_each_flag", "daily_digest")


def _subscription_validate(user: User, fields: dict[str, Any]) -> None:
    if fields.get("scope") == SubscriptionScope.TEAM and user.team_id is None:
        raise ValidationError({"scope": "You are not in a team; choose your accounts or all accounts."})


@transaction.atomic
def subscription_create(*, user: User, fields: dict[str, Any], rules: Iterable[Any] = ()) -> Subscription:
    _subscription_validate(user, fields)
    subscription = Subscription(user=user, **{k: v for k, v in fields.items() if k in SUBSCRIPTION_FIELDS})
    subscription.full_clean()
    subscription.save()
    subscription.rules.set(list(rules))
    return subscription


@transaction.atomic
def subscription_update(
    *, subscription: Subscription, fields: dict[str, Any], rules: Iterable[Any] | None = None
) -> Subscription:
    merged = {k: getattr(subscription, k) for k in SUBSCRIPTION_FIELDS} | {
        k: v for k, v in fields.items() if k in SUBSCRIPTION_FIELDS
    }
    _subscription_validate(subscription.user, merged)
    for name, value in merged.items():
        setattr(subscription, name, value)
    subscription.full_clean()
    subscription.save()
    if rules is not None:
        subscription.rules.set(list(rules))
    return subscription


# --- the daily digest ----------------------------------------------------------------


def _open_tasks(user: User) -> Any:
    """The user's due and overdue handover/playbook tasks, from the transitions app (2 queries)."""
    from transitions.selectors import tasks_for_cockpit

    return tasks_for_cockpit(user, limit=20)


@transaction.atomic
def digests_queue(*, today: dt.date | None = None) -> list[int]:
    """One digest email per person with a digest subscription: flags raised in the last day and due work.

    Keyed by person and day, so a second run the same day sends nothing more.
    Nobody gets an empty digest.
    """
    today = today or timezone.localdate()
    since = timezone.now() - dt.timedelta(days=1)
    subscriptions = list(
        Subscription.objects.filter(daily_digest=True, user__is_active=True)
        .exclude(user__email="")
        .select_related("user")
        .prefetch_related("rules")
    )
    if not subscriptions:
        return []
    flags = list(
        RedFlag.objects.filter(raised_at__gte=since, status__in=UNRESOLVED)
        .select_related("rule", "account__owner", "account__pool")
        .order_by("-raised_at")
    )
    scopes = {flag.pk: flag_scope(flag) for flag in flags}
    by_user: dict[int, tuple[User, dict[int, RedFlag]]] = {}
    for subscription in subscriptions:
        rule_ids = {r.pk for r in subscription.rules.all()}
        _, matched = by_user.setdefault(subscription.user_id, (subscription.user, {}))
        for flag in flags:
            if subscription_matches(subscription, scopes[flag.pk], rule_ids=rule_ids):
                matched[flag.pk] = flag
    deliveries = []
    for user, matched in by_user.values():
        tasks = _open_tasks(user)
        due = [task for task in tasks.tasks if task.due_date <= today]
        if not matched and not due:
            continue
        context = {
            "user": user,
            "today": today,
            "flags": sorted(matched.values(), key=lambda f: (-SEVERITY_RANK[f.severity], f.account.name)),
            "tasks": due,
            "overdue_count": tasks.overdue_count,
            "base_url": settings.BATON_BASE_URL.rstrip("/"),
            "alerts_url": _absolute(reverse("alerts")),
            "subscriptions_url": _absolute(reverse("subscriptions")),
        }
        deliveries.append(
            Delivery(
                channel=Channel.EMAIL,
                target=user.email,
                key=f"digest:{user.pk}:{today.isoformat()}",
                subject=" ".join(render_to_string("notifications/email/digest_subject.txt", context).split()),
                body=render_to_string("notifications/email/digest.txt", context),
                html_body=render_to_string("notifications/email/digest.html", context),
            )
        )
    return _deliveries_queue(deliveries)
