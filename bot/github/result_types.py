"""The result document (schemas/result.schema.json) as the GitHub side reads and writes it.

TypedDicts for the parts ``checks``, ``verification``, ``artifact`` and ``shard_merge`` look
into; the parts they only pass on stay ``dict[str, Any]``. Nothing here checks anything: an
untrusted document becomes a ``Result`` only after ``artifact.read_artifact`` validated it
against the schema, and ``shard_merge`` validates what it builds before handing it on.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class Finding(TypedDict):
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


class ColumnEntry(TypedDict):
    column: str
    outcome: str  # reproduced, mismatch, above-claim, not-claimed, not-run, error
    claimed: float | None
    reproduced: float | None
    delta: float | None
    tolerance: float
    task_dirs: list[str]
    detail: str
    log_tail: str | None


class Verification(TypedDict):
    verdict: str  # pass, fail, error (bot.github.outcomes.Outcome, less stale)
    reason: str
    model: dict[str, Any]
    environment: dict[str, Any]
    timings: dict[str, float]
    conformance: list[dict[str, Any]]
    columns: list[ColumnEntry]
    tasks: list[dict[str, Any]]
    stand_ins: dict[str, str]
    memory_mb: NotRequired[dict[str, float]]


class Result(TypedDict):
    schema_version: int
    tool: dict[str, Any]
    kind: str  # validation, verification
    ok: bool
    errors: list[Finding]
    warnings: list[Finding]
    submission: SubmissionRow | None
    ranks: list[dict[str, Any]]
    checked: dict[str, Any]
    pull_request: NotRequired[PullRequestRef]
    verification: NotRequired[Verification | None]


class StaleNote(TypedDict):
    """``stale.json``: the PR moved on from ``sha`` to ``current_head_sha``."""

    pr: int
    sha: str
    current_head_sha: str
