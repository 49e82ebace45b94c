"""The shard planner: whole columns, balanced by audio hours, deterministic; and the plan
document the report job merges by."""

from __future__ import annotations

import itertools
import random

import pytest

from bot.common.schemas import Column, leaderboard_facts
from bot.github.shards import (
    MAX_SHARDS,
    PlanError,
    columns_to_plan,
    matrix,
    parse_plan,
    plan_shards,
)

FACTS = leaderboard_facts()


def optimum(columns: tuple[Column, ...], shards: int) -> float:
    """The smallest possible longest shard, by trying every assignment (small inputs only)."""
    best = float("inf")
    for assignment in itertools.product(range(shards), repeat=len(columns)):
        loads = [0.0] * shards
        for column, target in zip(columns, assignment, strict=True):
            loads[target] += column.audio_hours
        best = min(best, max(loads))
    return best


@pytest.mark.parametrize("count", range(1, MAX_SHARDS + 1))
def test_every_column_lands_in_exactly_one_shard(count: int) -> None:
    shards = plan_shards(FACTS.columns, count)

    placed = [name for shard in shards for name in shard.columns]
    assert sorted(placed) == sorted(FACTS.score_columns)
    assert len(shards) == min(count, len(FACTS.columns))
    assert [s.number for s in shards] == list(range(1, len(shards) + 1))
    for shard in shards:
        assert shard.columns
        assert list(shard.columns) == [c for c in FACTS.score_columns if c in shard.columns]
        assert shard.hours == pytest.approx(sum(FACTS.column(n).audio_hours for n in shard.columns))


@pytest.mark.parametrize("count", range(1, MAX_SHARDS + 1))
def test_the_longest_shard_is_within_the_longest_column_of_the_average(count: int) -> None:
    shards = plan_shards(FACTS.columns, count)

    total = sum(c.audio_hours for c in FACTS.columns)
    largest = max(c.audio_hours for c in FACTS.columns)
    assert max(s.hours for s in shards) <= total / len(shards) + largest + 1e-9


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("count", [2, 3])
def test_the_longest_shard_is_near_the_optimum(seed: int, count: int) -> None:
    columns = tuple(random.Random(seed).sample(FACTS.columns, 8))

    shards = plan_shards(columns, count)

    best = optimum(columns, count)
    longest = max(s.hours for s in shards)
    assert longest <= best + max(c.audio_hours for c in columns) + 1e-9
    assert longest <= best * (4 / 3) + 1e-9  # the classic bound for longest-first


def test_the_known_columns_split_as_expected() -> None:
    shards = plan_shards(FACTS.columns, 3)

    beehive = next(s for s in shards if "Beehive" in s.columns)
    assert beehive.columns == ("Beehive",)  # 192 h: two task directories, one column
    assert len(FACTS.column("Beehive").task_dirs) == 2
    assert max(s.hours for s in shards) == FACTS.column("Beehive").audio_hours


def test_the_plan_does_not_depend_on_the_order_of_the_columns() -> None:
    first = plan_shards(FACTS.columns, 4)
    for seed in range(5):
        shuffled = list(FACTS.columns)
        random.Random(seed).shuffle(shuffled)
        assert plan_shards(shuffled, 4) == first


def test_hours_per_shard_asks_for_fewer_shards() -> None:
    total = sum(c.audio_hours for c in FACTS.columns)

    assert len(plan_shards(FACTS.columns, 16, hours_per_shard=total)) == 1
    assert len(plan_shards(FACTS.columns, 16, hours_per_shard=total / 3)) == 3
    assert len(plan_shards(FACTS.columns, 2, hours_per_shard=1.0)) == 2


@pytest.mark.parametrize(
    ("columns", "count", "hours", "problem"),
    [
        (FACTS.columns, 0, None, "1 to 16"),
        (FACTS.columns, MAX_SHARDS + 1, None, "1 to 16"),
        ((), 2, None, "no column"),
        (FACTS.columns[:2] * 2, 2, None, "twice"),
        (FACTS.columns, 2, 0.0, "positive"),
        (FACTS.columns, 2, float("nan"), "positive"),
    ],
    ids=["zero", "too-many", "empty", "duplicate", "zero-hours", "nan-hours"],
)
def test_bad_requests_are_refused(
    columns: tuple[Column, ...], count: int, hours: float | None, problem: str
) -> None:
    with pytest.raises(PlanError, match=problem):
        plan_shards(columns, count, hours)


def test_only_claimed_columns_are_spread() -> None:
    a, b, c = FACTS.score_columns[:3]

    assert columns_to_plan((), frozenset({a, c})) == ((FACTS.column(a), FACTS.column(c)), True)
    assert columns_to_plan((b, a), frozenset({a})) == ((FACTS.column(a),), True)
    # unknown claims (invalid or stale submission) or nothing claimed: one shard runs them all
    assert columns_to_plan((), None) == (FACTS.columns, False)
    assert columns_to_plan((b,), frozenset({a})) == ((FACTS.column(b),), False)


def test_the_matrix_reads_back_as_the_plan() -> None:
    shards = plan_shards(FACTS.columns, 3)
    document = matrix(shards)

    assert document["include"][0] == {"shard": 1, "columns": ["Beehive"], "hours": 192.0}
    again = parse_plan(document)
    assert [(s.number, s.columns) for s in again] == [(s.number, s.columns) for s in shards]
    reversed_document = {"include": list(reversed(document["include"]))}
    assert parse_plan(reversed_document) == again


def _entry(**changes: object) -> dict[str, object]:
    return {"shard": 1, "columns": ["ESC-50"], "hours": 2.8, **changes}


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        {"include": []},
        {"include": [_entry()], "extra": 1},
        {"include": [_entry(extra=1)]},
        {"include": [_entry(shard=0)]},
        {"include": [_entry(shard=True)]},
        {"include": [_entry(shard="1")]},
        {"include": [_entry(columns=[])]},
        {"include": [_entry(columns="ESC-50")]},
        {"include": [_entry(columns=["No Such Task"])]},
        {"include": [_entry(columns=["ESC-50", "ESC-50"])]},
        {"include": [_entry(), _entry(shard=2)]},
        {"include": [_entry(), _entry(columns=["FSD50K"])]},
        {"include": [_entry(hours=-1)]},
        {"include": [_entry(hours="2")]},
        {"include": [_entry(shard=n + 1, columns=[c]) for n, c in enumerate(FACTS.score_columns)]},
    ],
)
def test_bad_plans_are_refused(document: object) -> None:
    with pytest.raises(PlanError):
        parse_plan(document)
