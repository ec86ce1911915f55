from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.demo import (
    DEMO_PASSWORD,
    build_demo_company,
    delete_demo_data,
    demo_data_exists,
)


class Command(BaseCommand):
    help = "Build the demo company (people, accounts, contacts, timeline). Does nothing if Baton already has data."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Same seed, same company (default 42).")
        parser.add_argument("--accounts", type=int, default=300, help="How many accounts (default 300).")
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Delete accounts, teams, tags and the demo people first.",
        )

    def handle(self, *args, seed: int, accounts: int, reset: bool, **options) -> None:
        if accounts < 1:
            raise CommandError("--accounts must be at least 1.")
        if reset:
            deleted = delete_demo_data()
            summary = ", ".join(f"{count:,} {label}" for label, count in deleted.items() if count)
            self.stdout.write(f"Deleted {summary or 'nothing'}.")
        elif demo_data_exists():
            self.stdout.write("Baton already has data; nothing to do. Use --reset to rebuild the demo company.")
            return
        build_demo_company(seed=seed, accounts=accounts, stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(f"Demo company ready. Every demo login uses the password {DEMO_PASSWORD!r}.")
        )
