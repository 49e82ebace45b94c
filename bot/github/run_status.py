"""The live status of a verification run, as the sticky comment's ``status`` section (pure).

The GPU jobs never hold a write token, so they do not report progress themselves: the
``status`` job of verify.yml (``hearbot github watch-run``, bot/github/live_status.py) reads
the run's jobs from the API and renders them here. Per GPU shard:

- ``waiting for approval``: the job waits for a required reviewer of ``gpu-verification``;
- ``waiting for a runner``: approved and queued, with the verification runs ahead of it;
- ``running``: on a runner; the step it is in, and during the verify step the column it is
  probably on, the share done and the time left, **projected** from the elapsed time and the
  projection model below (the job cannot say where it is; the projection says where it
  should be);
- ``finished``: done; the report job posts the result;
- ``error``: the job ended ``failure``, ``cancelled`` or ``timed_out`` (a lost runner ends
  as a failure when GitHub gives up on it): its columns become ``error``; the job's link is
  shown at once, not left "running".

The projection model: the per-column minutes of benchmarks/gpu_projection.py on the record of
a real GPU run (benchmarks/results/h100-2026-11-26.json, NVIDIA H100, a 94 M-parameter
model): embedding at the measured real-time factor of the column's type, and the protocol's
trainings at the measured seconds per training and clip (scene) or audio hour (event), times
the K members verify evaluates (`DEFAULT_SEEDS`), plus ``SETUP_S`` per shard for installing
hearbot and the submission when the verify step's own start time is unknown. Real models
differ; the comment says "projected".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.common.schemas import Column, leaderboard_facts
from bot.report import code, text
from bot.verify.verdict import DEFAULT_SEEDS

SECTION = "status"
GPU_JOB_PREFIX = "Verify shard "
VERIFY_STEP_PREFIX = "Verify this shard"
# benchmarks/results/h100-2026-11-26.json (tests/github/test_run_status.py holds them to it).
EMBED_REALTIME_FACTOR = {"scene": 4551.6, "event": 1159.9}
SCENE_S_PER_TRAINING_AND_CLIP = 0.000161
EVENT_S_PER_TRAINING_AND_AUDIO_HOUR = 8.453
GRID_POINTS = 8
SETUP_S = 300.0  # installing hearbot, torch and the submission in the GPU job (an estimate)
ERROR_CONCLUSIONS = frozenset({"failure", "cancelled", "timed_out", "action_required"})


@dataclass(frozen=True)
class Step:
    name: str
    status: str
    conclusion: str | None
    started_at: dt.datetime | None = None


@dataclass(frozen=True)
class Job:
    id: int
    name: str
    status: str  # queued, in_progress, completed, waiting, requested, pending
    conclusion: str | None
    started_at: dt.datetime | None
    html_url: str
    runner_name: str | None
    steps: tuple[Step, ...] = ()


@dataclass(frozen=True)
class ShardStatus:
    shard: int
    columns: tuple[str, ...]
    state: str  # waiting-approval, waiting-runner, running, finished, error
    line: str  # markdown
    job_seen: bool = True  # the API lists this shard's GPU job


@dataclass(frozen=True)
class RunStatus:
    state: str  # the run's: error > running > waiting-runner > waiting-approval > finished
    shards: tuple[ShardStatus, ...]
    markdown: str

    @property
    def done(self) -> bool:
        return all(s.state in ("finished", "error") for s in self.shards)


STATE_ORDER = ("error", "running", "waiting-runner", "waiting-approval", "finished")
STATE_TITLES = {
    "waiting-approval": "⏳ **Waiting for a maintainer's approval**",
    "waiting-runner": "⏳ **Waiting for a GPU runner**",
    "running": "⚙️ **Running**",
    "finished": "✅ **Finished**: the result follows below",
    "error": "⚠️ **Error**",
}


def column_trainings(column: Column) -> int:
    """The protocol's trainings for a column: per task directory, the grid points on the first
    split and, for k-fold tasks, the winner once on each further split."""
    return (GRID_POINTS + (column.folds or 1) - 1) * len(column.task_dirs)


def projected_seconds(column: Column, seeds: int = DEFAULT_SEEDS) -> float:
    """Embedding once, and the evaluation of `seeds` members (each as long as one run: the
    bound when members run one by one, docs/tolerances.md)."""
    embed = column.audio_hours * 3600 / EMBED_REALTIME_FACTOR[column.embedding_type]
    trainings = column_trainings(column)
    if column.embedding_type == "event":
        evaluate = trainings * column.audio_hours * EVENT_S_PER_TRAINING_AND_AUDIO_HOUR
    else:
        evaluate = trainings * column.clips * SCENE_S_PER_TRAINING_AND_CLIP
    return embed + evaluate * seeds


@dataclass(frozen=True)
class Progress:
    column_index: int  # 1-based
    columns: int
    column: str
    fraction: float  # of the verify step, 0..1 (capped at 0.99 while running)
    remaining_s: float
    overdue: bool  # past the projection


def projected_progress(columns: Sequence[str], elapsed_s: float) -> Progress:
    """Where the verify step should be after ``elapsed_s``, by the projection model."""
    facts = leaderboard_facts()
    durations = [projected_seconds(facts.column(name)) for name in columns]
    total = sum(durations)
    done = 0.0
    for index, (name, seconds) in enumerate(zip(columns, durations, strict=True), start=1):
        if elapsed_s < done + seconds or index == len(columns):
            fraction = min(elapsed_s / total, 0.99) if total else 0.0
            return Progress(
                index,
                len(columns),
                name,
                fraction,
                max(total - elapsed_s, 0.0),
                overdue=elapsed_s > total,
            )
        done += seconds
    raise AssertionError("unreachable: columns is not empty")


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def shard_status(
    shard: int,
    shards: int,
    columns: Sequence[str],
    job: Job | None,
    runs_ahead: int,
    now: dt.datetime,
) -> ShardStatus:
    names = ", ".join(columns)
    head = f"shard {shard} of {shards} ({text(names, 300)})"
    if job is None or job.status in ("pending", "requested"):
        return ShardStatus(
            shard, tuple(columns), "waiting-runner", f"{head}: not started yet", job is not None
        )
    link = f"[job log]({job.html_url})"
    if job.status == "waiting":
        return ShardStatus(
            shard,
            tuple(columns),
            "waiting-approval",
            f"{head}: waiting for a maintainer to approve the `gpu-verification` deployment "
            f"({link})",
        )
    if job.status == "queued":
        ahead = f"{runs_ahead} verification run{'s' if runs_ahead != 1 else ''} ahead"
        return ShardStatus(
            shard, tuple(columns), "waiting-runner", f"{head}: waiting for a GPU runner, {ahead}"
        )
    if job.status == "completed":
        if job.conclusion in ERROR_CONCLUSIONS:
            return ShardStatus(
                shard,
                tuple(columns),
                "error",
                f"{head}: the GPU job ended {code(job.conclusion or 'unknown', in_table=False)} "
                "before its result (runner lost, cancelled or timed out); these columns will "
                f"be `error` ({link})",
            )
        return ShardStatus(shard, tuple(columns), "finished", f"{head}: finished ({link})")
    # in_progress
    runner = f" on {code(job.runner_name, in_table=False)}" if job.runner_name else ""
    step = next((s for s in job.steps if s.status == "in_progress"), None)
    where = "starting" if step is None else f"step {code(step.name, in_table=False)}"
    detail = ""
    verify_step = step is not None and step.name.startswith(VERIFY_STEP_PREFIX)
    if verify_step and step is not None and (step.started_at or job.started_at):
        if step.started_at is not None:  # the verify step's own start
            elapsed = (now - step.started_at).total_seconds()
        else:
            assert job.started_at is not None
            elapsed = (now - job.started_at).total_seconds() - SETUP_S
        progress = projected_progress(columns, max(elapsed, 0.0))
        if progress.overdue:
            detail = (
                f": past the projected time (column {progress.columns} of {progress.columns}, "
                f"{text(progress.column, 100)}, is taking longer than projected)"
            )
        else:
            detail = (
                f": column {progress.column_index} of {progress.columns} "
                f"({text(progress.column, 100)}), about {progress.fraction:.0%} done, about "
                f"{_minutes(progress.remaining_s)} left (projected)"
            )
    return ShardStatus(
        shard, tuple(columns), "running", f"{head}: running{runner}, {where}{detail} ({link})"
    )


def run_status(
    run_url: str,
    plan: Sequence[tuple[int, Sequence[str]]],
    jobs: Sequence[Job],
    runs_ahead: int,
    now: dt.datetime,
) -> RunStatus:
    """The status section for a run: ``plan`` is (shard number, columns) per GPU shard; the
    GPU jobs are matched to shards by their name, ``Verify shard <n> ...``."""
    by_shard: dict[int, Job] = {}
    for job in jobs:
        if job.name.startswith(GPU_JOB_PREFIX):
            number = job.name[len(GPU_JOB_PREFIX) :].split(" ", 1)[0]
            if number.isdigit():
                by_shard[int(number)] = job
    shards = tuple(
        shard_status(number, len(plan), columns, by_shard.get(number), runs_ahead, now)
        for number, columns in plan
    )
    state = min((s.state for s in shards), key=STATE_ORDER.index) if shards else "finished"
    stamp = now.strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "#### Verification status",
        "",
        f"{STATE_TITLES[state]} · [run]({run_url}) · updated {stamp}",
        "",
        *(f"- {s.line}" for s in shards),
    ]
    return RunStatus(state, shards, "\n".join(lines))


def final_status(outcome: str, run_url: str | None, now: dt.datetime) -> str:
    """The status section once the report job has posted the result."""
    link = f" · [run]({run_url})" if run_url else ""
    stamp = now.strftime("%Y-%m-%d %H:%M UTC")
    return (
        "#### Verification status\n\n"
        f"🏁 **Result: {code(outcome, in_table=False)}** (details below){link} · updated {stamp}"
    )
