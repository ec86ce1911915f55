from django.core.management.base import BaseCommand

from core.events import subscriptions


class Command(BaseCommand):
    help = "List every event and the handlers subscribed to it, in the order they run."

    def handle(self, *args, **options) -> None:
        for event, handler in subscriptions():
            self.stdout.write(f"{event}  ->  {handler}")
