"""Every browser journey also checks the Content Security Policy: a blocked script or style fails the test.

Chromium reports a violation as a console error ("Refused to execute inline
script because it violates the following Content Security Policy directive:
..."); the journeys that count all console errors see it anyway, this makes
the others see it too.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def no_csp_violations(request):
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(message.text)
        if message.type == "error" and "Content Security Policy" in message.text
        else None,
    )
    yield
    assert violations == [], "Content Security Policy violations:\n" + "\n".join(violations)
