"""In Chromium, Django REST framework's browsable API renders under Baton's policy without a console error."""

from __future__ import annotations

import pytest

from core.csp import HEADER
from tests.support import login
from users.tests.factories import ManagerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_browsable_api_keeps_its_layout_and_logs_no_console_error(page, live_server):
    ManagerFactory(username="maria")
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(f"JS error: {error}"))
    login(page, live_server, "maria")
    errors.clear()  # only the API page's own errors count here

    response = page.goto(f"{live_server.url}/api/accounts/", wait_until="networkidle")

    assert response is not None and response.status == 200
    assert errors == [], errors
    # DRF floats its Filters button with a style attribute; under the policy it applies.
    filters = page.locator("button[data-target='#filtersModal']")
    assert filters.evaluate("element => getComputedStyle(element).float") == "right"
    policy = response.headers[HEADER.lower()]
    assert "style-src-attr 'unsafe-inline'" in policy and "script-src-attr 'none'" in policy


def test_a_baton_page_in_the_same_browser_still_refuses_style_attributes(page, live_server):
    ManagerFactory(username="maria")
    login(page, live_server, "maria")

    response = page.goto(f"{live_server.url}/")

    assert response is not None and "style-src-attr 'none'" in response.headers[HEADER.lower()]
