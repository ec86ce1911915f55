"""What every benchmark suite shares: the result row and the timing helpers.

A suite is a module `bench/suite_<NN>_<name>.py` with `def run() -> list[Result]`.
Suites run in name order against a freshly seeded database (see
`bench/__main__.py`), so they may assume the demo company exists.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


@dataclass
class Result:
    name: str
    value: float
    unit: str
    goal: str
    met: bool

    def as_json(self) -> dict:
        return asdict(self)


def time_get(client: Client, url: str, *, repeat: int = 20) -> tuple[float, int]:
    """Median wall time in ms of GET `url` over `repeat` requests, and the queries one request makes.

    One warm-up request goes first (template loading, connection setup).
    Every response must be 200: timing an error page would flatter the figure.
    """
    _get_ok(client, url)
    with CaptureQueriesContext(connection) as captured:
        _get_ok(client, url)
    queries = len(captured.captured_queries)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        _get_ok(client, url)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), queries


def _get_ok(client: Client, url: str) -> None:
    response = client.get(url)
    if response.status_code != 200:
        raise RuntimeError(f"GET {url} returned {response.status_code}, expected 200")
    # Streaming responses only do their work when consumed.
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


def login_client(username: str) -> Client:
    """A test client signed in as `username` (no password check: the bench measures pages, not hashing)."""
    from users.models import User

    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


def at_most(value: float, limit: float, unit: str, name: str) -> Result:
    """A result whose goal is a ceiling, e.g. `at_most(ms, 100, "ms", "cockpit")`."""
    shown = f"{limit:g}"
    return Result(
        name=name,
        value=round(value, 1),
        unit=unit,
        goal=f"≤ {shown} {unit}",
        met=value <= limit,
    )
