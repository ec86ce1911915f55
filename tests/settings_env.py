"""The environment variables Baton's settings read, found in the settings' source (`env("X")`, `env.int("X")`...).

Shared by the configuration reference's test and compose.yaml's: whatever the
settings read must be documented, and compose must set nothing they ignore.
"""

from __future__ import annotations

import re
from pathlib import Path

SETTINGS_DIR = Path(__file__).resolve().parent.parent / "csm" / "settings"

# django-environ's calls (env(...), env.int(...), env.db(...)) and plain os.environ / os.getenv reads.
_READS = re.compile(
    r"""(?:\benv(?:\.\w+)?|\bos\.getenv|\bos\.environ\.get|\bos\.environ\[)\(?\s*["']([A-Za-z_][A-Za-z0-9_]*)["']"""
)


def environment_variables_read_by_settings() -> dict[str, set[str]]:
    """{variable: {settings files that read it}}."""
    found: dict[str, set[str]] = {}
    for path in sorted(SETTINGS_DIR.glob("*.py")):
        for name in _READS.findall(path.read_text()):
            found.setdefault(name, set()).add(path.name)
    return found
