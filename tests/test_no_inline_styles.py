"""No page carries a `style=` attribute: the Content Security Policy refuses them (core/csp.py), so one would
silently not apply. What markup needs is a class in static/css/baton.css; emails keep their inline styles,
since mail clients need them and no page policy reads an email.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.template.loader import render_to_string

ROOT = Path(__file__).resolve().parent.parent
EMAIL_TEMPLATES = ROOT / "templates" / "notifications" / "email"
STYLE_ATTRIBUTE = re.compile(r"""<[^>]*\sstyle\s*=""", re.IGNORECASE)
# A script that writes a style attribute through markup or setAttribute is refused too; `element.style.x = ...`
# (the CSSOM) is not an attribute and stays allowed.
SCRIPT_STYLE_ATTRIBUTE = re.compile(r"""\sstyle\s*=|setAttribute\(\s*["']style["']|\.cssText\b""", re.IGNORECASE)


def _page_templates() -> list[Path]:
    found = [*ROOT.glob("templates/**/*.html"), *ROOT.glob("*/templates/**/*.html")]
    return sorted(path for path in found if EMAIL_TEMPLATES not in path.parents and ".venv" not in path.parts)


def _relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_scan_sees_the_page_templates_and_leaves_out_the_emails():
    names = {_relative(path) for path in _page_templates()}
    assert "templates/base.html" in names and "templates/transitions/partials/readiness.html" in names
    assert not any(name.startswith("templates/notifications/email/") for name in names)
    # The emails the scan leaves out do have inline styles: it is skipping something real.
    assert any(STYLE_ATTRIBUTE.search(path.read_text()) for path in EMAIL_TEMPLATES.glob("*.html"))


@pytest.mark.parametrize("template", _page_templates(), ids=_relative)
def test_a_page_template_has_no_style_attribute(template):
    lines = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(template.read_text().splitlines(), start=1)
        if STYLE_ATTRIBUTE.search(line)
    ]
    assert lines == [], f"{_relative(template)} has style= attributes; use a class in static/css/baton.css"


@pytest.mark.parametrize("script", sorted(ROOT.glob("static/js/**/*.js")), ids=_relative)
def test_a_script_writes_no_style_attribute(script):
    lines = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(script.read_text().splitlines(), start=1)
        if SCRIPT_STYLE_ATTRIBUTE.search(line)
    ]
    assert lines == [], f"{_relative(script)} writes a style attribute; set element.style or a class instead"


def test_every_whole_percent_has_a_width_and_an_offset_class():
    css = (ROOT / "static" / "css" / "baton.css").read_text()
    widths = {int(n) for n, value in re.findall(r"\.w-pct-(\d+)\s*\{\s*width:\s*(\d+)%", css) if n == value}
    offsets = {int(n) for n, value in re.findall(r"\.start-pct-(\d+)\s*\{\s*left:\s*(\d+)%", css) if n == value}
    assert widths == set(range(101)) and offsets == set(range(101))


@pytest.mark.parametrize(
    ("percent", "status", "colour"),
    [(0, "in_progress", ""), (37, "in_progress", ""), (100, "completed", " bg-success")],
)
def test_a_progress_bar_takes_its_width_from_a_class(percent, status, colour):
    html = render_to_string(
        "transitions/partials/progress_bar.html",
        {"t": {"percent_complete": percent, "status": status, "tasks_done": 1, "tasks_total": 3}},
    )
    assert f'class="progress-bar{colour} w-pct-{percent}"' in html
    assert "style=" not in html


def test_htmx_never_copies_a_style_attribute_when_it_swaps():
    # htmx settles "class", "style", "width" and "height" by default: it would set the old element's style attribute
    # (often an empty one Bootstrap's dropdown left behind) on the new one, which the policy refuses.
    base = (ROOT / "templates" / "base.html").read_text()
    config = json.loads(re.search(r"""<meta name="htmx-config" content='([^']*)'>""", base).group(1))
    assert config["attributesToSettle"] == ["class", "width", "height"]
    assert config["includeIndicatorStyles"] is False
