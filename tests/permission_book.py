"""The small book of business the permission matrix (tests/test_permission_matrix.py) fills its URLs from.

Two teams. Team A: Alex owns an account, Pia shares a pooled one through the team's pool, Ines takes over
Alex's account in a handover, Maria manages them. Team B: Olga (a CSM) and Tom (their manager). Root is an
admin (superuser, staff, as the demo makes its admin). Each of the two team A accounts carries one of
everything that hangs off an account (a contact, a timeline note, an outcome, an entitlement, a red flag, a
success plan with an objective and an achievement, a running handover with its steps and a customer email);
configuration and personal rows (a product, an exchange rate, a tier rule, a draft scorecard, a backtest, a
backfill, a flood warning, Alex's notification, subscription and personal token, a failed delivery, a webhook
endpoint and its delivery, an import, a bulk handover) exist once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.utils import timezone
from rest_framework.authtoken.models import Token as LegacyToken

from accounts.imports.models import ImportJob
from accounts.models import (
    Account,
    AccountTerms,
    Contact,
    Coverage,
    Entitlement,
    Outcome,
    Tag,
    TermsSource,
    TimelineEntry,
)
from accounts.money.models import ExchangeRate
from accounts.segments.models import TierRule
from accounts.tests.factories import (
    AccountFactory,
    ContactFactory,
    EntitlementFactory,
    OutcomeFactory,
    ProductFactory,
    TimelineEntryFactory,
)
from lifecycle.flags.models import FloodWarning, RedFlag
from lifecycle.health.models import Backtest, HealthBackfill, Scorecard, ScorecardStatus
from lifecycle.health.scorecards.services import scorecard_clone
from lifecycle.signals.models import CheckIn, Invoice, PulseRating, SupportTicket, SurveyResponse, UsageDaily
from lifecycle.stages.models import StageChange
from notifications.models import Channel, Delivery, DeliveryStatus, Notification, NotificationKind
from notifications.tests.factories import RedFlagFactory, SubscriptionFactory, default_rule
from notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from plans.models import Achievement, Objective, SuccessPlan
from plans.services import achievement_record, objective_create, plan_create
from transitions.models import (
    AssigneeRole,
    BulkHandover,
    OutboundEmail,
    OutboundEmailStatus,
    Playbook,
    PlaybookKind,
    Transition,
    TransitionReason,
    TransitionTask,
)
from transitions.services.transitions import transition_start
from users.models import Team, User, UserAction, UserEvent
from users.tests.factories import AdminFactory, CSMFactory, ManagerFactory, TeamFactory
from users.tokens import services as token_services
from users.tokens.models import TokenKind
from users.tokens.scopes import Scope

EVERY_SCOPE = tuple(scope.value for scope in Scope)


@dataclass
class Kit:
    """One account and one of each thing that hangs off it."""

    account: Account
    contact: Contact
    note: TimelineEntry
    outcome: Outcome
    entitlement: Entitlement
    flag: RedFlag
    plan: SuccessPlan
    objective: Objective
    achievement: Achievement
    transition: Transition
    # The outgoing CSM's first handover step: Alex's on Alex's account; a pooled account has no outgoing CSM, so
    # its step falls to the team's manager.
    task: TransitionTask
    # The handover's introduction email step (the incoming CSM's, Ines's) and the customer email sent from it.
    email_task: TransitionTask
    email: OutboundEmail
    # Another account covered the same way, with no handover running: one to start a handover on.
    spare: Account


@dataclass
class Book:
    team: Team
    other_team: Team
    people: dict[str, User]
    owned: Kit
    pooled: Kit
    rows: dict[str, Any] = field(default_factory=dict)
    # One row of each model Django's admin lists, by label, for its change, history and delete URLs.
    admin_rows: dict[str, Any] = field(default_factory=dict)
    revoked_token: str = ""
    # What sends the requests, with each role's sign-in cookies (set by the matrix's fixture).
    caller: Any = None


def _kit(account: Account, spare: Account, *, manager: User, incoming: User, product) -> Kit:
    contact = ContactFactory(account=account, first_name="Chris", last_name="Contact", email="chris@customer.example")
    note = TimelineEntryFactory(account=account, author=manager)
    outcome = OutcomeFactory(account=account, occurred_on=timezone.localdate() - dt.timedelta(days=400))
    entitlement = EntitlementFactory(account=account, product=product)
    flag = RedFlagFactory(account=account)
    plan = plan_create(actor=manager, account=account, fields={"name": f"Plan for {account.name}"})
    objective = objective_create(actor=manager, plan=plan, fields={"title": "Adopt reporting"})
    achievement = achievement_record(
        actor=manager, plan=plan, title="First report", achieved_on=timezone.localdate(), objective=objective
    )
    transition = transition_start(
        actor=manager,
        account=account,
        to_csm=incoming,
        reason=TransitionReason.REBALANCING,
        start_date=timezone.localdate(),
        target_date=timezone.localdate() + dt.timedelta(days=14),
    )
    task = transition.tasks.filter(assignee_role=AssigneeRole.OUTGOING).order_by("position").first()
    assert task is not None, "the default handover playbook has no outgoing CSM's step"
    email_task = next((step for step in transition.tasks.order_by("position") if step.has_email), None)
    assert email_task is not None, "the default handover playbook has no email step"
    email = OutboundEmail.objects.create(
        account=account,
        task=email_task,
        contact=contact,
        to_email=contact.email,
        subject="Meet your new CSM",
        body="Hello",
        status=OutboundEmailStatus.FAILED,
        attempts=3,
        last_error="Connection refused",
        created_by=incoming,
    )
    return Kit(
        account=account,
        contact=contact,
        note=note,
        outcome=outcome,
        entitlement=entitlement,
        flag=flag,
        plan=plan,
        objective=objective,
        achievement=achievement,
        transition=transition,
        task=task,
        email_task=email_task,
        email=email,
        spare=spare,
    )


def build_book() -> Book:
    team = TeamFactory(name="Team A", segment="Enterprise")
    other_team = TeamFactory(name="Team B", segment="Mid-market")
    people = {
        "csm_owner": CSMFactory(username="pm-alex", first_name="Alex", last_name="Owner", team=team),
        "csm_pooled": CSMFactory(username="pm-pia", first_name="Pia", last_name="Pooled", team=team),
        "csm_incoming": CSMFactory(username="pm-ines", first_name="Ines", last_name="Incoming", team=team),
        "manager": ManagerFactory(username="pm-maria", first_name="Maria", last_name="Manager", team=team),
        "csm_other_team": CSMFactory(username="pm-olga", first_name="Olga", last_name="Other", team=other_team),
        "manager_other_team": ManagerFactory(username="pm-tom", first_name="Tom", last_name="Other", team=other_team),
        "admin": AdminFactory(username="pm-root", first_name="Ada", last_name="Admin", is_superuser=True),
    }
    product = ProductFactory(key="pm-reporting", name="Reporting")
    owned = AccountFactory(name="Owned by Alex", owner=people["csm_owner"], external_id="pm-owned")
    pooled = AccountFactory(
        name="Pooled in Team A", coverage=Coverage.POOLED, owner=None, pool=team, external_id="pm-pooled"
    )
    spare_owned = AccountFactory(name="Also Alex's", owner=people["csm_owner"], external_id="pm-owned-2")
    spare_pooled = AccountFactory(
        name="Also pooled in Team A", coverage=Coverage.POOLED, owner=None, pool=team, external_id="pm-pooled-2"
    )
    AccountFactory(name="Owned by Olga", owner=people["csm_other_team"], external_id="pm-other")
    kit = {"manager": people["manager"], "incoming": people["csm_incoming"], "product": product}
    book = Book(
        team=team,
        other_team=other_team,
        people=people,
        owned=_kit(owned, spare_owned, **kit),
        pooled=_kit(pooled, spare_pooled, **kit),
    )
    admin, alex, maria = people["admin"], people["csm_owner"], people["manager"]
    today = timezone.localdate()
    default_card = Scorecard.objects.filter(status=ScorecardStatus.ACTIVE).order_by("pk").first()
    assert default_card is not None, "the default scorecard (lifecycle migrations) is missing"
    draft = scorecard_clone(actor=admin, source=default_card, name="Matrix draft")
    rule = default_rule("band_red")
    notification = Notification.objects.create(
        recipient=alex, kind=NotificationKind.FLAG_RAISED, title="Red flag", key="pm-flag", flag=book.owned.flag
    )
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example.com/baton", events=["flag.raised"], secret="pm-secret", created_by=admin
    )
    personal = token_services.token_create(
        actor=alex, kind=TokenKind.PERSONAL, name="Alex's script", scopes=EVERY_SCOPE
    ).token
    revoked = token_services.token_create(actor=admin, kind=TokenKind.PERSONAL, name="Leaked", scopes=EVERY_SCOPE)
    token_services.token_revoke(actor=admin, token=revoked.token)
    book.revoked_token = revoked.plaintext
    job = ImportJob(kind="accounts", filename="accounts.csv", size=12, created_by=maria)
    job.file.save("accounts.csv", ContentFile(b"name,domain\n"), save=False)
    job.save()
    book.rows = {
        "product": product,
        # A product nobody holds yet, for new entitlements.
        "new_product": ProductFactory(key="pm-forecasting", name="Forecasting"),
        "rate": ExchangeRate.objects.create(
            currency="EUR",
            rate_to_reporting=Decimal("1.1"),
            effective_on=today - dt.timedelta(days=30),
            created_by=admin,
        ),
        "tier_rule": TierRule.objects.create(position=1, tier="high", min_arr=Decimal("100000"), created_by=admin),
        "scorecard": draft,
        "backtest": Backtest.objects.create(
            scorecard=default_card,
            first_day=today - dt.timedelta(days=365),
            last_day=today,
            horizons=[90],
            requested_by=admin,
        ),
        "backfill": HealthBackfill.objects.create(
            first_day=today - dt.timedelta(days=7),
            last_day=today - dt.timedelta(days=1),
            scorecard=default_card,
            requested_by=admin,
            days_total=7,
        ),
        "flood_warning": FloodWarning.objects.create(
            rule=rule,
            day=today - dt.timedelta(days=1),
            fired=10,
            book_size=20,
            share=Decimal("0.5"),
            limit=Decimal("0.2"),
        ),
        "alert_rule": rule,
        "notification": notification,
        "subscription": SubscriptionFactory(user=alex),
        "delivery": Delivery.objects.create(
            notification=notification,
            channel=Channel.EMAIL,
            target=alex.email,
            subject="Red flag",
            body="...",
            key="pm-delivery",
            status=DeliveryStatus.FAILED,
            attempts=Delivery.MAX_ATTEMPTS,
            last_error="refused",
        ),
        "webhook": endpoint,
        "webhook_delivery": WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_type="flag.raised",
            payload={"type": "flag.raised"},
            status="gave_up",
            attempt_count=8,
            next_attempt_at=None,
            last_error="refused",
        ),
        "import_job": job,
        "bulk": BulkHandover.objects.create(
            created_by=maria,
            playbook=Playbook.objects.get(kind=PlaybookKind.HANDOVER, is_default=True),
            reason=TransitionReason.REBALANCING,
            start_date=today,
            target_date=today + dt.timedelta(days=14),
            assignments=[],
        ),
        "playbook": Playbook.objects.get(kind=PlaybookKind.HANDOVER, is_default=True),
        "token": personal,
        "user": alex,
        "group": Group.objects.create(name="Matrix group"),
        "content_type": ContentType.objects.get_for_model(Account),
    }
    book.admin_rows = _admin_rows(book)
    return book


def _admin_rows(book: Book) -> dict[str, Any]:
    """The book's own rows where it has them; a row of each kind it lacks, made here."""
    account, alex, admin = book.owned.account, book.people["csm_owner"], book.people["admin"]
    now = timezone.now()
    seen = {"ip_address": "203.0.113.9", "username": alex.username, "path_info": "/login/"}
    return {
        "auth.group": book.rows["group"],
        "axes.accessattempt": AccessAttempt.objects.create(**seen, get_data="", post_data="", failures_since_start=1),
        "axes.accesslog": AccessLog.objects.create(**seen),
        "axes.accessfailurelog": AccessFailureLog.objects.create(**seen),
        "users.team": book.team,
        "users.user": alex,
        "users.userevent": UserEvent.objects.create(
            user=alex,
            user_name=str(alex),
            actor=admin,
            actor_name=str(admin),
            action=UserAction.REACTIVATED,
            reason="Back from leave",
        ),
        "authtoken.tokenproxy": LegacyToken.objects.create(user=alex),
        "users.apitoken": book.rows["token"],
        "accounts.outcome": book.owned.outcome,
        "accounts.accountterms": AccountTerms.objects.create(
            account=account,
            arr=account.arr,
            currency=account.currency,
            tier=account.tier,
            recorded_by=admin,
            source=TermsSource.EDITED,
        ),
        "accounts.account": account,
        "accounts.contact": book.owned.contact,
        "accounts.timelineentry": book.owned.note,
        "accounts.tag": Tag.objects.create(name="pm-tag"),
        "lifecycle.alertrule": book.rows["alert_rule"],
        "lifecycle.redflag": book.owned.flag,
        "lifecycle.floodwarning": book.rows["flood_warning"],
        "lifecycle.scorecard": book.rows["scorecard"],
        "lifecycle.checkin": CheckIn.objects.create(account=account, conducted_by=alex),
        "lifecycle.pulserating": PulseRating.objects.create(
            account=account, rated_by=alex, rating=4, expires_at=now + dt.timedelta(days=30)
        ),
        "lifecycle.usagedaily": UsageDaily.objects.create(account=account, day=timezone.localdate()),
        "lifecycle.supportticket": SupportTicket.objects.create(
            account=account, external_id="pm-t1", opened_at=now, time_spent_minutes=5
        ),
        "lifecycle.surveyresponse": SurveyResponse.objects.create(
            account=account, external_id="pm-s1", kind="nps", score=9, responded_at=now
        ),
        "lifecycle.invoice": Invoice.objects.create(
            account=account, external_id="pm-i1", issued_on=timezone.localdate(), amount=Decimal("100")
        ),
        "lifecycle.stagechange": StageChange.objects.create(
            account=account, to_stage="adoption", changed_by=alex, reason="Went live"
        ),
        "notifications.notification": book.rows["notification"],
        "notifications.delivery": book.rows["delivery"],
        "notifications.subscription": book.rows["subscription"],
        "notifications.webhookendpoint": book.rows["webhook"],
        "notifications.webhookdelivery": book.rows["webhook_delivery"],
        "plans.successplan": book.owned.plan,
        "plans.achievement": book.owned.achievement,
        "transitions.playbook": book.rows["playbook"],
        "transitions.transition": book.owned.transition,
        "transitions.outboundemail": book.owned.email,
        "transitions.bulkhandover": book.rows["bulk"],
    }
