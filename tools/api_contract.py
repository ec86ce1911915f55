"""The API contract check: the live API, driven from its own OpenAPI schema, answers no 5xx and nothing the schema
does not describe.

On a throwaway database (a PostgreSQL one named baton_contract_<pid> when CONTRACT_DATABASE_URL points at a server,
else a SQLite file in a temporary folder) it migrates, seeds a small demo, issues the demo admin a personal token
with every scope, serves the app with gunicorn on a free loopback port, and runs the property-based API tester
through its four phases (examples, coverage, fuzzing, stateful) with that token. Deletes and other writes run too:
the database is thrown away afterwards. Every operation in the schema is tested; the schema and its docs page
are not in it (SERVE_INCLUDE_SCHEMA is off), which is right: they describe the API rather than take its input.

    make api-contract                       # SQLite
    CONTRACT_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make api-contract

Bounded for CI: CONTRACT_MAX_EXAMPLES test cases per operation per phase (default 25) and CONTRACT_MAX_TIME
seconds for the whole run (default 420). Exit status is the tester's: non-zero on any 5xx or schema violation.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"


TOKEN_SNIPPET = """
from users.models import User
from users.tokens.scopes import Scope
from users.tokens.services import token_create
admin = User.objects.get(username="admin")
issued = token_create(actor=admin, kind="personal", name="api contract", scopes=list(Scope.values))
print(issued.plaintext)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, text=True, capture_output=capture
    )
    return result.stdout if capture else ""


def postgres_admin(url: str, sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(url)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


def wait_until_up(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:  # 401/403 is an answer: the server is up
            return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"The server did not answer {url} within {timeout:.0f}s.")


def main() -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="baton-contract-"))
    server_url = os.environ.get("CONTRACT_DATABASE_URL", "")
    db_name = f"baton_contract_{os.getpid()}"
    if server_url.startswith("postgres"):
        parts = urlsplit(server_url)
        database_url = urlunsplit(parts._replace(path=f"/{db_name}"))
        postgres_admin(server_url, f'CREATE DATABASE "{db_name}"')
    else:
        database_url = f"sqlite:///{workdir / 'contract.sqlite3'}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "csm.settings.local",
        "DATABASE_URL": database_url,
        "DJANGO_DEBUG": "false",
        # Tasks a write queues run in the web process, not in a folder some developer's worker reads.
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "CELERY_BROKER_URL": "memory://",
        "DJANGO_LOG_LEVEL": "WARNING",
        # The run sends thousands of requests a minute with one token; the throttle is not what is under test.
        "BATON_API_RATE_USER": "1000000/min",
        "BATON_API_RATE_ANON": "1000000/min",
    }
    server: subprocess.Popen | None = None
    try:
        manage(env, "migrate", "--noinput", "-v", "0")
        manage(env, "seed_demo", "--seed", "42", "--accounts", os.environ.get("CONTRACT_ACCOUNTS", "60"), "-v", "0")
        token = manage(env, "shell", "-v", "0", "-c", TOKEN_SNIPPET, capture=True).strip().splitlines()[-1]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = (workdir / "server.log").open("w")
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "csm.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "60"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(f"{base}/api/")
        print(f"Set up in {time.monotonic() - started:.0f}s; testing {base}/api/schema/", flush=True)
        command = [
            str(BIN / "schemathesis"),
            "run",
            f"{base}/api/schema/",
            "--header",
            f"Authorization: Bearer {token}",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--checks",
            CHECKS,
            "--max-examples",
            os.environ.get("CONTRACT_MAX_EXAMPLES", "25"),
            "--max-time",
            os.environ.get("CONTRACT_MAX_TIME", "420"),
            "--workers",
            os.environ.get("CONTRACT_WORKERS", "2"),
            "--request-timeout",
            "20",
            "--seed",
            os.environ.get("CONTRACT_SEED", "42"),
            "--suppress-health-check",
            "all",
            "--output-sanitize",
            "true",
            *sys.argv[1:],
        ]
        tested = subprocess.run(command, cwd=workdir, env={**os.environ, "NO_COLOR": "1"})
        if tested.returncode != 0:
            log.flush()
            # The thousands of 4xx the run provokes are logged as warnings; a 500's traceback is what matters.
            lines = (workdir / "server.log").read_text().splitlines()
            errors = [line for line in lines if line.strip() and "WARNING django.request" not in line]
            print("\n---- server log, 4xx warnings left out (last 200 lines) ----", *errors[-200:], sep="\n")
        return tested.returncode
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
        if server_url.startswith("postgres"):
            postgres_admin(server_url, f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"API contract run took {time.monotonic() - started:.0f}s.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
