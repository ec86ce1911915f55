from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "lifecycle"

    def ready(self) -> None:
        from accounts.events import (
            AccountChanged,
            AccountsChanged,
            ContactChanged,
            ConvertedArrChanged,
            TimelineEntryLogged,
        )
        from core import events
        from lifecycle.health import handlers

        events.subscribe(AccountChanged, handlers.recompute_after_account_change)
        events.subscribe(AccountsChanged, handlers.recompute_after_accounts_change)
        events.subscribe(ContactChanged, handlers.recompute_after_contact_change)
        events.subscribe(TimelineEntryLogged, handlers.recompute_after_touchpoint)
        events.subscribe(ConvertedArrChanged, handlers.recompute_after_reconversion)
