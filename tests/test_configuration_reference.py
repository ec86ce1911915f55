"""docs/configuration.md lists every environment variable the settings read, with a default and a meaning, and
every variable compose.yaml reads; a new `env("X")` in the settings without its line fails here."""

from __future__ import annotations

import re
from pathlib import Path

from tests.settings_env import SETTINGS_DIR, environment_variables_read_by_settings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "configuration.md"


def _rows() -> dict[str, tuple[str, str]]:
    """{variable: (default, meaning)} from the reference's tables."""
    rows = {}
    for line in REFERENCE.read_text().splitlines():
        match = re.match(r"\|\s*`([A-Za-z_][A-Za-z0-9_]*)`\s*\|(.*)\|(.*)\|\s*$", line)
        if match:
            rows[match.group(1)] = (match.group(2).strip(), match.group(3).strip())
    return rows


def test_the_settings_reads_are_all_found_by_name():
    # Every env(...) call names its variable in a string literal, so the scan below misses none.
    calls = names = 0
    for path in SETTINGS_DIR.glob("*.py"):
        source = path.read_text()
        calls += len(re.findall(r"\benv(?:\.\w+)?\(", source))
        names += len(re.findall(r"""\benv(?:\.\w+)?\(\s*["'][A-Za-z_][A-Za-z0-9_]*["']""", source))
    assert calls == names > 40


def test_every_variable_the_settings_read_is_in_the_reference_with_a_default_and_a_meaning():
    rows = _rows()
    missing = {
        name: sorted(files) for name, files in environment_variables_read_by_settings().items() if name not in rows
    }
    assert missing == {}, f"add these to {REFERENCE.relative_to(ROOT)}: {missing}"
    for name in environment_variables_read_by_settings():
        default, meaning = rows[name]
        assert default and len(meaning.split()) >= 2, name


def test_every_variable_compose_reads_is_in_the_reference():
    compose = (ROOT / "compose.yaml").read_text()
    read_by_compose = set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", compose))
    assert read_by_compose - set(_rows()) == set()
