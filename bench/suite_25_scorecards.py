"""Scorecards at scale (issue 14): the preview of a draft over the whole book, and a backtest.

Each job runs in a fresh process (bench/one_job.py), as a web or worker process
would, so its peak resident memory is its own. The preview scores every account
twice on today's facts (what is live, and the draft in its place) on two
connections, as the page does in production; the backtest replays one
scorecard version at one horizon over the 10,000 most recent outcomes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal

from django.utils import timezone

from accounts.models import Outcome
from bench.core import Result, at_most
from lifecycle.health.backtest.services import backtest_request
from lifecycle.health.scorecards.services import scorecard_delete_draft, scorecard_new_version
from lifecycle.models import Backtest, Scorecard
from users.models import User

PREVIEW_SECONDS = 5
BACKTEST_SECONDS = 20
PEAK_RSS_MB = 1024
BACKTEST_OUTCOMES = 10_000
PREVIEW_WORKERS = 2


def _one_job(*args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.one_job", *args],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.one_job {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _a_draft(admin: User) -> Scorecard:
    """The shipped scorecard's next version with usage weighed twice as much and green set higher."""
    live = Scorecard.objects.active().get(tier="", stage="")
    draft = scorecard_new_version(
        actor=admin, source=live, measure_weights={"usage_trend": Decimal("4"), "usage_level": Decimal("5")}
    )
    Scorecard.objects.filter(pk=draft.pk).update(green_min=75, yellow_min=45)
    return draft


def _demo_backtest() -> Result:
    """The live default's AUC 30 days ahead on the demo company's outcomes (bench/demo_backtest.py): no goal."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.demo_backtest"],
        capture_output=True,
        text=True,
        check=False,
        env=os.environ.copy(),
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.demo_backtest failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    low, high = figures["auc_ci"]
    baseline = f"; the version it replaced: {figures['baseline_auc']}" if figures["baseline_auc"] is not None else ""
    # The table prints one decimal, so the name carries the AUC to three.
    return Result(
        f"scorecards: default's backtest AUC 30 days ahead on the demo's outcomes: {figures['auc']:.3f} "
        f"({figures['outcomes']} outcomes, {figures['churned']} churned; 95% interval {low}-{high}{baseline})",
        figures["auc"],
        "",
        "printed, no goal: the demo is ours",
        True,
    )


def run() -> list[Result]:
    admin = User.objects.filter(role=User.Role.ADMIN).first()
    assert admin is not None, "the demo company has an admin"
    draft = _a_draft(admin)
    preview = _one_job("preview", str(draft.pk), str(PREVIEW_WORKERS))

    today = timezone.localdate()
    recent = Outcome.objects.filter(occurred_on__lte=today).order_by("-occurred_on")
    outcomes_total = recent.count()
    boundary = recent.values_list("occurred_on", flat=True)[min(BACKTEST_OUTCOMES, outcomes_total) - 1]
    outcomes = recent.filter(occurred_on__gte=boundary).count()
    backtest = backtest_request(
        requested_by=admin,
        scorecard_id=draft.based_on_id,
        first_day=boundary,
        last_day=today,
        horizons=[30],
        queue=False,
    )
    replay = _one_job("backtest", str(backtest.pk))
    backtest.refresh_from_db()
    scored = (backtest.report or {}).get("horizons", [{}])
    scorecard_delete_draft(actor=admin, draft=draft)
    Backtest.objects.filter(pk=backtest.pk).delete()

    return [
        at_most(
            preview["seconds"],
            PREVIEW_SECONDS,
            "s",
            f"scorecards: preview of a draft over the whole book ({preview['accounts']:,} accounts compared, "
            f"{preview['changed_band']:,} change band, {PREVIEW_WORKERS} connections)",
        ),
        at_most(preview["peak_rss_mb"], PEAK_RSS_MB, "MB", "scorecards: preview process peak RSS"),
        at_most(
            replay["seconds"],
            BACKTEST_SECONDS,
            "s",
            f"scorecards: backtest of one version at one horizon ({outcomes:,} outcomes)",
        ),
        at_most(replay["peak_rss_mb"], PEAK_RSS_MB, "MB", "scorecards: backtest worker process peak RSS"),
        Result(
            "scorecards: backtest finished without error",
            1 if not replay.get("error") else 0,
            "",
            replay.get("error") or f"report for {len(scored)} horizon(s)",
            not replay.get("error"),
        ),
        _demo_backtest(),
    ]
