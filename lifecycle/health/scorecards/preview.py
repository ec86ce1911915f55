"""What a draft scorecard would do to today's book, before anyone activates it.

Both sides are scored now, on the same facts: the scorecards in force, and
the same set with the draft in place of its lineage's active version. Only
the accounts whose scorecard would change (or that the draft would score)
are compared: their band distribution before and after, the accounts that
change band (the biggest movers, with the measures that moved them), and the
red flags the draft's scores would raise that today's would not (and the
reverse). Nothing is written: on PostgreSQL the work happens in scratch
tables inside a transaction that is rolled back; elsewhere in Python.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from accounts.models import Account
from lifecycle.flags.rules import evaluate_rules, load_rule_context
from lifecycle.health.facts_query import AccountScope, facts_for
from lifecycle.health.recompute import DEFAULT_CHUNK_SIZE, chunk_boundaries, previous_scores, run_in_parallel
from lifecycle.health.scoring import (
    ScorecardConfig,
    load_scorecards,
    measure_contributions,
    score_account,
    scorecard_for,
)
from lifecycle.models import UNRESOLVED, AlertRule, FlagStatus, MeasureKind, RedFlag, Scorecard

BANDS = ("green", "yellow", "red", "")
TOP_MOVERS = 20
PYTHON_CHUNK = 2000


def _change(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else round(after - before, 1)


@dataclass(frozen=True)
class Mover:
    account_id: int
    name: str
    before_score: float | None
    before_band: str
    after_score: float | None
    after_band: str
    # (measure label, points it added before, points after), the largest changes first.
    reasons: tuple[tuple[str, float, float], ...]

    @property
    def change(self) -> float | None:
        return _change(self.before_score, self.after_score)


@dataclass
class Preview:
    draft: Scorecard
    day: dt.date
    accounts: int = 0
    before: Counter = field(default_factory=Counter)
    after: Counter = field(default_factory=Counter)
    moves: Counter = field(default_factory=Counter)  # (band before, band after) -> accounts
    movers: list[Mover] = field(default_factory=list)
    flags_raised: Counter = field(default_factory=Counter)  # rule name -> flags the draft would add
    flags_spared: Counter = field(default_factory=Counter)  # rule name -> flags today's scores raise, the draft not
    seconds: float = 0.0

    @property
    def band_rows(self) -> list[tuple[str, int, int]]:
        return [(band, self.before[band], self.after[band]) for band in BANDS]

    # Templates look names up on a Counter as keys first (and get 0), so they read these instead.
    @property
    def flags_raised_total(self) -> int:
        return sum(self.flags_raised.values())

    @property
    def flags_spared_total(self) -> int:
        return sum(self.flags_spared.values())

    @property
    def flags_raised_rows(self) -> list[tuple[str, int]]:
        return self.flags_raised.most_common()

    @property
    def changed_band(self) -> int:
        return sum(count for (before, after), count in self.moves.items() if before != after)


def _mover_reasons(before: dict, after: dict, change: float | None) -> tuple[tuple[str, float, float], ...]:
    """Up to three measures whose points changed most, those that pushed the score the way it moved first."""
    old, new = measure_contributions(before or {}), measure_contributions(after or {})
    direction = 0.0 if change is None else (1.0 if change > 0 else -1.0 if change < 0 else 0.0)

    def delta(kind: str) -> float:
        return new.get(kind, 0.0) - old.get(kind, 0.0)

    moved = [kind for kind in set(old) | set(new) if abs(delta(kind)) >= 0.1]
    moved.sort(key=lambda kind: (delta(kind) * direction <= 0, -abs(delta(kind)), kind))
    labels = dict(MeasureKind.choices)
    return tuple((labels.get(kind, kind), old.get(kind, 0.0), new.get(kind, 0.0)) for kind in moved[:3])


def scorecard_preview(draft: Scorecard, *, day: dt.date | None = None, workers: int | None = None) -> Preview:
    """Score today's book with and without `draft`; see the module docstring.

    On PostgreSQL `workers` chunks are scored at a time, each on its own connection (by
    default `HEALTH_PREVIEW_WORKERS`); they read only committed data, so tests use one.
    """
    workers = settings.HEALTH_PREVIEW_WORKERS if workers is None else workers
    started = time.perf_counter()
    day = day or timezone.localdate()
    current = load_scorecards()
    proposed = [card for card in current if card.id not in _lineage_ids(draft)]
    proposed.append(ScorecardConfig.from_model(Scorecard.objects.prefetch_related("measures").get(pk=draft.pk)))
    preview = Preview(draft=draft, day=day)
    bounds = Account.objects.aggregate(first=Min("id"), last=Max("id"))
    if bounds["first"] is not None:
        scope = AccountScope.between(bounds["first"], bounds["last"])
        if connection.vendor == "postgresql":
            _preview_in_database(
                preview, scope=scope, current=current, proposed=proposed, draft_id=draft.pk, workers=workers
            )
        else:
            _preview_in_python(preview, scope=scope, current=current, proposed=proposed, draft_id=draft.pk)
    _name_movers(preview)
    preview.seconds = time.perf_counter() - started
    return preview


def _lineage_ids(draft: Scorecard) -> set[int]:
    return set(Scorecard.objects.filter(lineage=draft.lineage).values_list("pk", flat=True))


def _name_movers(preview: Preview) -> None:
    names = dict(Account.objects.filter(pk__in=[m.account_id for m in preview.movers]).values_list("pk", "name"))
    preview.movers = [Mover(**{**mover.__dict__, "name": names.get(mover.account_id, "")}) for mover in preview.movers]


def _rule_names(pairs: Iterable[tuple[int, int]]) -> Counter:
    counts = Counter(rule_id for rule_id, _ in pairs)
    names = dict(AlertRule.objects.filter(pk__in=counts).values_list("pk", "name"))
    return Counter({names.get(rule_id, f"Rule {rule_id}"): count for rule_id, count in counts.items()})


def _record(
    preview: Preview,
    rows: Iterable[tuple[int, float | None, str, dict, float | None, str, dict]],
) -> None:
    """Count (account, before score/band/measures, after score/band/measures) rows and keep the top movers."""
    movers: list[Mover] = []
    for account_id, before_score, before_band, before_measures, after_score, after_band, after_measures in rows:
        preview.accounts += 1
        preview.before[before_band] += 1
        preview.after[after_band] += 1
        preview.moves[(before_band, after_band)] += 1
        if before_band != after_band:
            movers.append(
                Mover(
                    account_id=account_id,
                    name="",
                    before_score=before_score,
                    before_band=before_band,
                    after_score=after_score,
                    after_band=after_band,
                    reasons=_mover_reasons(before_measures, after_measures, _change(before_score, after_score)),
                )
            )
    movers.sort(key=lambda m: (-(abs(m.change) if m.change is not None else 101), m.account_id))
    preview.movers = movers[:TOP_MOVERS]


def _open_pairs(scope: AccountScope, day: dt.date) -> set[tuple[int, int]]:
    """(rule, account) pairs with an unresolved flag, as `flags_sync` sees them (a snooze that ran out is not)."""
    wake_before = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))
    flags = RedFlag.objects.filter(scope.q(), status__in=UNRESOLVED).exclude(
        status=FlagStatus.SNOOZED, snoozed_until__lt=wake_before
    )
    return set(flags.values_list("rule_id", "account_id"))


def _preview_in_python(
    preview: Preview,
    *,
    scope: AccountScope,
    current: Sequence[ScorecardConfig],
    proposed: Sequence[ScorecardConfig],
    draft_id: int,
) -> None:
    context = load_rule_context()
    ids = list(Account.objects.filter(scope.q("id")).order_by("id").values_list("id", flat=True))
    rows: list[tuple] = []
    fired_before: set[tuple[int, int]] = set()
    fired_after: set[tuple[int, int]] = set()
    for first, last, _ in chunk_boundaries(ids, PYTHON_CHUNK):
        chunk = AccountScope.between(first, last)
        facts = facts_for(day=preview.day, scope=chunk)
        previous = previous_scores(chunk, preview.day)
        sides = []
        for cards in (current, proposed):
            scored = {}
            for account_id, item in facts.items():
                card = scorecard_for(cards, tier=item.tier, stage=item.stage)
                result = score_account(card, item, day=preview.day) if card else None
                scored[account_id] = (card.id if card else None, result)
            sides.append(scored)
        affected = [
            account_id
            for account_id in facts
            if sides[0][account_id][0] != sides[1][account_id][0] or sides[1][account_id][0] == draft_id
        ]
        for account_id in affected:
            before, after = sides[0][account_id][1], sides[1][account_id][1]
            rows.append(
                (
                    account_id,
                    before.score if before else None,
                    before.band if before else "",
                    before.measures if before else {},
                    after.score if after else None,
                    after.band if after else "",
                    after.measures if after else {},
                )
            )
        subset = [facts[account_id] for account_id in affected]
        for item in subset:
            item.score_7d_ago = previous.get((item.account_id, preview.day - dt.timedelta(days=7)), (None, ""))[0]
            item.band_yesterday = previous.get((item.account_id, preview.day - dt.timedelta(days=1)), (None, ""))[1]
        for side, fired in ((sides[0], fired_before), (sides[1], fired_after)):
            for item in subset:
                result = side[item.account_id][1]
                item.score, item.band = (result.score, result.band) if result else (None, "")
            fired |= {
                (firing.rule_id, firing.account_id)
                for firing in evaluate_rules(context.rules, subset, today=preview.day, cadences=context.cadences)
            }
    _record(preview, rows)
    already_open = _open_pairs(scope, preview.day)
    preview.flags_raised = _rule_names(fired_after - fired_before - already_open)
    preview.flags_spared = _rule_names(fired_before - fired_after - already_open)


def _preview_in_database(
    preview: Preview,
    *,
    scope: AccountScope,
    current: Sequence[ScorecardConfig],
    proposed: Sequence[ScorecardConfig],
    draft_id: int,
    workers: int = 1,
) -> None:
    """The daily run's chunks, each scored both ways in scratch tables and rolled back; results merged."""
    context = load_rule_context()
    ids = list(Account.objects.filter(scope.q("id")).order_by("id").values_list("id", flat=True))
    parts: list[_ChunkPreview] = []
    run_in_parallel(
        chunk_boundaries(ids, DEFAULT_CHUNK_SIZE),
        workers=workers,
        work=lambda bound: parts.append(
            _preview_chunk_in_database(
                AccountScope.between(bound[0], bound[1]),
                day=preview.day,
                current=current,
                proposed=proposed,
                draft_id=draft_id,
                context=context,
            )
        ),
    )
    movers: list[tuple] = []
    fired_before: set[tuple[int, int]] = set()
    fired_after: set[tuple[int, int]] = set()
    for part in parts:
        for before_band, after_band, count in part.counts:
            preview.accounts += count
            preview.before[before_band] += count
            preview.after[after_band] += count
            preview.moves[(before_band, after_band)] += count
        movers.extend(part.movers)
        fired_before |= part.fired_before
        fired_after |= part.fired_after
    # Scores have one decimal: compare changes rounded to it, as the database did, or float noise breaks ties.
    movers.sort(
        key=lambda row: (
            -(round(abs(row[4] - row[1]), 1) if row[1] is not None and row[4] is not None else 101),
            row[0],
        )
    )
    _record_movers(preview, movers[:TOP_MOVERS])
    preview.flags_raised = _rule_names(fired_after - fired_before)
    preview.flags_spared = _rule_names(fired_before - fired_after)


@dataclass
class _ChunkPreview:
    counts: list[tuple[str, str, int]]
    movers: list[tuple]
    fired_before: set[tuple[int, int]]
    fired_after: set[tuple[int, int]]


def _preview_chunk_in_database(
    scope: AccountScope,
    *,
    day: dt.date,
    current: Sequence[ScorecardConfig],
    proposed: Sequence[ScorecardConfig],
    draft_id: int,
    context,
) -> _ChunkPreview:
    from lifecycle.health import recompute_sql

    before_table = "preview_scores_before"
    with transaction.atomic():
        recompute_sql.create_facts_table(day=day, scope=scope)
        recompute_sql.create_scores_table(day=day, scorecards=list(current))
        _, fired_before = recompute_sql.new_firing_facts(
            day=day, scope=scope, rules=context.rules, cadences=context.cadences
        )
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {before_table}")
            cursor.execute(f"ALTER TABLE {recompute_sql.SCORES_TABLE} RENAME TO {before_table}")
        recompute_sql.create_scores_table(day=day, scorecards=list(proposed))
        _, fired_after = recompute_sql.new_firing_facts(
            day=day, scope=scope, rules=context.rules, cadences=context.cadences
        )
        affected = (
            f"FROM {before_table} AS b FULL JOIN {recompute_sql.SCORES_TABLE} AS a ON a.account_id = b.account_id "
            "WHERE (b.scorecard_id IS DISTINCT FROM a.scorecard_id OR a.scorecard_id = %s)"
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COALESCE(b.band, ''), COALESCE(a.band, ''), COUNT(*) {affected} GROUP BY 1, 2", [draft_id]
            )
            counts = cursor.fetchall()
            cursor.execute(
                f"""SELECT COALESCE(a.account_id, b.account_id), b.score::double precision, COALESCE(b.band, ''),
                           b.measures, a.score::double precision, COALESCE(a.band, ''), a.measures
                    {affected} AND COALESCE(b.band, '') <> COALESCE(a.band, '')
                    ORDER BY COALESCE(ABS(a.score - b.score), 101) DESC, 1 LIMIT %s""",
                [draft_id, TOP_MOVERS],
            )
            movers = cursor.fetchall()
            cursor.execute(f"SELECT COALESCE(a.account_id, b.account_id) {affected}", [draft_id])
            affected_ids = {row[0] for row in cursor.fetchall()}
        # Scratch tables and settings go with the transaction; nothing of the preview may stay.
        transaction.set_rollback(True)
    return _ChunkPreview(
        counts=counts,
        movers=movers,
        fired_before={pair for pair in fired_before if pair[1] in affected_ids},
        fired_after={pair for pair in fired_after if pair[1] in affected_ids},
    )


def _record_movers(preview: Preview, rows: Iterable[tuple]) -> None:
    preview.movers = [
        Mover(
            account_id=account_id,
            name="",
            before_score=before_score,
            before_band=before_band,
            after_score=after_score,
            after_band=after_band,
            reasons=_mover_reasons(before_measures, after_measures, _change(before_score, after_score)),
        )
        for account_id, before_score, before_band, before_measures, after_score, after_band, after_measures in rows
    ]
