"""Replaying history: each outcome's account scored as of N days before it, from the signals stored then.

The outcomes' (account, day) pairs are read a chunk of consecutive days at a
time (`facts_for_pairs`: on PostgreSQL one statement for all the chunk's pairs,
elsewhere `facts_for` per day; either way every signal dated after the pair's
day is left out) and scored by every scorecard asked for, in memory. Nothing is
written: a draft that never ran is tested without a single snapshot.

What is still today's value: the scorecard's configuration (the version under
test, by design) and the check-in cadence per tier. The account's tier comes
from its dated terms and its stage from its stage history, as of the day;
ARR and currency are the outcome's own (the ARR of the term it closed).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from accounts.models import AccountTerms
from accounts.outcomes.models import OutcomeKind
from accounts.outcomes.selectors import outcomes_between
from lifecycle.health.facts import AccountFacts
from lifecycle.health.facts_pairs import Pair, facts_for_pairs
from lifecycle.health.facts_query import end_of
from lifecycle.health.scoring import OK, ScorecardConfig, score_account
from lifecycle.models import CheckInCadence, StageChange

# Accounts per IN list when reading histories (SQLite caps the parameters of one statement).
_ID_BATCH = 5000


@dataclass
class Outcomes:
    """The outcomes a backtest checks against, one entry per outcome, oldest first."""

    ids: np.ndarray
    account_ids: np.ndarray
    occurred_on: list[dt.date]
    churned: np.ndarray
    downgraded: np.ndarray
    arr: np.ndarray
    currencies: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def load_outcomes(first_day: dt.date, last_day: dt.date) -> Outcomes:
    """Every effective outcome from `first_day` to `last_day` (one query).

    A churn is the event; a renewal and a downgrade both kept the customer, so
    both count as retained (a downgrade is also reported on its own).
    """
    rows = list(
        outcomes_between(first_day, last_day).values_list(
            "id", "account_id", "occurred_on", "kind", "arr_before", "currency"
        )
    )
    return Outcomes(
        ids=np.array([r[0] for r in rows], dtype=np.int64),
        account_ids=np.array([r[1] for r in rows], dtype=np.int64),
        occurred_on=[r[2] for r in rows],
        churned=np.array([r[3] == OutcomeKind.CHURNED for r in rows], dtype=bool),
        downgraded=np.array([r[3] == OutcomeKind.DOWNGRADED for r in rows], dtype=bool),
        arr=np.array([float(r[4]) for r in rows], dtype=np.float64),
        currencies=np.array([r[5] for r in rows], dtype=object),
    )


@dataclass
class CardScores:
    """One scorecard's scores for every outcome at one horizon.

    `score` is NaN where no measure had data (unscored). `points` holds each
    measure's points as they entered the score (its missing policy applied;
    NaN where it dropped out) and `ok` whether its value was present and fresh.
    """

    card: ScorecardConfig
    kinds: list[str]
    score: np.ndarray
    band: np.ndarray
    points: np.ndarray
    ok: np.ndarray
    # Outcomes whose account was outside the tested scorecard's tier or stage on the day.
    out_of_scope: np.ndarray

    @classmethod
    def empty(cls, card: ScorecardConfig, n: int) -> CardScores:
        kinds = [m.kind for m in card.measures]
        return cls(
            card=card,
            kinds=kinds,
            score=np.full(n, np.nan),
            band=np.full(n, "", dtype=object),
            points=np.full((n, len(kinds)), np.nan),
            ok=np.zeros((n, len(kinds)), dtype=bool),
            out_of_scope=np.zeros(n, dtype=bool),
        )

    @property
    def scored(self) -> np.ndarray:
        return ~np.isnan(self.score)


@dataclass(frozen=True)
class DayDone:
    day: dt.date
    done: int
    total: int


def replay_days(outcomes: Outcomes, horizons: Sequence[int]) -> dict[dt.date, list[tuple[int, int]]]:
    """(horizon index, outcome index) pairs by the day to score them, oldest day first."""
    days: dict[dt.date, list[tuple[int, int]]] = defaultdict(list)
    for h, horizon in enumerate(horizons):
        delta = dt.timedelta(days=horizon)
        for i, occurred in enumerate(outcomes.occurred_on):
            days[occurred - delta].append((h, i))
    return dict(sorted(days.items()))


class _History:
    """Tier (from dated terms) and stage (from stage changes) of the outcomes' accounts, as of any day."""

    def __init__(self, account_ids: Iterable[int]) -> None:
        ids = sorted(set(int(pk) for pk in account_ids))
        self.tiers: dict[int, tuple[list[dt.datetime], list[str]]] = {}
        self.stages: dict[int, tuple[list[dt.datetime], list[str], str]] = {}
        tiers: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
        stages: dict[int, list[tuple[dt.datetime, str, str]]] = defaultdict(list)
        for start in range(0, len(ids), _ID_BATCH):
            batch = ids[start : start + _ID_BATCH]
            terms = AccountTerms.objects.filter(account_id__in=batch).order_by("account_id", "effective_at", "id")
            for account_id, at, tier in terms.values_list("account_id", "effective_at", "tier"):
                tiers[account_id].append((at, tier))
            changes = StageChange.objects.filter(account_id__in=batch).order_by("account_id", "changed_at", "id")
            for account_id, at, before, after in changes.values_list(
                "account_id", "changed_at", "from_stage", "to_stage"
            ):
                stages[account_id].append((at, before, after))
        self.tiers = {pk: ([at for at, _ in rows], [tier for _, tier in rows]) for pk, rows in tiers.items()}
        self.stages = {
            pk: ([at for at, _, _ in rows], [after for _, _, after in rows], rows[0][1]) for pk, rows in stages.items()
        }

    def apply(self, item: AccountFacts, day_end: dt.datetime, cadences: dict[str, int]) -> None:
        tiers = self.tiers.get(item.account_id)
        if tiers is not None:
            position = bisect.bisect_left(tiers[0], day_end)  # rows that took effect before the day ended
            if position:
                item.tier = tiers[1][position - 1]
                item.cadence_days = cadences.get(item.tier)
        stages = self.stages.get(item.account_id)
        if stages is not None:
            position = bisect.bisect_left(stages[0], day_end)
            if position:
                item.stage = stages[1][position - 1]
            elif stages[2]:
                item.stage = stages[2]  # before its first recorded change, it was in that change's from-stage


# Reads the facts of (account, day) pairs, each as its day ended: `facts_for_pairs` (one statement
# for many days on PostgreSQL, `facts_for` per day elsewhere), or a stand-in in tests.
FactsReader = Callable[[Sequence[Pair]], dict[Pair, AccountFacts]]
# (account, day) pairs read at a time: bounds memory and sets how often progress moves.
CHUNK_PAIRS = 2000


def _chunks(days: dict[dt.date, list[tuple[int, int]]]) -> list[list[dt.date]]:
    """Consecutive days, about CHUNK_PAIRS pairs at a time (a day is never split)."""
    chunks: list[list[dt.date]] = [[]]
    size = 0
    for day, pairs in days.items():
        if size and size + len(pairs) > CHUNK_PAIRS:
            chunks.append([])
            size = 0
        chunks[-1].append(day)
        size += len(pairs)
    return [chunk for chunk in chunks if chunk]


def replay(
    outcomes: Outcomes,
    cards: Sequence[ScorecardConfig],
    horizons: Sequence[int],
    *,
    on_day: Callable[[DayDone], object] | None = None,
    read_facts: FactsReader = facts_for_pairs,
    scope: tuple[str, str] = ("", ""),
) -> list[list[CardScores]]:
    """Scores of every outcome at every horizon by every card: result[horizon index][card index].

    `scope` is the (tier, stage) of the scorecard under test, blank for any: an account outside it
    on the day (by its tier and stage then) is left unscored by every card, so a version is judged,
    and compared, on the accounts it would score. `on_day` hears after each chunk of days how many
    of all the days are done.
    """
    tier, stage = scope
    n = len(outcomes)
    results = [[CardScores.empty(card, n) for card in cards] for _ in horizons]
    days = replay_days(outcomes, horizons)
    history = _History(outcomes.account_ids.tolist())
    cadences = dict(CheckInCadence.objects.values_list("tier", "every_days"))
    account_ids = outcomes.account_ids
    done = 0
    for chunk in _chunks(days):
        facts = read_facts([(int(account_ids[i]), day) for day in chunk for _, i in days[day]])
        for (_, day), item in facts.items():
            history.apply(item, end_of(day), cadences)
        for day in chunk:
            for h, i in days[day]:
                found = facts.get((int(account_ids[i]), day))
                if found is None:
                    continue  # the account is gone: left unscored
                if (tier and found.tier != tier) or (stage and found.stage != stage):
                    for scores in results[h]:
                        scores.out_of_scope[i] = True
                    continue
                for scores in results[h]:
                    _score_into(scores, i, found, day)
        done += len(chunk)
        if on_day is not None:
            on_day(DayDone(day=chunk[-1], done=done, total=len(days)))
    return results


def _score_into(scores: CardScores, i: int, item: AccountFacts, day: dt.date) -> None:
    result = score_account(scores.card, item, day=day)
    if result.score is not None:
        scores.score[i] = result.score
        scores.band[i] = result.band
    for j, kind in enumerate(scores.kinds):
        measure = result.measures[kind]
        if measure["score"] is not None:
            scores.points[i, j] = measure["score"]
        scores.ok[i, j] = measure["status"] == OK
