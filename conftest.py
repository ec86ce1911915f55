"""Project-wide pytest wiring: test selection and fixtures for the real parts.

- `celery_worker_process`: a real Celery worker subprocess on Redis, sharing
  the PostgreSQL test database (integration tests only).
- `browser` / `page`: headless Debian Chromium through Playwright (browser
  tests only).

Plain helpers (`wait_until`, `login`, `screenshot`) live in `tests/support.py`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from tests.support import ARTIFACTS_DIR, CeleryWorker, database_url, restore_day_one_configuration, screenshot

CHROMIUM = "/usr/bin/chromium"
# No network beyond the live server: no updates, sync or phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1440, "height": 900}


def pytest_collection_modifyitems(config, items):
    """Integration tests need PostgreSQL, Redis and a real worker; CI's second pass sets BATON_INTEGRATION=1."""
    if os.environ.get("BATON_INTEGRATION") == "1":
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("integration") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    # Keep each phase's report on the item so fixtures can tell, at teardown,
    # whether the test failed (and leave a screenshot behind).
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _test_failed(request) -> bool:
    report = getattr(request.node, "report_call", None)
    return report is None or report.failed


def _require_marker(request, marker: str, fixture: str, how: str) -> None:
    if request.node.get_closest_marker(marker) is None:
        pytest.fail(
            f"Tests using `{fixture}` must be marked @pytest.mark.{marker} ({how}).",
            pytrace=False,
        )


def _slug(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[-120:]


@pytest.fixture(autouse=True)
def day_one_configuration(request):
    """Transactional tests flush every table when they end, the shipped scorecard and rules included;
    each one starts from what a new install has, whatever ran before it."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        restore_day_one_configuration()


# --- Celery ------------------------------------------------------------------


@pytest.fixture
def celery_worker_process(request, transactional_db) -> Iterator[CeleryWorker]:
    """A real `celery worker` on the configured Redis broker, reading and writing the test database.

    Use with @pytest.mark.integration and @pytest.mark.django_db(transaction=True):
    the worker is another process, so it only sees committed rows. While the
    test runs, tasks sent from the test process go to the broker instead of
    running eagerly. The handle has `.pid`, `.ping()`, `.kill()` (SIGKILL),
    `.stop()` and `.restart()`; the worker is stopped at teardown.
    """
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    from csm.celery import app

    _require_marker(
        request,
        "integration",
        "celery_worker_process",
        "they run with `make test-integration`",
    )
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail(
            f"A worker needs a Redis broker; CELERY_BROKER_URL is {settings.CELERY_BROKER_URL!r}. "
            "Run `make test-integration`.",
            pytrace=False,
        )
    try:
        # settings_dict NAME is the test database pytest-django created, e.g. test_baton_ci.
        worker_database_url = database_url(connection.settings_dict)
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)

    # app.conf reads the CELERY_-prefixed Django setting before its own
    # `task_always_eager` key, so eager mode is switched off at the source.
    not_eager = override_settings(CELERY_TASK_ALWAYS_EAGER=False)
    not_eager.enable()
    # Messages left by an earlier test (or a killed worker) must not run against this test's rows.
    app.control.purge()
    worker = CeleryWorker(
        app=app,
        broker_url=settings.CELERY_BROKER_URL,
        database_url=worker_database_url,
        log_path=ARTIFACTS_DIR / "celery" / f"{_slug(request.node.nodeid)}.log",
    )
    try:
        worker.start()
        yield worker
    finally:
        worker.stop()
        app.control.purge()
        not_eager.disable()


# --- Browser -----------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, shared by the session's browser tests."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread, which
    # makes Django refuse ORM calls from test code unless told it is safe here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(request, browser):
    """A fresh browser context (no cookies) and page per test, 1440x900.

    When the test fails, the page is saved as artifacts/failed-<test>.png.
    """
    _require_marker(request, "browser", "page", "they run with `make test-browser`")
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    browser_page = context.new_page()
    yield browser_page
    if _test_failed(request) and not browser_page.is_closed():
        screenshot(browser_page, f"failed-{_slug(request.node.name)}")
    context.close()
