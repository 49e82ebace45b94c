"""One verification result from the GPU shards' results (pure, independent of input order).

Each planned column takes its entry from the shard that owned it. A shard that left no usable
result (its job failed, was cancelled or timed out, or its artifact was rejected) makes only
its own columns ``error``, with the reason and the retry hint; columns no shard owned are
``not-claimed``; entries a shard reports for columns it did not own are ignored, and the reason
says so. The verdict is recomputed with ``bot.verify.verdict.overall_verdict`` (or ``fail`` when the
submission has validation errors, as ``hearbot verify`` decides). Timings are summed per
key, with ``shard_wall_max_s`` the longest shard's ``total_s``; tasks are concatenated in shard
order; model and environment are the lowest-numbered usable shard's, and the reason names any
shard that reported different ones. A stale note from any shard makes the whole run stale.

Everything is ordered by shard number and column, never by the order the inputs came in.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from bot.common.result import ColumnResult, ResultDocument, StaleNote
from bot.common.schemas import leaderboard_facts, schema_errors
from bot.github.artifact import Artifact
from bot.github.checks import clip
from bot.github.shards import PlanError, Shard
from bot.verify.verdict import ColumnEvidence, judge_column, overall_verdict

RETRY_HINT = "A maintainer can re-run it with `/verify`."
MAX_REASON_CHARS = 4000
MAX_CONFORMANCE = 100
MAX_TASKS = 200


@dataclass(frozen=True)
class ShardInput:
    """What one shard left: its checked artifact, or why there is none."""

    shard: int
    artifact: Artifact | None
    problem: str = ""


@dataclass(frozen=True)
class Merged:
    result: ResultDocument | None  # None: no shard left a result (see notes)
    stale: StaleNote | None
    notes: tuple[str, ...]


def merge_shards(
    plan: Sequence[Shard], listed: Sequence[str], inputs: Iterable[ShardInput]
) -> Merged:
    """``listed``: the result's columns in order (the requested ones, or every column)."""
    shards = {shard.number: shard for shard in plan}
    owner = {name: shard.number for shard in plan for name in shard.columns}
    if len(shards) != len(plan) or sum(len(s.columns) for s in plan) != len(owner):
        raise PlanError("a shard number or a column is planned twice")
    if set(owner) - set(listed):
        raise PlanError("the plan names columns that were not asked for")
    given: dict[int, ShardInput] = {}
    notes: list[str] = []
    for item in inputs:
        if item.shard in given:
            raise PlanError(f"shard {item.shard} is given twice")
        given[item.shard] = item
    for number in sorted(set(given) - set(shards)):
        notes.append(f"Shard {number} was not planned; its result was ignored.")
    stale = [given[n].artifact.stale for n in sorted(shards) if _stale(given.get(n))]
    if stale:
        return Merged(None, stale[0], tuple(notes))
    results: dict[int, ResultDocument] = {}
    failed: dict[int, str] = {}
    for number in sorted(shards):
        item = given.get(number)
        if item is not None and item.artifact is not None and item.artifact.result is not None:
            results[number] = item.artifact.result
        else:
            problem = item.problem if item is not None and item.problem else "it left no result"
            failed[number] = problem
            names = ", ".join(shards[number].columns)
            notes.append(f"Shard {number} ({names}) produced no usable result: {problem}.")
    if not results:
        return Merged(None, None, tuple(notes))
    entries = _owned_entries(shards, results, notes)
    base = results[min(results)]
    claimed = _claimed(base)
    columns = []
    for name in listed:
        number = owner.get(name)
        if number is None:
            columns.append(judge_column(ColumnEvidence(leaderboard_facts().column(name), "")))
        elif number in failed:
            columns.append(_error_entry(name, claimed.get(name), number, failed[number]))
        elif name in entries:
            columns.append(entries[name])
        else:
            problem = "its result has no entry for this column"
            columns.append(_error_entry(name, claimed.get(name), number, problem))
    notes += _differences(results, "environment") + _differences(results, "model")
    verdict, reason = _verdict(results, columns)
    return Merged(_document(base, results, columns, verdict, reason, notes), None, tuple(notes))


def _stale(item: ShardInput | None) -> bool:
    return item is not None and item.artifact is not None and item.artifact.stale is not None


def _owned_entries(
    shards: dict[int, Shard], results: dict[int, ResultDocument], notes: list[str]
) -> dict[str, ColumnResult]:
    entries: dict[str, ColumnResult] = {}
    for number, result in sorted(results.items()):
        own = set(shards[number].columns)
        seen: set[str] = set()
        for entry in result["verification"]["columns"]:
            name = entry["column"]
            if name not in own:
                notes.append(f"Shard {number} reported {name}, which it did not own; ignored.")
            elif name in seen:
                notes.append(f"Shard {number} reported {name} twice; it counts as an error.")
                entries[name] = _error_entry(name, entry["claimed"], number, "reported twice")
            else:
                seen.add(name)
                entries[name] = entry
    return entries


def _claimed(result: ResultDocument) -> dict[str, float]:
    """The row's claims as the shards read them, for the entries of failed shards."""
    row = (result.get("submission") or {}).get("row") or {}
    claims = {}
    for name in leaderboard_facts().score_columns:
        try:
            value = float(row.get(name, ""))
        except ValueError:
            continue
        if math.isfinite(value):
            claims[name] = value
    return claims


def _error_entry(name: str, claimed: float | None, shard: int, problem: str) -> ColumnResult:
    column = leaderboard_facts().column(name)
    return {
        "column": name,
        "outcome": "error",
        "claimed": claimed,
        "reproduced": None,
        "delta": None,
        "tolerance": column.floor,
        "task_dirs": list(column.task_dirs),
        "detail": clip(f"Shard {shard} produced no score: {problem}. {RETRY_HINT}", 4000),
        "log_tail": None,
    }


def _differences(results: dict[int, ResultDocument], block: str) -> list[str]:
    first = min(results)
    reference = results[first]["verification"][block]
    notes = []
    for number, result in sorted(results.items()):
        other = result["verification"][block]
        keys = sorted(k for k in reference | other if reference.get(k) != other.get(k))
        if keys:
            notes.append(
                f"Shard {number} reported a different {block} ({', '.join(keys)}); "
                f"shard {first}'s is shown."
            )
    return notes


def _verdict(results: dict[int, ResultDocument], columns: list[ColumnResult]) -> tuple[str, str]:
    invalid = [n for n, result in sorted(results.items()) if result["errors"]]
    if invalid:
        return "fail", results[invalid[0]]["verification"]["reason"]
    return overall_verdict(columns)


def _stage_error(results: dict[int, ResultDocument]) -> dict[str, str] | None:
    """The first shard's failed stage (its columns point to it), named with its shard."""
    for number, result in sorted(results.items()):
        stage_error = result["verification"].get("stage_error")
        if stage_error:
            message = clip(f"Shard {number}: {stage_error['message']}", 8000)
            return {**stage_error, "message": message}
    return None


def _document(
    base: ResultDocument,
    results: dict[int, ResultDocument],
    columns: list[ColumnResult],
    verdict: str,
    reason: str,
    notes: list[str],
) -> ResultDocument:
    ordered = [results[n]["verification"] for n in sorted(results)]
    timings: dict[str, float] = {}
    for verification in ordered:
        for key, value in verification["timings"].items():
            timings[key] = timings.get(key, 0.0) + value
    timings = {key: round(value, 3) for key, value in sorted(timings.items())}
    walls = [v["timings"]["total_s"] for v in ordered if "total_s" in v["timings"]]
    if walls:
        timings["shard_wall_max_s"] = max(walls)
    conformance: list[dict[str, Any]] = []
    stand_ins: dict[str, str] = {}
    for verification in ordered:
        conformance += [c for c in verification["conformance"] if c not in conformance]
        stand_ins = {**verification["stand_ins"], **stand_ins}
    merged = cast(
        ResultDocument, {key: value for key, value in base.items() if key != "verification"}
    )
    merged["verification"] = {
        "verdict": verdict,
        "reason": clip(" ".join([reason, *notes]), MAX_REASON_CHARS),
        "model": base["verification"]["model"],
        "environment": base["verification"]["environment"],
        "timings": timings,
        "conformance": conformance[:MAX_CONFORMANCE],
        "columns": columns,
        "tasks": [task for v in ordered for task in v["tasks"]][:MAX_TASKS],
        "stand_ins": dict(sorted(stand_ins.items())),
        "stage_error": _stage_error(results),
    }
    errors = schema_errors("result.schema.json", merged)
    if errors:  # every part came from schema-valid results: this is a bug here
        raise AssertionError(f"the merged result does not match the schema: {errors[0].message}")
    return merged
