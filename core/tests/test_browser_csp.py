"""In Chromium, the policy Baton sends drops a `style=` attribute and still lets scripts style through the CSSOM."""

from __future__ import annotations

import pytest

from core.csp import HEADER, policy

pytestmark = pytest.mark.browser

NONCE = "probe-nonce"
PAGE = f"""<!DOCTYPE html><html><body>
<div id="by-attribute" style="width: 123px; height: 10px"></div>
<div id="by-script"></div>
<script nonce="{NONCE}">const box = document.getElementById("by-script"); box.style.width = "77px";</script>
</body></html>"""


def test_a_style_attribute_is_refused_and_a_scripts_cssom_style_applies(page):
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text) if message.type == "error" else None)
    url = "http://127.0.0.1:9/csp-probe"  # answered by the route below; nothing is fetched
    page.route(
        url,
        lambda route: route.fulfill(status=200, content_type="text/html", headers={HEADER: policy(NONCE)}, body=PAGE),
    )
    page.goto(url)
    width = "element => getComputedStyle(element).width"
    assert page.eval_on_selector("#by-attribute", width) != "123px"
    assert page.eval_on_selector("#by-script", width) == "77px"
    assert any("style-src-attr" in text for text in violations), violations
