"""Run one job in a fresh process, as a worker or a web process would, and print its wall time and peak memory as JSON.

    python -m bench.one_job preview <scorecard id> <workers>
    python -m bench.one_job backtest <backtest id>
    python -m bench.one_job departures <seconds apart> <contact id>,<contact id>,...

The suites start it with their own environment (the benchmark database), so the
peak resident memory it reports is the job's alone, not the seeding's before it,
and its tasks go where that environment sends them (a real broker, for departures).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time


def _peak_rss_mb() -> float:
    """This process's own peak resident memory.

    Linux keeps getrusage's ru_maxrss across exec, so a process started from a big one
    (the benchmark, after seeding) would report its parent's peak; the memory map's
    high-water mark (VmHWM) starts afresh at exec.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "csm.settings.test")
    import django

    django.setup()
    job, *args = sys.argv[1:]
    started = time.perf_counter()
    figures: dict = {}
    if job == "preview":
        from lifecycle.health.scorecards.preview import scorecard_preview
        from lifecycle.models import Scorecard

        preview = scorecard_preview(Scorecard.objects.get(pk=int(args[0])), workers=int(args[1]))
        figures = {"accounts": preview.accounts, "changed_band": preview.changed_band}
    elif job == "backtest":
        from lifecycle.health.backtest.services import backtest_run_inline

        backtest = backtest_run_inline(backtest_id=int(args[0]))
        figures = {"error": backtest.error if backtest else "missing"}
    elif job == "departures":
        from bench.suite_27_event_latency import depart

        figures = {"departed_at": depart(gap=float(args[0]), contact_ids=[int(pk) for pk in args[1].split(",")])}
    else:
        print(f"unknown job {job!r}", file=sys.stderr)
        return 2
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_rss_mb": _peak_rss_mb(), **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
