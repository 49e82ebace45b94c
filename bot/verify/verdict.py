"""Claimed vs reproduced: the per-column outcome under the published rule, and the verdict.

Pure. The reproduced score of a column is a seed ensemble: K members, member 0 the exact,
kit-identical run, members 1..K-1 the same protocol with another training seed
(bot/evaluation/protocol.py). The rule (schemas/tasks.json gives floor, cap and confidence
per column; docs/tolerances.md how they were chosen):

- the interval is the prediction interval for one more draw of the members' distribution,
  ``mean ± t·sd·√(1+1/K)`` with t the Student quantile of K-1 degrees of freedom at the
  column's two-sided ``confidence``; sd is the larger of the members' sample sd and, for a
  metric that is a share of clips scored right, their per-clip sd (bot/evaluation/
  clip_spread.py: members that agree on a score by chance while getting different clips right
  do not make the interval narrow); its half-width is never below ``floor`` (with K = 1 there
  is no spread and the interval is ``member 0 ± floor``);
- ``inconclusive``: the half-width is above ``cap`` (the task is too noisy to judge the claim;
  neither passes nor fails the submission);
- ``reproduced``: the claim lies in the interval;
- ``mismatch``: the claim is better than the interval's best end (fails the submission);
- ``above-claim``: the claim is worse than the interval's worst end (reproduced better than
  claimed: flagged, not failed);
- ``not-claimed``: the row leaves the column empty;
- ``not-run``: a task directory of the column is missing on this machine;
- ``error``: the column could not be computed (the detail says why).
Verdict: ``fail`` if any column is a mismatch; else ``error`` if any column errored or no
claimed column could be checked at all; else ``pass`` (inconclusive columns are named in the
reason; a submission whose every checked column is inconclusive is an ``error``: nothing was
verified).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from bot.common.result import ColumnResult, IntervalFacts
from bot.common.schemas import Column

DEFAULT_SEEDS = 5
"""K, the members of each task's seed ensemble that `hearbot verify` runs by default
(docs/tolerances.md: the interval's half-width shrinks fast up to K = 5, slowly after)."""


class Outcome(StrEnum):
    """A column's outcome (`verification.columns[].outcome`); the values are the JSON's."""

    REPRODUCED = "reproduced"
    MISMATCH = "mismatch"
    ABOVE_CLAIM = "above-claim"
    INCONCLUSIVE = "inconclusive"
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
class Interval:
    """The prediction interval of a column's seed ensemble under its published rule."""

    mean: float
    sd: float  # sample standard deviation (K-1 in the denominator); 0 when K = 1
    k: int
    half_width: float  # max(floor, t·max(sd, clip_sd)·√(1+1/K))
    confidence: float
    floor: float
    cap: float
    clip_sd: float | None = None  # the members' per-clip sd; None when the metric has none

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    @property
    def too_wide(self) -> bool:
        """Wider than the cap: the task is too noisy to judge a claim."""
        return self.half_width > self.cap

    def facts(self) -> IntervalFacts:
        facts: IntervalFacts = {
            "low": self.low,
            "high": self.high,
            "confidence": self.confidence,
            "floor": self.floor,
            "cap": self.cap,
            "k": self.k,
        }
        if self.clip_sd is not None:
            facts["clip_sd"] = self.clip_sd
        return facts


def student_t(confidence: float, dof: int) -> float:
    """The two-sided Student quantile: P(|T| <= t) = confidence for T with `dof` degrees of
    freedom (scipy, imported here so that the outcome enums cost their readers nothing)."""
    from scipy import stats

    return float(stats.t.ppf((1 + confidence) / 2, dof))


def prediction_interval(
    members: Sequence[float],
    *,
    floor: float,
    cap: float,
    confidence: float,
    clip_sd: float | None = None,
) -> Interval:
    """mean ± t·max(sd, clip_sd)·√(1+1/K) over the K members (t: `confidence`, K-1 degrees of
    freedom), never narrower than `floor`; with one member, member ± floor. `clip_sd`: the
    members' per-clip sd (bot/evaluation/clip_spread.py), None where the metric has none."""
    k = len(members)
    if k < 1 or not all(math.isfinite(m) for m in members):
        raise ValueError(f"a prediction interval needs finite members, not {list(members)}")
    if clip_sd is not None and not (math.isfinite(clip_sd) and clip_sd >= 0):
        raise ValueError(f"the per-clip sd must be finite and non-negative, not {clip_sd}")
    mean = math.fsum(members) / k
    if k == 1:
        return Interval(mean, 0.0, 1, floor, confidence, floor, cap)
    sd = math.sqrt(math.fsum((m - mean) ** 2 for m in members) / (k - 1))
    spread = student_t(confidence, k - 1) * max(sd, clip_sd or 0.0) * math.sqrt(1 + 1 / k)
    return Interval(mean, sd, k, max(floor, spread), confidence, floor, cap, clip_sd)


def column_interval(
    column: Column, members: Sequence[float], clip_sd: float | None = None
) -> Interval:
    return prediction_interval(
        members,
        floor=column.floor,
        cap=column.cap,
        confidence=column.confidence,
        clip_sd=clip_sd,
    )


@dataclass(frozen=True)
class ColumnEvidence:
    """What the verifier found for one column."""

    column: Column
    claimed: str  # the CSV cell, "" when not claimed
    task_dirs: tuple[str, ...] = ()  # the directories used (default: the column's own)
    reproduced: float | None = None  # member 0's score (the kit-identical run in exact mode)
    missing_task_dirs: tuple[str, ...] = ()
    error: str | None = None
    log_tail: str | None = None
    note: str = ""  # how `reproduced` was obtained, when a reader needs to know (detail's end)
    members: tuple[float, ...] = ()  # every member's score, member 0 first; () = (reproduced,)
    ci95: tuple[float, float] | None = None  # bootstrap over test clips of member 0's score
    clip_sd: float | None = None  # the members' per-clip sd (bot/evaluation/clip_spread.py)


def _describe_interval(interval: Interval) -> str:
    if interval.k == 1:
        return (
            f"one member, so the interval is its score ± the floor {interval.floor:g}: "
            f"[{interval.low:.4f}, {interval.high:.4f}]"
        )
    per_clip = ""
    if interval.clip_sd is not None and interval.clip_sd > interval.sd:
        per_clip = (
            f" (their per-clip sd {interval.clip_sd:.4f} is larger: the members get different "
            "clips right, so it is the one used)"
        )
    return (
        f"{interval.k} members, mean {interval.mean:.4f} ± sd {interval.sd:.4f}{per_clip}; "
        f"{interval.confidence:.0%} prediction interval [{interval.low:.4f}, "
        f"{interval.high:.4f}] (half-width {interval.half_width:.4f}, floor {interval.floor:g}, "
        f"cap {interval.cap:g})"
    )


def judge_column(evidence: ColumnEvidence) -> ColumnResult:
    column = evidence.column
    claimed = float(Decimal(evidence.claimed)) if evidence.claimed else None
    outcome: ColumnResult = {
        "column": column.name,
        "claimed": claimed,
        "reproduced": evidence.reproduced,
        "delta": None,
        "tolerance": column.floor,
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
    members = evidence.members or (evidence.reproduced,)
    try:
        interval = column_interval(column, members, evidence.clip_sd)
    except ValueError as exc:
        outcome["outcome"] = Outcome.ERROR
        outcome["detail"] = f"The members' scores cannot be judged: {exc}"
        return outcome
    outcome["delta"] = evidence.reproduced - claimed
    outcome["tolerance"] = interval.half_width
    outcome["members"] = list(members)
    outcome["mean"] = interval.mean
    outcome["sd"] = interval.sd
    outcome["interval"] = interval.facts()
    if evidence.ci95 is not None:
        outcome["ci95"] = list(evidence.ci95)
    described = _describe_interval(interval)
    # "best end": the end a better claim lies beyond (high when higher is better).
    best, worst = (
        (interval.high, interval.low) if column.higher_is_better else (interval.low, interval.high)
    )
    beyond_best = claimed > best if column.higher_is_better else claimed < best
    beyond_worst = claimed < worst if column.higher_is_better else claimed > worst
    if interval.too_wide:
        outcome["outcome"] = Outcome.INCONCLUSIVE
        outcome["detail"] = (
            f"Too noisy to judge the claimed {claimed:.4f}: {described} is wider than the cap "
            f"{column.cap:g}, so this column neither passes nor fails the submission."
        )
    elif beyond_best:
        outcome["outcome"] = Outcome.MISMATCH
        outcome["detail"] = (
            f"The claimed {claimed:.4f} is {abs(claimed - best):.4f} beyond the interval: "
            f"{described}."
        )
    elif beyond_worst:
        outcome["outcome"] = Outcome.ABOVE_CLAIM
        outcome["detail"] = (
            f"Reproduced better than the claimed {claimed:.4f}, {abs(claimed - worst):.4f} outside "
            f"the interval: {described}; flagged for review, not failed."
        )
    else:
        outcome["outcome"] = Outcome.REPRODUCED
        outcome["detail"] = f"The claimed {claimed:.4f} lies in the interval: {described}."
    if evidence.note:
        outcome["detail"] += " " + evidence.note
    return outcome


def needs_exact_recheck(column: Column, claimed: str, members: Sequence[float]) -> bool:
    """Whether scores from batched evaluation (other random draws than the kit's) make the
    claim a mismatch by at most one more half-width of the interval: too close to call, so the
    column is evaluated again in exact mode before a mismatch is declared."""
    if not claimed or not members:
        return False
    interval = column_interval(column, members)
    if interval.too_wide:
        return False
    value = float(Decimal(claimed))
    beyond = value - interval.high if column.higher_is_better else interval.low - value
    return 0 < beyond <= interval.half_width


def overall_verdict(columns: list[ColumnResult]) -> tuple[Verdict, str]:
    """(verdict, one-line reason) from the judged columns."""
    counts = {name: [c["column"] for c in columns if c["outcome"] == name] for name in Outcome}
    if counts[Outcome.MISMATCH]:
        return Verdict.FAIL, "Not reproduced: " + ", ".join(counts[Outcome.MISMATCH]) + "."
    if counts[Outcome.ERROR]:
        return Verdict.ERROR, "Could not be computed: " + ", ".join(counts[Outcome.ERROR]) + "."
    checked = counts[Outcome.REPRODUCED] + counts[Outcome.ABOVE_CLAIM]
    noisy = counts[Outcome.INCONCLUSIVE]
    if not checked and noisy:
        return Verdict.ERROR, (
            "Every checked column is too noisy to judge (inconclusive): " + ", ".join(noisy) + "."
        )
    if not checked:
        return Verdict.ERROR, "No claimed column could be checked on this machine."
    reason = f"Reproduced {len(checked)} claimed column(s)"
    if counts[Outcome.NOT_RUN]:
        reason += f"; not run here: {', '.join(counts[Outcome.NOT_RUN])}"
    if counts[Outcome.ABOVE_CLAIM]:
        reason += f"; above the claim: {', '.join(counts[Outcome.ABOVE_CLAIM])}"
    if noisy:
        reason += f"; too noisy to judge (inconclusive): {', '.join(noisy)}"
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
