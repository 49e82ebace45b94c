"""Claimed vs reproduced: the per-column outcome under the published tolerance, and the verdict.

Pure. Outcomes:
- ``reproduced``: |reproduced - claimed| <= tolerance;
- ``mismatch``: worse than claimed by more than the tolerance (fails the submission);
- ``above-claim``: better than claimed by more than the tolerance (flagged, not failed);
- ``not-claimed``: the row leaves the column empty;
- ``not-run``: a task directory of the column is missing on this machine;
- ``error``: the column could not be computed (the detail says why).
Verdict: ``fail`` if any column is a mismatch; else ``error`` if any column errored or no
claimed column could be checked at all; else ``pass``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.common.result import ColumnResult
from bot.common.schemas import Column


class Outcome(StrEnum):
    """A column's outcome (`verification.columns[].outcome`); the values are the JSON's."""

    REPRODUCED = "reproduced"
    MISMATCH = "mismatch"
    ABOVE_CLAIM = "above-claim"
    NOT_CLAIMED = "not-claimed"
    NOT_RUN = "not-run"
    ERROR = "error"


class Verdict(StrEnum):
    """The submission's verdict (`verification.verdict`); the values are the JSON's, and the
    ones the workflows and the GitHub edge compare against."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"


class CheckStatus(StrEnum):
    """A HEAR API check's status in the conformance report (`verification.conformance`)."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class TaskStatus(StrEnum):
    """A task's status in `verification.tasks`."""

    SCORED = "scored"
    ERROR = "error"


@dataclass(frozen=True)
class ColumnEvidence:
    """What the verifier found for one column."""

    column: Column
    claimed: str  # the CSV cell, "" when not claimed
    task_dirs: tuple[str, ...] = ()  # the directories used (default: the column's own)
    reproduced: float | None = None
    missing_task_dirs: tuple[str, ...] = ()
    error: str | None = None
    log_tail: str | None = None
    note: str = ""  # how `reproduced` was obtained, when a reader needs to know (detail's end)


def judge_column(evidence: ColumnEvidence) -> ColumnResult:
    column = evidence.column
    claimed = float(Decimal(evidence.claimed)) if evidence.claimed else None
    outcome: ColumnResult = {
        "column": column.name,
        "claimed": claimed,
        "reproduced": evidence.reproduced,
        "delta": None,
        "tolerance": column.tolerance,
        "task_dirs": list(evidence.task_dirs or column.task_dirs),
        "outcome": "",
        "detail": "",
        "log_tail": evidence.log_tail,
    }
    if claimed is None:
        outcome["outcome"] = Outcome.NOT_CLAIMED
        outcome["detail"] = "The row claims no score for this column."
        return outcome
    if evidence.missing_task_dirs:
        outcome["outcome"] = Outcome.NOT_RUN
        outcome["detail"] = (
            "Task data missing on this machine: "
            + ", ".join(evidence.missing_task_dirs)
            + f" (put it under --tasks-dir, or check on a stand-in task: `--stand-in "
            f"'{column.name}=TASK_DIR'`, or `--stand-ins synth` for synthetic ones)"
        )
        return outcome
    if evidence.error is not None or evidence.reproduced is None:
        outcome["outcome"] = Outcome.ERROR
        outcome["detail"] = evidence.error or "No score was produced."
        return outcome
    delta = evidence.reproduced - claimed
    outcome["delta"] = delta
    gain = delta if column.higher_is_better else -delta
    if abs(delta) <= column.tolerance:
        outcome["outcome"] = Outcome.REPRODUCED
        outcome["detail"] = f"Within the tolerance of {column.tolerance}."
    elif gain < 0:
        outcome["outcome"] = Outcome.MISMATCH
        outcome["detail"] = (
            f"Reproduced {evidence.reproduced:.4f}, {abs(delta):.4f} worse than the claimed "
            f"{claimed:.4f} (tolerance {column.tolerance})."
        )
    else:
        outcome["outcome"] = Outcome.ABOVE_CLAIM
        outcome["detail"] = (
            f"Reproduced {evidence.reproduced:.4f}, {abs(delta):.4f} better than the claimed "
            f"{claimed:.4f} (tolerance {column.tolerance}): flagged for review, not failed."
        )
    if evidence.note:
        outcome["detail"] += " " + evidence.note
    return outcome


def needs_exact_recheck(column: Column, claimed: str, reproduced: float) -> bool:
    """Whether a score from batched evaluation (other random draws than the kit's) is a
    mismatch by at most twice the tolerance: too close to call, so the column is evaluated
    again in exact mode before a mismatch is declared."""
    if not claimed:
        return False
    delta = reproduced - float(Decimal(claimed))
    worse = -delta if column.higher_is_better else delta
    return column.tolerance < worse <= 2 * column.tolerance


def overall_verdict(columns: list[ColumnResult]) -> tuple[Verdict, str]:
    """(verdict, one-line reason) from the judged columns."""
    counts = {name: [c["column"] for c in columns if c["outcome"] == name] for name in Outcome}
    if counts[Outcome.MISMATCH]:
        return Verdict.FAIL, "Not reproduced: " + ", ".join(counts[Outcome.MISMATCH]) + "."
    if counts[Outcome.ERROR]:
        return Verdict.ERROR, "Could not be computed: " + ", ".join(counts[Outcome.ERROR]) + "."
    checked = counts[Outcome.REPRODUCED] + counts[Outcome.ABOVE_CLAIM]
    if not checked:
        return Verdict.ERROR, "No claimed column could be checked on this machine."
    reason = f"Reproduced {len(checked)} claimed column(s)"
    if counts[Outcome.NOT_RUN]:
        reason += f"; not run here: {', '.join(counts[Outcome.NOT_RUN])}"
    if counts[Outcome.ABOVE_CLAIM]:
        reason += f"; above the claim: {', '.join(counts[Outcome.ABOVE_CLAIM])}"
    return Verdict.PASS, reason + "."


def column_score(
    column: Column, task_scores: dict[str, dict[str, Any]], task_dirs: tuple[str, ...] = ()
) -> float:
    """The leaderboard number of a column from its tasks' test.predicted-scores.json.

    ``score_key`` is a dotted path (``test.test_score`` or
    ``aggregated_scores.test_score_mean``); ``aggregation`` ``mean`` averages the directories.
    """
    values = []
    for task_dir in task_dirs or column.task_dirs:
        node: Any = task_scores[task_dir]
        for key in column.score_key.split("."):
            if not isinstance(node, dict) or key not in node:
                raise KeyError(f"{task_dir}: test.predicted-scores.json has no {column.score_key}")
            node = node[key]
        values.append(float(node))
    return sum(values) / len(values)
