"""The layers contract in pyproject.toml can fail.

`make lint` runs lint-imports on the real tree; a contract that is kept there proves
nothing unless it would break on a bad import. These tests build tiny fake packages
named and layered like the real apps (the layer list, ignores and options are read
from pyproject.toml, so they follow the real config), inject one forbidden import,
and run lint-imports on them in a subprocess (the fake packages share the real apps'
names, so they must not be imported into this process).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACT = next(contract for contract in CONFIG["contracts"] if contract["type"] == "layers")
LAYERS = [[name.strip() for name in re.split(r"[|:]", layer)] for layer in CONTRACT["layers"]]
HIGHEST, LOWEST = LAYERS[0][0], LAYERS[-1][0]
SIBLINGS = next(layer for layer in LAYERS if len(layer) > 1)


def _toml(value: object) -> str:
    # Strings, booleans and lists of strings: JSON spells them the way TOML does.
    return json.dumps(value)


def lint(tmp_path: Path, modules: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Lay out every root package (empty), then the given modules, and lint them."""
    for package in CONFIG["root_packages"]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for dotted, source in modules.items():
        path = tmp_path.joinpath(*dotted.split("."))
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(tmp_path).parents:
            if parent != Path("."):
                (tmp_path / parent / "__init__.py").touch()
        path.with_suffix(".py").write_text(source)

    lines = ["[tool.importlinter]"]
    lines += [f"{key} = {_toml(value)}" for key, value in CONFIG.items() if key != "contracts"]
    lines.append("[[tool.importlinter.contracts]]")
    lines += [f"{key} = {_toml(value)}" for key, value in CONTRACT.items()]
    config = tmp_path / "importlinter.toml"
    config.write_text("\n".join(lines) + "\n")

    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()"]
    return subprocess.run(
        [*command, "--no-cache", "--no-logo", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


# A test module of every app may import any app (fixtures from other apps' factories):
# the real ignore_imports must let this through, and must match something, or
# import-linter reports the ignore as unmatched.
TESTS_IMPORT_ANY_APP = {f"{LOWEST}.tests.test_anything": f"from {HIGHEST} import services\n"}
DOWNWARD = {f"{HIGHEST}.services": f"from {LOWEST} import services\n", f"{LOWEST}.services": ""}


def test_the_real_config_layers_every_app_it_lists():
    layered = {name for layer in LAYERS for name in layer}
    assert layered <= set(CONFIG["root_packages"])
    assert len(LAYERS) >= 3 and SIBLINGS
    assert CONFIG.get("exclude_type_checking_imports", False) is False


def test_downward_imports_and_test_fixtures_keep_the_contract(tmp_path):
    result = lint(tmp_path, {**DOWNWARD, **TESTS_IMPORT_ANY_APP})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    "source",
    [
        pytest.param(f"def later():\n    from {HIGHEST} import services\n", id="inside-a-function"),
        pytest.param(
            f"from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from {HIGHEST} import services\n",
            id="under-type-checking",
        ),
    ],
)
def test_an_upward_import_breaks_the_contract(tmp_path, source):
    result = lint(tmp_path, {**DOWNWARD, **TESTS_IMPORT_ANY_APP, f"{LOWEST}.services": source})
    assert result.returncode == 1, result.stdout + result.stderr
    assert "0 kept, 1 broken" in result.stdout
    assert f"{LOWEST} is not allowed to import {HIGHEST}" in result.stdout
    assert f"{LOWEST}.services -> {HIGHEST}.services" in result.stdout


def test_independent_siblings_may_not_import_each_other(tmp_path):
    first, second = SIBLINGS[:2]
    modules = {
        f"{first}.services": f"def later():\n    from {second} import services\n",
        f"{second}.services": "",
        **TESTS_IMPORT_ANY_APP,
    }
    result = lint(tmp_path, modules)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{first} is not allowed to import {second}" in result.stdout
