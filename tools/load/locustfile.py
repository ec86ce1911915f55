"""The simulated users `make load` runs in locust (a second process, headless): CSMs in the browser, an integration.

Set by tools/load/__main__.py through the environment:
  LOAD_PLAN          the plan's JSON (tools/load/plan.py): users, account ids, open steps, the token
  LOAD_KINDS         the kinds to send, comma-separated (tools/load/kinds.py); the others are left out
  LOAD_SAMPLES       where to write every request's kind, start, duration and outcome when locust quits
  LOAD_USERS         how many simulated users run (each one request at a time)
  LOAD_INGEST_ROWS   usage rows per batch
  LOAD_WARMUP_SECONDS, LOAD_WINDOW_SECONDS   once every user has signed in, the warm-up and then the measured
                     window; the run stops at the window's end (locust's --run-time only bounds it)
  LOAD_SERVER_PID, LOAD_DATABASE_NAME   gunicorn's master and the database: the CPU its workers and their
                     PostgreSQL backends use in the window is read at both ends (the machine may be shared, so
                     wall times alone would not say what a request costs)

No think time: each simulated user sends its next request as soon as the last is answered, so a run measures what
the server serves at that many requests in flight. Every answer is checked (status, and where it tells success
from refusal, the redirect's target); anything else is an error with its reason.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import random
import re
import time
from collections import deque
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust import FastHttpUser, constant, events
from locust.contrib.fasthttp import FastHttpSession

from tools.load.kinds import (
    ACCOUNT_360,
    ADD_NOTE,
    API_DETAIL,
    API_LIST,
    COCKPIT,
    COMPLETE_TASK,
    CSM,
    KINDS,
    LOGIN,
    LOGIN_PAGE,
    USAGE_INGEST,
)

PLAN: dict[str, Any] = json.loads(Path(os.environ["LOAD_PLAN"]).read_text())
ENABLED = {kind for kind in os.environ.get("LOAD_KINDS", ",".join(KINDS)).split(",") if kind}
INGEST_ROWS = int(os.environ.get("LOAD_INGEST_ROWS", "20"))
CPU_READ_EVERY_SECONDS = 1.0
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

# Every CSM with accounts takes simulated users in turn; their open steps are shared by those users.
_CSMS = [csm for csm in PLAN["csms"] if csm["accounts"]]
_next_csm = itertools.count()
_open_tasks = {csm["username"]: deque(csm["open_tasks"]) for csm in _CSMS}

_samples: list[list[Any]] = []
_marks: dict[str, float] = {}
_cpu: dict[str, dict[str, dict[int, float]]] = {}
_exhausted: dict[str, int] = {}


@events.request.add_listener
def _record(name: str, response_time: float, exception: BaseException | None, start_time: float, **_: Any) -> None:
    _samples.append([name, start_time, response_time, exception is None, None if exception is None else str(exception)])


_started_users = itertools.count(1)
_environment: list[Any] = []


@events.init.add_listener
def _init(environment: Any, **_: Any) -> None:
    _environment.append(environment)


def _cpu_seconds() -> dict[str, dict[int, float]]:
    """CPU seconds so far of the server's workers, their PostgreSQL backends and this process, by process id."""
    server = [*psutil.Process(int(os.environ["LOAD_SERVER_PID"])).children(recursive=True)]
    marker = f" {os.environ['LOAD_DATABASE_NAME']} "
    backends = [
        process
        for process in psutil.process_iter(["cmdline"])
        if (command := " ".join(process.info["cmdline"] or [])).startswith("postgres:") and marker in command
    ]
    seconds: dict[str, dict[int, float]] = {"server": {}, "database": {}, "load_generator": {}}
    for group, processes in (("server", server), ("database", backends), ("load_generator", [psutil.Process()])):
        for process in processes:
            try:
                times = process.cpu_times()
            except psutil.Error:  # it ended meanwhile
                continue
            seconds[group][process.pid] = times.user + times.system
    return seconds


def _window_opens() -> None:
    _marks["window"] = time.time()
    _cpu["start"] = _cpu_seconds()
    _cpu["end"] = {group: dict(seconds) for group, seconds in _cpu["start"].items()}
    gevent.spawn(_cpu_follow)


def _cpu_follow() -> None:
    """Keeps each process's latest CPU reading through the window: a database connection that reaches its maximum age
    ends mid-window, and what it used until its last reading (at most a second before) still counts."""
    while "stopping" not in _marks:
        for group, seconds in _cpu_seconds().items():
            _cpu["end"][group].update(seconds)
        gevent.sleep(CPU_READ_EVERY_SECONDS)


def _window_closes() -> None:
    for group, seconds in _cpu_seconds().items():
        _cpu["end"][group].update(seconds)
    _environment[0].runner.quit()


def _user_started() -> None:
    """Every user has run on_start (signed in or failed to): the warm-up starts, then the window, then the stop."""
    if next(_started_users) == int(os.environ["LOAD_USERS"]):
        _marks["signed_in"] = time.time()
        warmup, window = float(os.environ["LOAD_WARMUP_SECONDS"]), float(os.environ["LOAD_WINDOW_SECONDS"])
        gevent.spawn_later(warmup, _window_opens)
        gevent.spawn_later(warmup + window, _window_closes)


@events.test_stopping.add_listener
def _stopping(**_: Any) -> None:
    _marks.setdefault("stopping", time.time())


@events.cpu_warning.add_listener
def _cpu_warning(**_: Any) -> None:
    # Locust's own process was above 90% CPU: the figures may then be the load generator's limit, not the server's.
    _marks.setdefault("cpu_warning", time.time())


@events.quitting.add_listener
def _write_samples(**_: Any) -> None:
    Path(os.environ["LOAD_SAMPLES"]).write_text(
        json.dumps({"marks": _marks, "exhausted": _exhausted, "samples": _samples, "cpu": _cpu})
    )


def _failure(response: Any, expected: str) -> str:
    body = (
        (response.text or "")[:200].replace("\n", " ") if response.status_code and response.status_code >= 400 else ""
    )
    location = response.headers.get("Location") if response.headers else None
    return f"{response.status_code} (expected {expected}){' to ' + location if location else ''} {body}".strip()


def _weighted(kinds: dict[str, Any]) -> dict[Any, int]:
    return {function: KINDS[kind][1] for kind, function in kinds.items() if kind in ENABLED}


class BatonUser(FastHttpUser):
    """A CSM in the browser (signed in through the form) and an integration with a token, by turns.

    Each request's kind is drawn by the weights in tools/load/kinds.py, so the mix is the same whichever kinds are
    slow: a CSM's page that takes long does not make the integration's calls a larger share of the run.
    """

    wait_time = constant(0)

    def on_start(self) -> None:
        try:
            csm = _CSMS[next(_next_csm) % len(_CSMS)]
            self.username: str = csm["username"]
            self.accounts: list[int] = csm["accounts"]
            # The integration is another client: its own connection, a token and no cookies.
            self.api = FastHttpSession(base_url=self.host, request_event=self.environment.events.request, user=self)
            self.api_headers = {"Authorization": f"Bearer {PLAN['token']}"}
            if any(KINDS[kind][0] == CSM for kind in ENABLED):
                self._sign_in()
        finally:
            _user_started()

    def _sign_in(self) -> None:
        with self.client.get("/login/", name=LOGIN_PAGE, catch_response=True) as response:
            match = CSRF_FIELD.search(response.text or "")
            if response.status_code != 200 or not match:
                response.failure(_failure(response, "200 with a form"))
                return
        form = {"username": self.username, "password": PLAN["password"], "csrfmiddlewaretoken": match.group(1)}
        with self.client.post("/login/", data=form, name=LOGIN, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302 or response.headers.get("Location") != "/":
                response.failure(_failure(response, "302 to the cockpit"))

    def _csrf(self) -> dict[str, str]:
        token = next((cookie.value for cookie in self.client.cookiejar if cookie.name == "csrftoken"), "")
        return {"X-CSRFToken": token or ""}

    def _get_page(self, url: str, kind: str) -> None:
        # Not following redirects: a page that sends the user to sign in again is an error, not the login page's 200.
        with self.client.get(url, name=kind, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(_failure(response, "200"))

    def cockpit(self) -> None:
        self._get_page("/", COCKPIT)

    def account_360(self) -> None:
        self._get_page(f"/accounts/{random.choice(self.accounts)}/", ACCOUNT_360)

    def add_note(self) -> None:
        """The note form on the 360, as htmx posts it: the timeline with a blank form comes back."""
        account = random.choice(self.accounts)
        with self.client.post(
            f"/accounts/{account}/notes/",
            data={"summary": "Call notes", "body": "Walked through adoption; follow-up booked.", "risk_tag": ""},
            headers={"HX-Request": "true", **self._csrf()},
            name=ADD_NOTE,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(_failure(response, "200 with the timeline"))

    def complete_task(self) -> None:
        """A required handover step assigned to this CSM, done from "My tasks": success redirects back there."""
        pool = _open_tasks[self.username]
        if not pool:
            _exhausted[self.username] = _exhausted.get(self.username, 0) + 1
            gevent.sleep(0.1)
            return
        task = pool.popleft()
        with self.client.post(
            f"/transitions/tasks/{task}/complete/",
            data={"next": "my-tasks"},
            headers=self._csrf(),
            name=COMPLETE_TASK,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 302 or response.headers.get("Location") != "/transitions/my-tasks/":
                response.failure(_failure(response, "302 to my tasks"))

    def _get_json(self, url: str, kind: str) -> None:
        with self.api.get(
            url, headers=self.api_headers, name=kind, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(_failure(response, "200"))

    def api_list(self) -> None:
        self._get_json("/api/accounts/", API_LIST)

    def api_detail(self) -> None:
        self._get_json(f"/api/accounts/{random.choice(PLAN['book'])}/", API_DETAIL)

    def usage_ingest(self) -> None:
        """A batch of an earlier day's usage for accounts across the book, as a usage feed sends it."""
        today = dt.datetime.now(dt.UTC).date()
        rows = [
            {
                "account": str(account),
                "day": (today - dt.timedelta(days=random.randint(1, 7))).isoformat(),
                "active_users": random.randint(0, 200),
                "key_events": random.randint(0, 5_000),
                "minutes": random.randint(0, 20_000),
            }
            for account in random.sample(PLAN["book"], INGEST_ROWS)
        ]
        with self.api.post(
            "/api/signals/usage/",
            json={"rows": rows},
            headers=self.api_headers,
            name=USAGE_INGEST,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(_failure(response, "200 with counts"))

    tasks = _weighted(
        {
            COCKPIT: cockpit,
            ACCOUNT_360: account_360,
            ADD_NOTE: add_note,
            COMPLETE_TASK: complete_task,
            API_LIST: api_list,
            API_DETAIL: api_detail,
            USAGE_INGEST: usage_ingest,
        }
    )
