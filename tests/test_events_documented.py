"""The README's events table is the one place a reader learns who listens to what: it must match the code."""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from core.events import Event, subscriptions

ROOT = Path(__file__).resolve().parent.parent
CODE = re.compile(r"`([\w.]+)`")


def documented_rows() -> list[tuple[str, list[str]]]:
    """(event, [handlers]) per row of the table under README's "### Events"."""
    text = (ROOT / "README.md").read_text()
    section = text.split("### Events", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        rows.append((CODE.findall(cells[0])[0], CODE.findall(cells[2])))
    return rows


def announced_events() -> set[str]:
    """Every Event subclass defined in an app's events.py (the announcing side)."""
    names = set()
    for path in ROOT.glob("*/**/events.py"):
        if ".venv" in path.parts or path.parts[-2] == "core":
            continue
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for thing in vars(module).values():
            if inspect.isclass(thing) and issubclass(thing, Event) and thing.__module__ == module.__name__:
                names.add(f"{module.__name__}.{thing.__qualname__}")
    return names


def test_every_subscription_is_in_the_readme_and_every_documented_one_is_subscribed():
    documented = {(event, handler) for event, handlers in documented_rows() for handler in handlers}
    assert documented == set(subscriptions())


def test_every_event_an_app_can_announce_has_a_row():
    assert {event for event, _ in documented_rows()} == announced_events()
