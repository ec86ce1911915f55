from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from core import events
        from lifecycle.flags.events import FlagsRaised, FloodWarningsRaised
        from notifications import handlers
        from transitions.events import CustomerEmailsQueued

        events.subscribe(FlagsRaised, handlers.notify_flags_raised)
        events.subscribe(FloodWarningsRaised, handlers.notify_flood_warnings)
        events.subscribe(CustomerEmailsQueued, handlers.send_customer_emails)
