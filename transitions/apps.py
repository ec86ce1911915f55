from django.apps import AppConfig


class TransitionsConfig(AppConfig):
    name = "transitions"

    def ready(self) -> None:
        from core import events
        from lifecycle.flags.events import FlagsRaised
        from lifecycle.stages.events import StageChanged
        from transitions import handlers

        events.subscribe(StageChanged, handlers.start_stage_playbooks)
        events.subscribe(FlagsRaised, handlers.start_risk_playbooks)
