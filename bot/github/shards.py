"""Splitting a verification into GPU shards, balanced by audio hours (pure).

A shard is a set of whole leaderboard columns (Beehive's two task directories stay together);
each GPU job of verify.yml's matrix verifies one. Columns are placed longest first, each on the
shard with the fewest hours so far (ties: the lower shard), so the plan is deterministic and
its longest shard is at most the average plus the longest single column, hence within that
column of the optimum. The hours are ``audio_hours`` from schemas/tasks.json.

The plan is written as a GitHub Actions matrix, ``{"include": [{"shard": 1, "columns":
[...], "hours": 12.3}, ...]}``; ``parse_plan`` reads one back, checking every part, because
the report job merges the shards' results by it (``bot.github.shard_merge``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.common.schemas import Column, leaderboard_facts

MAX_SHARDS = 16


class PlanError(ValueError):
    """The shard request or a plan document is not usable (the message says why)."""


@dataclass(frozen=True)
class Shard:
    number: int  # 1-based
    columns: tuple[str, ...]  # header order
    hours: float


def plan_shards(
    columns: Sequence[Column], max_shards: int, hours_per_shard: float | None = None
) -> tuple[Shard, ...]:
    """At most ``max_shards`` shards (fewer when there are fewer columns, or when
    ``hours_per_shard`` asks for fewer), every column in exactly one."""
    if not 1 <= max_shards <= MAX_SHARDS:
        raise PlanError(f"the shard count must be 1 to {MAX_SHARDS}, not {max_shards}")
    if hours_per_shard is not None and not (hours_per_shard > 0 and math.isfinite(hours_per_shard)):
        raise PlanError(f"hours per shard must be a positive number, not {hours_per_shard}")
    if not columns:
        raise PlanError("there is no column to verify")
    names = [column.name for column in columns]
    if len(set(names)) != len(names):
        raise PlanError("a column is named twice")
    order = {name: index for index, name in enumerate(leaderboard_facts().score_columns)}
    unknown = [name for name in names if name not in order]
    if unknown:
        raise PlanError(f"unknown column(s): {', '.join(map(repr, unknown))}")
    total = sum(column.audio_hours for column in columns)
    count = min(max_shards, len(columns))
    if hours_per_shard is not None:
        count = min(count, max(1, math.ceil(total / hours_per_shard)))
    loads = [0.0] * count
    bins: list[list[Column]] = [[] for _ in range(count)]
    for column in sorted(columns, key=lambda c: (-c.audio_hours, order[c.name])):
        target = min(range(count), key=lambda index: (loads[index], index))
        bins[target].append(column)
        loads[target] += column.audio_hours
    return tuple(
        Shard(
            number=index + 1,
            columns=tuple(sorted((c.name for c in members), key=order.__getitem__)),
            hours=loads[index],
        )
        for index, members in enumerate(bins)
    )


def columns_to_plan(
    requested: Sequence[str], claimed: frozenset[str] | None
) -> tuple[tuple[Column, ...], bool]:
    """(the columns to spread over shards, whether they may be spread).

    The listed columns are the requested ones, or every column. With the row's claimed
    columns known, only listed columns it claims are worth a GPU: the others are
    ``not-claimed`` without running anything. When the claims are unknown (the submission
    is invalid, or the head moved on), or none of the listed columns is claimed, every listed
    column goes to one shard: ``hearbot verify`` there reports what a single run would.
    """
    facts = leaderboard_facts()
    listed = tuple(facts.column(name) for name in requested) if requested else facts.columns
    if claimed is None:
        return listed, False
    work = tuple(column for column in listed if column.name in claimed)
    return (work, True) if work else (listed, False)


def matrix(shards: Sequence[Shard]) -> dict[str, Any]:
    return {
        "include": [
            {"shard": s.number, "columns": list(s.columns), "hours": round(s.hours, 1)}
            for s in shards
        ]
    }


def parse_plan(data: Any) -> tuple[Shard, ...]:
    """The shards of a matrix document, in shard order; PlanError if anything is off."""
    if not isinstance(data, dict) or set(data) != {"include"}:
        raise PlanError('the plan must be an object with exactly the key "include"')
    entries = data["include"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_SHARDS:
        raise PlanError(f'"include" must list 1 to {MAX_SHARDS} shards')
    known = set(leaderboard_facts().score_columns)
    shards: list[Shard] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"shard", "columns", "hours"}:
            raise PlanError('each shard must have exactly "shard", "columns" and "hours"')
        number, names, hours = entry["shard"], entry["columns"], entry["hours"]
        if type(number) is not int or not 1 <= number <= MAX_SHARDS:
            raise PlanError(f"shard number {number!r} is not 1 to {MAX_SHARDS}")
        if not isinstance(names, list) or not names or not all(n in known for n in names):
            raise PlanError(f"shard {number}: columns must be a non-empty list of column names")
        if seen & set(names) or len(set(names)) != len(names):
            raise PlanError(f"shard {number}: a column is planned twice")
        if type(hours) not in (int, float) or not (0 <= hours < math.inf):
            raise PlanError(f"shard {number}: hours must be a non-negative number")
        seen |= set(names)
        shards.append(Shard(number, tuple(names), float(hours)))
    numbers = [shard.number for shard in shards]
    if len(set(numbers)) != len(numbers):
        raise PlanError("a shard number is used twice")
    return tuple(sorted(shards, key=lambda shard: shard.number))
