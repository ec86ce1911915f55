"""Real parts the fault tests start and stop themselves: a Redis server of their own, a web server and a Celery
worker pointed at it, and a small HTTP client that signs in through the form.

The machine's shared Redis is never touched: a test that takes Redis down starts its own (`--save ''`: nothing
on disk) on a free port and kills that one.
"""

from __future__ import annotations

import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support import REPO_ROOT, live_pids_in_group, wait_until

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop_group(process: subprocess.Popen | None, *, timeout: float = 15) -> None:
    """SIGTERM the process and its children (a session of their own), then SIGKILL whatever is left."""
    if process is None:
        return
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=timeout)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    for pid in live_pids_in_group(process.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    if process.poll() is None:
        process.kill()
        process.wait(timeout=timeout)


class RedisServer:
    """`redis-server` on 127.0.0.1:`port`, in memory only; `kill()` is a crash, `start()` a restart (empty)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> RedisServer:
        self._process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(self.answers, timeout=15, message=f"redis-server on port {self.port} did not start")
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=15)
            self._process = None
        wait_until(lambda: not self.answers(), timeout=15)


def process_environment(**overrides: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        "PYTHONUNBUFFERED": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        **overrides,
    }


@dataclass
class Started:
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        _stop_group(self.process)


def _start(command: list[str], env: dict[str, str], log: Path) -> Started:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Started(process, log)


def start_worker(env: dict[str, str], log: Path) -> Started:
    """A Celery worker (prefork, two children, as `make run`) on the broker `env` names; ready when it says so."""
    worker = _start(
        [str(BIN / "celery"), "-A", "csm", "worker", "--pool=prefork", "--concurrency=2", "--loglevel=INFO",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"faults-{free_port()}@localhost"],
        env,
        log,
    )  # fmt: skip
    try:
        wait_until(lambda: " ready." in log.read_text() or worker.process.poll() is not None, timeout=60)
    except AssertionError:
        worker.stop()
        raise
    if worker.process.poll() is not None:
        raise RuntimeError(f"The worker exited:\n{worker.tail()}")
    return worker


def start_web(env: dict[str, str], log: Path) -> tuple[Started, str]:
    """gunicorn serving Baton on a free loopback port; returns it and its base URL once /login/ answers."""
    port = free_port()
    web = _start(
        [str(BIN / "gunicorn"), "csm.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "60"],
        env,
        log,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{base}/login/", timeout=2) as response:
                return response.status == 200
        except OSError:
            return web.process.poll() is not None

    try:
        wait_until(answers, timeout=60, interval=0.25)
    except AssertionError:
        web.stop()
        raise
    if web.process.poll() is not None:
        raise RuntimeError(f"The web server exited:\n{web.tail()}")
    return web, base


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@dataclass
class Answer:
    status: int
    body: str
    headers: dict[str, str]


class Browser:
    """Signs in through the login form and keeps its cookies; answers are returned as they come (no redirects)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects())

    def _open(self, request: urllib.request.Request) -> Answer:
        try:
            with self.opener.open(request, timeout=60) as response:
                return Answer(response.status, response.read().decode(errors="replace"), dict(response.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(errors="replace"), dict(error.headers))

    def get(self, path: str) -> Answer:
        return self._open(urllib.request.Request(self.base + path))

    def post(self, path: str, data: dict[str, object]) -> Answer:
        token = next(cookie.value for cookie in self.cookies if cookie.name == "csrftoken")
        fields = [("csrfmiddlewaretoken", token)]
        for name, value in data.items():
            fields += [(name, str(item)) for item in (value if isinstance(value, list | tuple) else [value])]
        body = urllib.parse.urlencode(fields).encode()
        return self._open(urllib.request.Request(self.base + path, data=body, headers={"Referer": self.base + path}))

    def sign_in(self, username: str, password: str) -> None:
        self.get("/login/")
        answer = self.post("/login/", {"username": username, "password": password})
        if answer.status != 302:
            raise AssertionError(f"Signing in as {username} failed: {answer.status}")
