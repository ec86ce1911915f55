from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from accounts.events import OutcomeRecorded
        from core import events
        from lifecycle.flags.events import FlagResolved, FlagsCleared, FlagsRaised, FloodWarningsRaised
        from lifecycle.health.events import BandsChanged
        from lifecycle.stages.events import StageChanged
        from notifications import handlers
        from notifications.webhooks import handlers as webhooks
        from transitions.events import CustomerEmailsQueued, HandoverAwaitingConfirmation, TransitionCompleted

        events.subscribe(FlagsRaised, handlers.notify_flags_raised)
        events.subscribe(FloodWarningsRaised, handlers.notify_flood_warnings)
        events.subscribe(CustomerEmailsQueued, handlers.send_customer_emails)
        events.subscribe(HandoverAwaitingConfirmation, handlers.ask_manager_to_confirm_handover)
        # Outbound webhooks (notifications/webhooks): one delivery per subscribed endpoint.
        events.subscribe(FlagsRaised, webhooks.flags_raised)
        events.subscribe(FlagsCleared, webhooks.flags_cleared)
        events.subscribe(FlagResolved, webhooks.flag_resolved)
        events.subscribe(BandsChanged, webhooks.bands_changed)
        events.subscribe(StageChanged, webhooks.stage_changed)
        events.subscribe(TransitionCompleted, webhooks.transition_completed)
        events.subscribe(OutcomeRecorded, webhooks.outcome_recorded)
