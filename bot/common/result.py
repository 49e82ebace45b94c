"""The result document's shape (schemas/result.schema.json), typed: what `validate` and
`verify` write, what `report` renders and what the GitHub edge reads back.

TypedDicts, so the document stays the plain JSON-ready dict every layer already passes; the
schema stays the authority and `check_result` applies it at the edges (reading a result in,
writing one out).
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from bot.common.schemas import json_pointer, schema_errors

RESULT_SCHEMA = "result.schema.json"


class Finding(TypedDict):
    """One validation problem (bot.submission.findings)."""

    code: str
    line: int | None  # in the head leaderboard.csv
    column: str | None
    message: str
    fix: str


class SubmissionRow(TypedDict):
    line: int
    row: dict[str, str]  # the appended row, by CSV header
    slug: str | None
    manifest_path: str | None


class PullRequestRef(TypedDict):
    repository: str
    number: int
    head_sha: str
    base_sha: str


class StaleNote(TypedDict):
    """`stale.json` beside a result: the PR moved on from `sha` to `current_head_sha`."""

    pr: int
    sha: str
    current_head_sha: str


class ModelFacts(TypedDict):
    hear_module: str
    sample_rate: int | None
    scene_embedding_size: int | None
    timestamp_embedding_size: int | None
    install_pin: str
    weights_sha256: str | None
    model_options: dict[str, Any]


class Package(TypedDict):
    name: str
    version: str


class EnvironmentFacts(TypedDict):
    device: str
    python: str
    torch: str
    cuda: NotRequired[str | None]  # torch's CUDA version on a CUDA run
    driver: NotRequired[str | None]  # the NVIDIA driver (nvidia-smi) on a CUDA run
    torch_threads: int
    installed_from: str  # pinned-virtualenv | current-environment
    evaluation_mode: NotRequired[str]  # exact | batched
    seeds: NotRequired[int]  # K, the members of each column's seed ensemble
    provenance: list[Package]
    sandbox: dict[str, Any]


class CheckResult(TypedDict):
    """One HEAR API check (`status`: a bot.verify.verdict.CheckStatus value)."""

    name: str
    status: str
    detail: str


class IntervalFacts(TypedDict):
    """The prediction interval a claim was judged against (bot.verify.verdict.Interval)."""

    low: float
    high: float
    confidence: float
    floor: float
    cap: float
    k: int
    clip_sd: NotRequired[float]


class ColumnResult(TypedDict):
    """One leaderboard column judged (`outcome`: a bot.verify.verdict.Outcome value).

    `reproduced` is member 0 (the kit-identical run in exact mode); `tolerance` the interval's
    half-width actually applied (the column's floor when nothing was judged). The ensemble
    fields are present when a score was judged; `ci95` when member 0's per-clip predictions
    allowed a bootstrap over test clips."""

    column: str
    claimed: float | None
    reproduced: float | None
    delta: float | None
    tolerance: float
    task_dirs: list[str]
    outcome: str
    detail: str
    log_tail: str | None
    members: NotRequired[list[float]]
    mean: NotRequired[float]
    sd: NotRequired[float]
    interval: NotRequired[IntervalFacts]
    ci95: NotRequired[list[float]]


class TaskResult(TypedDict):
    """One task directory (`status`: a bot.verify.verdict.TaskStatus value)."""

    task_dir: str
    status: str
    detail: str
    scores: dict[str, float | str]
    canary: NotRequired[dict[str, Any]]
    """The memorisation canary (bot/verify/canary.py), where the task was scored with one."""


class StageError(TypedDict):
    """A stage that failed before any column ran (install, check-model), reported once."""

    stage: str
    message: str
    log_tail: str


class Verification(TypedDict):
    verdict: str  # a bot.verify.verdict.Verdict value
    reason: str
    model: ModelFacts
    environment: EnvironmentFacts
    timings: dict[str, float]
    memory_mb: NotRequired[dict[str, float]]
    cached_s: NotRequired[dict[str, float]]
    stage_error: NotRequired[StageError | None]
    conformance: list[CheckResult]
    columns: list[ColumnResult]
    tasks: list[TaskResult]
    stand_ins: dict[str, str]


class ResultDocument(TypedDict):
    schema_version: int
    tool: dict[str, str]
    kind: str  # validation | verification
    ok: bool
    errors: list[Finding]
    warnings: list[Finding]
    submission: SubmissionRow | None
    ranks: list[dict[str, Any]]
    checked: dict[str, bool]
    pull_request: NotRequired[PullRequestRef]
    verification: NotRequired[Verification | None]  # absent or None: validation only


def check_result(document: Any) -> list[str]:
    """What keeps ``document`` from being a result (schemas/result.schema.json): one line per
    problem, `/json/pointer: message`; empty when it is one."""
    return [
        f"{json_pointer(error) or '/'}: {error.message}"
        for error in schema_errors(RESULT_SCHEMA, document)
    ]
