"""The load run's figures: the measured window, errors anywhere in a run, CPU per request, and the goals."""

from __future__ import annotations

import pytest

from tools.load.figures import (
    Figures,
    IncompleteRun,
    RunResult,
    expected_mixed_rps,
    goals,
    percentile,
    results_table,
    summarise,
)
from tools.load.kinds import API_DETAIL, COCKPIT, LOGIN

CONTEXT = {"workers": 2, "load_before": 1.0, "accounts": 1000, "worker_class": "gthread", "threads": 4}


def _recorded(samples, *, window=(100.0, 110.0), cpu_start=None, cpu_end=None):
    return {
        "marks": {"signed_in": window[0] - 5, "window": window[0], "stopping": window[1]},
        "samples": samples,
        "cpu": {
            "start": cpu_start or {"server": {}, "database": {}, "load_generator": {}},
            "end": cpu_end or {"server": {}, "database": {}, "load_generator": {}},
        },
    }


def _run(name, kinds, rps, p95=100.0, errors=0, by_kind=None):
    total = Figures(requests=int(rps * 10), errors=errors, rps=rps, p50=p95 / 2, p95=p95, p99=p95)
    return RunResult(
        name=name,
        kinds=kinds,
        users=8,
        seconds=10,
        window_seconds=10.0,
        load_average_at_end=1.0,
        total=total,
        by_kind=by_kind or {kind: total for kind in kinds},
        errors=errors,
        error_reasons={},
    )


def test_percentiles_are_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.95), percentile(values, 0.99)) == (50.0, 95.0, 99.0)
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_only_requests_inside_the_window_are_measured_but_every_error_counts():
    samples = [
        [LOGIN, 95.0, 300.0, False, "200 (expected 302 to the cockpit)"],  # a failed sign-in before the window
        [COCKPIT, 99.9, 50.0, True, None],  # started before the window opened
        [COCKPIT, 101.0, 40.0, True, None],
        [COCKPIT, 102.0, 60.0, False, "500 (expected 200)"],
        [API_DETAIL, 103.0, 10.0, True, None],
        [API_DETAIL, 109.99, 20.0, True, None],  # still running when the window closed
    ]
    run = summarise(name="mixed", kinds=[COCKPIT, API_DETAIL], users=8, seconds=10, recorded=_recorded(samples))

    assert run.total.requests == 3
    assert run.total.rps == 0.3
    assert run.by_kind[COCKPIT].requests == 2 and run.by_kind[COCKPIT].errors == 1
    assert run.by_kind[API_DETAIL].p95 == 10.0
    assert run.errors == 2
    assert run.error_reasons == {
        "login: 200 (expected 302 to the cockpit)": 1,
        "cockpit: 500 (expected 200)": 1,
    }


def test_cpu_per_request_counts_each_process_from_the_window_start_or_from_its_own():
    samples = [[COCKPIT, 101.0 + i, 10.0, True, None] for i in range(4)]
    # JSON gives process ids as strings; a worker started during the window counts from zero.
    start = {"server": {"11": 5.0}, "database": {"21": 1.0}, "load_generator": {"31": 2.0}}
    end = {"server": {"11": 5.3, "12": 0.1}, "database": {"21": 1.2}, "load_generator": {"31": 2.04}}
    run = summarise(
        name=COCKPIT,
        kinds=[COCKPIT],
        users=8,
        seconds=10,
        recorded=_recorded(samples, cpu_start=start, cpu_end=end),
    )
    assert run.cpu_ms_per_request == {"web": 100.0, "database": 50.0, "load generator": 10.0}
    assert run.server_cpu_ms == 150.0


def test_a_run_that_never_opened_its_window_is_incomplete():
    recorded = _recorded([])
    del recorded["marks"]["window"]
    with pytest.raises(IncompleteRun):
        summarise(name="mixed", kinds=[COCKPIT], users=8, seconds=10, recorded=recorded)


def test_the_mix_is_compared_with_the_cheapest_kind_alone_and_with_what_the_kinds_alone_predict():
    mixed = _run(
        "mixed",
        [COCKPIT, API_DETAIL],
        rps=20.0,
        p95=400.0,
        by_kind={COCKPIT: Figures(requests=100, rps=10.0), API_DETAIL: Figures(requests=100, rps=10.0)},
    )
    mixed.total.requests = 200
    alone = {COCKPIT: _run(COCKPIT, [COCKPIT], rps=10.0), API_DETAIL: _run(API_DETAIL, [API_DETAIL], rps=40.0)}

    # Half the requests at 1/10 s and half at 1/40 s: 16 a second.
    assert expected_mixed_rps(mixed, alone) == pytest.approx(16.0)
    rows = {row.name: row for row in goals(runs=[mixed, *alone.values()], mixed=mixed, alone=alone, context=CONTEXT)}
    share = rows["mixed throughput / cheapest kind alone (api account detail, 40.0 req/s)"]
    assert (share.value, share.met) == (50.0, False)
    assert rows["mixed p95"].met
    assert rows["errors in every run (sign-ins included)"].met
    predicted = rows[
        "mixed throughput / what the kinds alone predict for this mix (16.0 req/s): no kind drags the rest down"
    ]
    assert (predicted.value, predicted.met) == (125.0, True)
    # With no kind slowing another, this mix of a 10 and a 40 req/s kind reaches 16 req/s: 40% of the cheapest.
    ceiling = rows[
        "most that share could be for this mix, were no kind to slow another "
        "(what the kinds alone predict / api account detail alone)"
    ]
    assert ceiling.value == 40.0


def test_a_mix_slower_than_its_kinds_alone_predict_misses_the_drag_goal():
    mixed = _run(
        "mixed",
        [COCKPIT, API_DETAIL],
        rps=11.0,
        by_kind={COCKPIT: Figures(requests=100, rps=5.5), API_DETAIL: Figures(requests=100, rps=5.5)},
    )
    mixed.total.requests = 200
    alone = {COCKPIT: _run(COCKPIT, [COCKPIT], rps=10.0), API_DETAIL: _run(API_DETAIL, [API_DETAIL], rps=40.0)}
    rows = {row.name: row for row in goals(runs=[mixed, *alone.values()], mixed=mixed, alone=alone, context=CONTEXT)}
    drag = rows[
        "mixed throughput / what the kinds alone predict for this mix (16.0 req/s): no kind drags the rest down"
    ]
    # 11 of the 16 a second the kinds alone predict: something in the mix slows the rest.
    assert (drag.value, drag.met) == (68.8, False)


def test_an_error_in_any_run_or_a_slow_mix_misses_its_goal():
    mixed = _run("mixed", [COCKPIT], rps=10.0, p95=501.0)
    alone = {COCKPIT: _run(COCKPIT, [COCKPIT], rps=10.0, errors=1)}
    rows = {row.name: row for row in goals(runs=[mixed, *alone.values()], mixed=mixed, alone=alone, context=CONTEXT)}
    assert not rows["mixed p95"].met
    errors = rows["errors in every run (sign-ins included)"]
    assert (errors.value, errors.met) == (1, False)


def test_the_table_has_a_row_per_kind_and_the_mix_overall():
    mixed = _run("mixed", [COCKPIT, API_DETAIL], rps=12.0)
    mixed.cpu_ms_per_request = {"web": 80.0, "database": 20.0, "load generator": 5.0}
    table = results_table([mixed, _run(COCKPIT, [COCKPIT], rps=9.0)])
    lines = table.splitlines()
    assert len(lines) == 2 + 3 + 1
    assert "all kinds" in lines[4] and "80 + 20" in lines[4]
