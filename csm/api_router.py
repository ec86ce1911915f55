from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api.views import ContactViewSet, TimelineEntryViewSet
from accounts.imports.api import AccountImportView, ContactImportView, ImportJobView
from accounts.money.api import ExchangeRateViewSet
from accounts.outcomes.api import OutcomeViewSet
from accounts.products.api import EntitlementViewSet, ProductViewSet
from accounts.segments.api import TierRuleViewSet
from desk.api import AccountDeskViewSet
from lifecycle.flags.api import AlertRuleViewSet, AlertSettingsView, FloodWarningViewSet, RedFlagViewSet
from lifecycle.health.api_backfill import HealthBackfillViewSet
from lifecycle.health.backtest.api import BacktestViewSet
from lifecycle.health.scorecards.api import ScorecardViewSet
from lifecycle.signals.api import (
    InvoiceViewSet,
    ProductUsageDailyViewSet,
    SupportTicketViewSet,
    SurveyResponseViewSet,
    UsageDailyViewSet,
)
from notifications.api import NotificationViewSet, SubscriptionViewSet
from notifications.webhooks.api import WebhookEndpointViewSet
from plans.api.views import AchievementViewSet, ObjectiveViewSet, SuccessPlanViewSet
from transitions.api.views import OutboundEmailViewSet, PlaybookViewSet, TransitionTaskViewSet, TransitionViewSet
from users.api.views import TeamViewSet, UserViewSet
from users.tokens import scopes
from users.tokens.api import ApiTokenViewSet
from users.tokens.scopes import Scope

router = DefaultRouter()
# Accounts composed with what lives above them (health-band filter, stage change): desk.api.
router.register("accounts", AccountDeskViewSet, basename="account")
router.register("contacts", ContactViewSet, basename="contact")
router.register("timeline", TimelineEntryViewSet, basename="timeline")
router.register("outcomes", OutcomeViewSet, basename="outcome")
router.register("products", ProductViewSet, basename="product")
router.register("entitlements", EntitlementViewSet, basename="entitlement")
router.register("exchange-rates", ExchangeRateViewSet, basename="exchange-rate")
router.register("tier-rules", TierRuleViewSet, basename="tier-rule")
router.register("users", UserViewSet, basename="user")
router.register("teams", TeamViewSet, basename="team")
router.register("tokens", ApiTokenViewSet, basename="api-token")
router.register("signals/usage", UsageDailyViewSet, basename="signal-usage")
router.register("signals/product-usage", ProductUsageDailyViewSet, basename="signal-product-usage")
router.register("signals/tickets", SupportTicketViewSet, basename="signal-tickets")
router.register("signals/surveys", SurveyResponseViewSet, basename="signal-surveys")
router.register("signals/invoices", InvoiceViewSet, basename="signal-invoices")
router.register("playbooks", PlaybookViewSet, basename="playbook")
router.register("transitions", TransitionViewSet, basename="transition")
router.register("transition-tasks", TransitionTaskViewSet, basename="transition-task")
router.register("outbound-emails", OutboundEmailViewSet, basename="outbound-email")
router.register("success-plans", SuccessPlanViewSet, basename="success-plan")
router.register("objectives", ObjectiveViewSet, basename="objective")
router.register("achievements", AchievementViewSet, basename="achievement")
router.register("alert-rules", AlertRuleViewSet, basename="alert-rule")
router.register("red-flags", RedFlagViewSet, basename="red-flag")
router.register("flood-warnings", FloodWarningViewSet, basename="flood-warning")
router.register("health/recompute", HealthBackfillViewSet, basename="health-recompute")
router.register("health/backtests", BacktestViewSet, basename="health-backtest")
router.register("health/scorecards", ScorecardViewSet, basename="health-scorecard")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("webhooks", WebhookEndpointViewSet, basename="webhook")

# What an API token needs to write through each view; reads need `read`. None: tokens only read there (the change
# is made in Baton). A view left out refuses tokens altogether, and users/tests/test_tokens_scopes.py fails until it
# is named here. Session users (the browser) are not asked for scopes.
scopes.declare(
    {
        AccountDeskViewSet: Scope.WRITE_ACCOUNTS,
        AccountImportView: Scope.WRITE_ACCOUNTS,
        ContactImportView: Scope.WRITE_ACCOUNTS,
        ImportJobView: None,
        ContactViewSet: Scope.WRITE_ACCOUNTS,
        TimelineEntryViewSet: Scope.WRITE_ACCOUNTS,
        OutcomeViewSet: Scope.WRITE_ACCOUNTS,
        ProductViewSet: Scope.WRITE_ACCOUNTS,
        EntitlementViewSet: Scope.WRITE_ACCOUNTS,
        UsageDailyViewSet: Scope.WRITE_SIGNALS,
        ProductUsageDailyViewSet: Scope.WRITE_SIGNALS,
        SupportTicketViewSet: Scope.WRITE_SIGNALS,
        SurveyResponseViewSet: Scope.WRITE_SIGNALS,
        InvoiceViewSet: Scope.WRITE_SIGNALS,
        # Configuration and the team's own work: read by tokens, changed in Baton.
        ExchangeRateViewSet: None,
        TierRuleViewSet: None,
        UserViewSet: None,
        TeamViewSet: None,
        ApiTokenViewSet: None,  # a token never makes or changes tokens
        PlaybookViewSet: None,
        TransitionViewSet: None,
        TransitionTaskViewSet: None,
        OutboundEmailViewSet: None,
        SuccessPlanViewSet: None,
        ObjectiveViewSet: None,
        AchievementViewSet: None,
        AlertRuleViewSet: None,
        AlertSettingsView: None,
        RedFlagViewSet: None,
        FloodWarningViewSet: None,
        HealthBackfillViewSet: None,
        BacktestViewSet: None,
        ScorecardViewSet: None,
        NotificationViewSet: None,
        SubscriptionViewSet: None,
        WebhookEndpointViewSet: None,
        SpectacularAPIView: None,
        SpectacularSwaggerView: None,
        router.APIRootView: None,
    }
)

urlpatterns = [
    # Before the router, whose accounts/<pk>/ would take "import" for an id.
    path("accounts/import/", AccountImportView.as_view(), name="account-import"),
    path("contacts/import/", ContactImportView.as_view(), name="contact-import"),
    path("imports/<int:pk>/", ImportJobView.as_view(), name="import-job"),
    # One row for the whole install, so no list and no id.
    path("alert-settings/", AlertSettingsView.as_view(), name="alert-settings"),
    *router.urls,
]
