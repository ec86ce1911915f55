"""The load run's figures: per request kind and run, the goals, and the table `make load` prints.

A run's samples come from tools/load/locustfile.py: [kind, start (epoch s), duration (ms), ok, error], the marks
of its window, and the CPU seconds of the server's processes at the window's ends.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tools.load.kinds import KINDS

P95_GOAL_MS = 500
THROUGHPUT_GOAL = 0.8


class IncompleteRun(Exception):
    """Locust stopped before its window opened or closed: there is nothing to measure."""


@dataclass
class Figures:
    requests: int = 0
    errors: int = 0
    rps: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0


@dataclass
class RunResult:
    name: str
    kinds: list[str]
    users: int
    seconds: int
    window_seconds: float
    load_average_at_end: float
    total: Figures
    by_kind: dict[str, Figures]
    errors: int
    error_reasons: dict[str, int]
    # CPU milliseconds per request in the window: gunicorn's workers ("web"), their PostgreSQL backends ("database")
    # and locust ("load generator"). When other work shares the cores these grow far less than wall times do.
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)
    out_of_open_tasks: dict[str, int] = field(default_factory=dict)
    load_generator_cpu_warning: bool = False

    @property
    def server_cpu_ms(self) -> float:
        return self.cpu_ms_per_request.get("web", 0.0) + self.cpu_ms_per_request.get("database", 0.0)


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(share * len(sorted_values) - 1e-9)))
    return sorted_values[rank - 1]


def figures(samples: list[list[Any]], window_seconds: float) -> Figures:
    times = sorted(sample[2] for sample in samples)
    return Figures(
        requests=len(samples),
        errors=sum(1 for sample in samples if not sample[3]),
        rps=round(len(samples) / window_seconds, 1) if window_seconds > 0 else 0.0,
        p50=round(percentile(times, 0.50), 1),
        p95=round(percentile(times, 0.95), 1),
        p99=round(percentile(times, 0.99), 1),
    )


def summarise(*, name: str, kinds: list[str], users: int, seconds: int, recorded: dict[str, Any]) -> RunResult:
    """Figures over the window from warm-up's end (counted from when every user had signed in) to the stop:
    requests that started and finished inside it.

    Errors are counted over the whole run, sign-ins and warm-up included: none may fail.
    """
    samples = recorded["samples"]
    marks = recorded["marks"]
    if "window" not in marks or "stopping" not in marks or "end" not in recorded.get("cpu", {}):
        raise IncompleteRun(f"locust's {name} run did not sign its users in, warm up and stop as planned: {marks}")
    start, end = marks["window"], marks["stopping"]
    window = end - start
    inside = [s for s in samples if s[0] in KINDS and s[1] >= start and s[1] + s[2] / 1000 <= end]
    cpu = recorded["cpu"]
    used = {
        label: sum(total - cpu["start"][group].get(pid, 0.0) for pid, total in cpu["end"][group].items())
        for label, group in (("web", "server"), ("database", "database"), ("load generator", "load_generator"))
    }
    reasons = Counter(f"{s[0]}: {s[4]}" for s in samples if not s[3])
    return RunResult(
        name=name,
        kinds=kinds,
        users=users,
        seconds=seconds,
        window_seconds=round(window, 1),
        load_average_at_end=round(os.getloadavg()[0], 2),
        total=figures(inside, window),
        by_kind={kind: figures([s for s in inside if s[0] == kind], window) for kind in kinds},
        errors=sum(reasons.values()),
        error_reasons=dict(reasons.most_common(10)),
        cpu_ms_per_request={label: round(1000 * spent / max(len(inside), 1), 1) for label, spent in used.items()},
        out_of_open_tasks=recorded.get("exhausted", {}),
        load_generator_cpu_warning=bool(marks.get("cpu_warning")),
    )


def expected_mixed_rps(mixed: RunResult, alone: dict[str, RunResult]) -> float | None:
    """What the mix would reach if each request cost what it costs alone: the mix's shares over the kinds' rates."""
    if not mixed.total.requests or any(kind not in alone or not alone[kind].total.rps for kind in mixed.kinds):
        return None
    seconds_per_request = sum(
        mixed.by_kind[kind].requests / mixed.total.requests / alone[kind].total.rps for kind in mixed.kinds
    )
    return 1 / seconds_per_request if seconds_per_request else None


def results_table(runs: list[RunResult]) -> str:
    """One row per kind and run; a run's own row (a kind alone, or the mix's "all kinds") adds its CPU per request."""
    header = ("Run", "Kind", "Requests", "Errors", "req/s", "p50 ms", "p95 ms", "p99 ms", "CPU ms/req web+db")
    rows = []
    for run in runs:
        whole = "all kinds" if len(run.kinds) > 1 else run.kinds[0]
        for kind, figs in [*run.by_kind.items(), *([("all kinds", run.total)] if len(run.kinds) > 1 else [])]:
            cpu = run.cpu_ms_per_request
            rows.append(
                (
                    run.name,
                    kind,
                    f"{figs.requests:,}",
                    f"{figs.errors:,}",
                    f"{figs.rps:,.1f}",
                    f"{figs.p50:,.0f}",
                    f"{figs.p95:,.0f}",
                    f"{figs.p99:,.0f}",
                    f"{cpu['web']:,.0f} + {cpu['database']:,.0f}" if kind == whole and cpu else "",
                )
            )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    aligned = ["<", "<", ">", ">", ">", ">", ">", ">", ">"]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(cells, aligned, widths, strict=True))

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])


def goals(
    *, runs: list[RunResult], mixed: RunResult, alone: dict[str, RunResult], context: dict[str, Any]
) -> list[Any]:
    from bench.core import Result, at_most

    cores = os.cpu_count() or 0
    errors = sum(run.errors for run in runs)
    rows = [
        Result("machine: CPU cores", cores, "cores", "", True),
        Result("machine: load average (1 min) before the runs", context["load_before"], "", "", True),
        Result(f"book: {context['accounts']:,} accounts", context["accounts"], "accounts", "", True),
        Result(
            f"gunicorn: {context['workers']} {context['worker_class']} workers"
            + (f" × {context['threads']} threads" if context["worker_class"] == "gthread" else ""),
            context["workers"],
            "workers",
            "",
            True,
        ),
        Result(
            f"mixed: {mixed.users} users, one request each in flight, no think time", mixed.total.rps, "req/s", "", True
        ),
        Result("mixed: web + database CPU per request", round(mixed.server_cpu_ms, 1), "ms", "", True),
        Result(
            f"mixed: what {cores} unshared cores would serve at that CPU per request",
            round(cores * 1000 / mixed.server_cpu_ms, 1) if mixed.server_cpu_ms else 0.0,
            "req/s",
            "",
            True,
        ),
        Result("errors in every run (sign-ins included)", errors, "errors", "= 0", errors == 0),
        at_most(mixed.total.p95, P95_GOAL_MS, "ms", "mixed p95"),
    ]
    cheapest = max((run for run in alone.values() if run.total.rps), key=lambda run: run.total.rps, default=None)
    if cheapest is not None:
        share = mixed.total.rps / cheapest.total.rps
        rows.append(
            Result(
                f"mixed throughput / cheapest kind alone ({cheapest.name}, {cheapest.total.rps:,.1f} req/s)",
                round(100 * share, 1),
                "%",
                f"≥ {THROUGHPUT_GOAL:.0%}",
                share >= THROUGHPUT_GOAL,
            )
        )
    expected = expected_mixed_rps(mixed, alone)
    if expected and cheapest is not None:
        # The mix's throughput can reach the cheapest kind's only if every kind in it costs what the cheapest does:
        # even with no kind slowing another, it reaches what the kinds alone predict. That bound, beside the
        # share above, tells a mix of costly pages from a kind that drags the others down.
        rows.append(
            Result(
                "most that share could be for this mix, were no kind to slow another "
                f"(what the kinds alone predict / {cheapest.name} alone)",
                round(100 * expected / cheapest.total.rps, 1),
                "%",
                "",
                True,
            )
        )
    if expected:
        interference = mixed.total.rps / expected
        rows.append(
            Result(
                f"mixed throughput / what the kinds alone predict for this mix ({expected:,.1f} req/s): "
                "no kind drags the rest down",
                round(100 * interference, 1),
                "%",
                f"≥ {THROUGHPUT_GOAL:.0%}",
                interference >= THROUGHPUT_GOAL,
            )
        )
    for run in runs:
        if run.out_of_open_tasks:
            rows.append(Result(f"{run.name}: ran out of open handover steps", 1, "", "", True))
        if run.load_generator_cpu_warning:
            rows.append(Result(f"{run.name}: locust warned its own CPU was above 90%", 1, "", "", True))
    return rows
