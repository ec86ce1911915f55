"""mypy against a committed baseline: the known errors may only go away.

    python tools/mypy_baseline.py check    # fail on any error not in the baseline
    python tools/mypy_baseline.py update   # rewrite the baseline after errors were fixed

mypy runs with the configuration in pyproject.toml ([tool.mypy]) over the packages its
`files` names; a package not created yet is skipped with a note. Each error is recorded as
`path: [code] message`, without its line number, so editing a file above an old error does
not move it; the same error twice in a file is recorded twice. `check` fails when an error
appears more times than the baseline allows, and lists baseline entries that no longer
occur so the baseline can shrink. `update` refuses to add errors unless told
`--accept-new`, so growing the baseline is a decision someone makes in a diff.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "mypy-baseline.txt"
HEADER = """\
# mypy errors the code had when the baseline was taken (tools/mypy_baseline.py).
# `make typecheck` fails on any error not listed here. Fix errors, then run
# `make typecheck-baseline` to drop them from this file. Do not add lines by hand.
"""

ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+)(?::\d+)?: error: (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$")
LINE_REFERENCE = re.compile(r"\bline \d+\b")


def targets() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    present = []
    for name in config["files"]:
        if (ROOT / name).exists():
            present.append(name)
        else:
            print(f"note: {name} does not exist yet; not checked", file=sys.stderr)
    return present


def run_mypy() -> tuple[Counter[str], dict[str, list[str]]]:
    command = [sys.executable, "-m", "mypy", "--no-pretty", "--no-error-summary", *targets()]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    # 0: clean, 1: type errors; anything else (2) is mypy failing to run at all.
    if result.returncode not in (0, 1):
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit(f"mypy could not run (exit {result.returncode})")
    errors: Counter[str] = Counter()
    raw: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match:
            message = LINE_REFERENCE.sub("line N", match["message"])
            key = f"{Path(match['path']).as_posix()}: [{match['code'] or 'misc'}] {message}"
            errors[key] += 1
            raw.setdefault(key, []).append(line)
        elif ": error: " in line:
            sys.exit(f"cannot read this mypy error line: {line}")
    if result.returncode == 1 and not errors:
        sys.stderr.write(result.stdout + result.stderr)
        sys.exit("mypy failed but reported no error this script understands")
    return errors, raw


def read_baseline() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    lines = BASELINE.read_text().splitlines()
    return Counter(line for line in lines if line.strip() and not line.startswith("#"))


def write_baseline(errors: Counter[str]) -> None:
    BASELINE.write_text(HEADER + "".join(f"{error}\n" for error in sorted(errors.elements())))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["check", "update"])
    parser.add_argument("--accept-new", action="store_true", help="let `update` add errors to the baseline")
    args = parser.parse_args()

    current, raw = run_mypy()
    baseline = read_baseline()
    new = current - baseline
    fixed = baseline - current
    name = BASELINE.name

    if args.command == "update":
        if new and not args.accept_new:
            print(f"{sum(new.values())} error(s) are not in {name}; fix them, or pass --accept-new:")
            print("".join(f"  {error}\n" for error in sorted(new.elements())), end="")
            return 1
        write_baseline(current)
        print(f"{name}: {sum(current.values())} error(s) ({sum(fixed.values())} removed, {sum(new.values())} added)")
        return 0

    if fixed:
        print(f"{sum(fixed.values())} error(s) in {name} no longer occur; run `make typecheck-baseline` to shrink it:")
        print("".join(f"  {error}\n" for error in sorted(fixed.elements())), end="")
    if new:
        print(f"FAIL: {sum(new.values())} new mypy error(s), not in {name}:")
        for error in sorted(new):
            # mypy's own lines, with line numbers; where the same error also occurs in the
            # baseline, every occurrence is shown, since any of them may be the new one.
            extra = f" ({new[error]} more than the baseline's {baseline[error]})" if baseline[error] else ""
            print(f"  {error}{extra}")
            print("".join(f"      {line}\n" for line in raw[error]), end="")
        return 1
    print(f"mypy: no new errors ({sum(current.values())} known, baseline {sum(baseline.values())}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
