"""Helpers for tests that drive the real parts: a Celery worker process and Chromium.

The fixtures that use these live in the root `conftest.py`; tests import the
plain helpers from here::

    from tests.support import login, screenshot, wait_until
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = REPO_ROOT / "artifacts"

T = TypeVar("T")


class WaitTimeout(AssertionError):
    """Raised by `wait_until`; an AssertionError so pytest reports it as a failed expectation."""


def wait_until(
    predicate: Callable[[], T],
    *,
    timeout: float = 30,
    interval: float = 0.1,
    message: str = "",
) -> T:
    """Poll `predicate` until it returns something truthy, and return that.

    Real workers and browsers finish in their own time; polling with a bound
    keeps tests both fast when things work and finite when they do not.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise WaitTimeout(message or f"Condition not met within {timeout:g}s: {predicate!r}")
        time.sleep(interval)


def database_url(settings_dict: dict) -> str:
    """A DATABASE_URL that points another process at the same database as `settings_dict`."""
    engine = settings_dict["ENGINE"]
    if "postgresql" not in engine:
        raise RuntimeError(
            f"A worker process can only share a PostgreSQL test database, not {engine}. "
            "Run integration tests with `make test-integration`."
        )
    user = quote(settings_dict.get("USER") or "", safe="")
    password = quote(settings_dict.get("PASSWORD") or "", safe="")
    credentials = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{credentials}{host}{port}/{quote(settings_dict['NAME'], safe='')}"


class CeleryWorker:
    """A real `celery worker` subprocess for integration tests.

    It runs the prefork pool with two children, as `make run` and production
    do, so a crash test can SIGKILL the whole worker (main process and pool
    children, like an OOM kill or a lost machine) and then restart it.
    """

    START_TIMEOUT = 60
    STOP_TIMEOUT = 15

    def __init__(
        self,
        *,
        app,
        broker_url: str,
        database_url: str,
        log_path: Path,
        concurrency: int = 2,
    ) -> None:
        self.app = app
        self.broker_url = broker_url
        self.database_url = database_url
        self.log_path = log_path
        self.concurrency = concurrency
        self.nodename = ""
        self._process: subprocess.Popen | None = None
        self._log = None

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("The worker is not running.")
        return self._process.pid

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> CeleryWorker:
        if self.is_running:
            raise RuntimeError("The worker is already running.")
        # A fresh node name per start, so a ping can never be answered by a
        # previous incarnation that is still shutting down.
        self.nodename = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "csm.settings.test",
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CELERY_BROKER_URL": self.broker_url,
            "DATABASE_URL": self.database_url,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "csm",
            "worker",
            "--pool=prefork",
            f"--concurrency={self.concurrency}",
            "--loglevel=INFO",
            "-n",
            self.nodename,
            # Gossip, mingle and heartbeats only add start-up latency for a lone worker.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self._log.write(f"\n=== starting {' '.join(command)}\n".encode())
        self._log.flush()
        # A session of its own lets kill() take the pool children down with the main process.
        self._process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        try:
            wait_until(
                lambda: not self.is_running or self.ping(),
                timeout=self.START_TIMEOUT,
                interval=0.25,
            )
        except WaitTimeout:
            self.kill()
            raise RuntimeError(
                f"The Celery worker did not answer a ping within {self.START_TIMEOUT}s.\n{self.log_tail()}"
            ) from None
        if not self.is_running:
            code = self._process.returncode
            self._close_log()
            raise RuntimeError(f"The Celery worker exited with code {code}.\n{self.log_tail()}")
        return self

    def ping(self, timeout: float = 1.0) -> bool:
        """True when this worker answers a control ping through the broker."""
        replies = self.app.control.ping(destination=[self.nodename], timeout=timeout)
        return any(self.nodename in reply for reply in replies)

    def kill(self) -> None:
        """SIGKILL the worker and its pool children: no warm shutdown, no acks.

        Returns once none of them is running any more.
        """
        if self._process is not None:
            group = self._process.pid
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._process.wait(timeout=self.STOP_TIMEOUT)
            # Pool children are reparented when the main process dies and may
            # take a moment longer to exit.
            wait_until(
                lambda: not live_pids_in_group(group),
                timeout=self.STOP_TIMEOUT,
                message=f"worker processes {live_pids_in_group(group)} survived SIGKILL",
            )
        self._close_log()

    def stop(self) -> None:
        """Warm shutdown (SIGTERM): running tasks finish first. Falls back to kill()."""
        if self.is_running:
            self._process.terminate()
            try:
                self._process.wait(timeout=self.STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        # Also reaps pool children that outlived their parent.
        self.kill()

    def restart(self) -> CeleryWorker:
        self.stop()
        return self.start()

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return "(no worker log)"
        tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last lines of {self.log_path} ---\n" + "\n".join(tail)

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def live_pids_in_group(pgid: int) -> set[int]:
    """Processes in process group `pgid` that have not exited (zombies do not count)."""
    pids = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # After "pid (command)": state, ppid, pgrp, ...
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if int(pgrp) == pgid and state not in ("Z", "X"):
            pids.add(int(stat.parent.name))
    return pids


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the test process dies first.

    Otherwise a crashed or timed-out pytest leaves a worker behind that steals
    the next run's tasks from the same Redis database. (Pool children already
    exit when the worker's main process goes.)
    """
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def failures_of(page) -> list[str]:
    """A list that fills with every HTTP error response and JavaScript error `page` meets from now on."""
    failures: list[str] = []
    page.on("response", lambda response: failures.append(response.url) if response.status >= 400 else None)
    page.on("pageerror", lambda error: failures.append(f"JS error: {error}"))
    return failures


def login(page, live_server, username: str, password: str = "pw") -> None:
    """Log in through the login form, as a person would, and land on the cockpit."""
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("button[type=submit]:has-text('Log in')")
    if "/login/" in page.url:
        raise AssertionError(f"Logging in as {username!r} failed; still on {page.url}")


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as artifacts/<name>.png (CI keeps the folder)."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    path = ARTIFACTS_DIR / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def restore_day_one_configuration() -> None:
    """The scorecard, alert rules and check-in questions a new install ships with.

    Transactional tests (browser, integration) flush every table after they run,
    so a later one puts them back the way the data migration wrote them.
    """
    import importlib

    from django.apps import apps

    importlib.import_module("lifecycle.migrations.0004_default_health_configuration").create_defaults(apps, None)
    importlib.import_module("lifecycle.migrations.0016_scorecard_versions").versions_from_active_flag(apps, None)
    importlib.import_module("lifecycle.migrations.0021_default_scorecard_v2").install_default_v2(apps, None)
