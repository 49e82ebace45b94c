"""Each task: embed it in the sandbox, check what the sandbox wrote, evaluate it here.

Each task's sandbox writes into a directory of its own (``<model key>/.sandbox-<task>``), the
only one it can write; once its embeddings are checked they are sealed: moved to
``<model key>/<task>``, which no sandbox ever sees again (a later task's model cannot rewrite
them), and their digest (content included) recorded where the sandbox cannot write.

One failing task is reported and the others go on; finished work is reused by the next run
by the rules of bot/runner/cache.py (checked embeddings by their recorded digest, scores by
their settings)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import __version__
from bot.common.result import TaskResult
from bot.common.untrusted import remove_tree
from bot.evaluation import evaluate_task
from bot.evaluation.scores import MEMBERS_FILE, PREDICTIONS_FILE, SCORES_FILE, load_members
from bot.runner import cache
from bot.runner.sandbox import Mount, SandboxError, output_problems
from bot.verify.options import VerifyOptions
from bot.verify.result import flat_scores, task_entry
from bot.verify.sandboxed import SANDBOX_OUT, SANDBOX_TASKS, PreparedModel, run_worker
from bot.verify.stage_log import StageLog
from bot.verify.verdict import TaskStatus

STAGING_PREFIX = ".sandbox-"


@dataclass
class TaskRuns:
    """Each task's scores (in `options.evaluation_mode`) or error, and what scoring a task
    again in another mode needs: its checked embeddings' digest."""

    embeddings: Path
    trusted: Path
    options: VerifyOptions
    log: StageLog
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Member 0's scores per task."""
    members: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Every member's scores per task, member 0 first (`options.seeds` of them)."""
    predictions: dict[str, Path] = field(default_factory=dict)
    """The per-clip test predictions file of each clip-level task."""
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    entries: list[TaskResult] = field(default_factory=list)
    """`verification.tasks`: one entry per task, in the order they ran."""
    timings: dict[str, float] = field(default_factory=dict)
    """embed_s and evaluate_s, summed over the tasks."""

    def rescore(self, task_dir: str, mode: str) -> list[dict[str, Any]]:
        """The task's members' scores in `mode`, member 0 first (reused when an earlier run
        computed them)."""
        return _scores(
            self.embeddings / task_dir,
            self.digests[task_dir],
            self.options.tasks_dir / task_dir,
            self.trusted / task_dir,
            self.options,
            self.log,
            mode,
        )


def embed_and_evaluate(
    model: PreparedModel, task_dirs: list[str], options: VerifyOptions, log: StageLog
) -> TaskRuns:
    """Each task: embed (in the sandbox), check what it wrote, then evaluate (here). One failing
    task is reported and the others go on; finished work is kept for the next run."""
    embeddings = cache.embeddings_dir(options.work_dir, model.key)
    trusted = cache.scores_dir(options.work_dir, model.key)
    runs = TaskRuns(embeddings, trusted, options, log)
    scores, errors = runs.scores, runs.errors
    embed_seconds = evaluate_seconds = 0.0
    for task_dir in task_dirs:
        start = time.monotonic()
        message, digest = _embed_checked(model, task_dir, embeddings, trusted, options, log)
        embed_seconds += time.monotonic() - start
        if message is not None:
            errors[task_dir] = (message, log.tail(f"embed {task_dir}:"))
            runs.entries.append(task_entry(task_dir, TaskStatus.ERROR, message))
            continue
        runs.digests[task_dir] = digest
        start = time.monotonic()
        try:
            runs.members[task_dir] = runs.rescore(task_dir, options.evaluation_mode)
            scores[task_dir] = runs.members[task_dir][0]
            out = trusted / task_dir
            out = out if options.evaluation_mode == "exact" else out / options.evaluation_mode
            if (out / PREDICTIONS_FILE).is_file():
                runs.predictions[task_dir] = out / PREDICTIONS_FILE
        except Exception as exc:  # one task failing is reported; the others go on
            message = f"Evaluating {task_dir} failed: {type(exc).__name__}: {exc}"
            errors[task_dir] = (message, log.tail(f"evaluate {task_dir}"))
            runs.entries.append(task_entry(task_dir, TaskStatus.ERROR, message))
            continue
        finally:
            evaluate_seconds += time.monotonic() - start
        runs.entries.append(
            task_entry(task_dir, TaskStatus.SCORED, "", flat_scores(scores[task_dir]))
        )
    runs.timings = {"embed_s": round(embed_seconds, 3), "evaluate_s": round(evaluate_seconds, 3)}
    return runs


def _embed_checked(
    model: PreparedModel,
    task_dir: str,
    embeddings: Path,
    trusted: Path,
    options: VerifyOptions,
    log: StageLog,
) -> tuple[str | None, str]:
    """Embed one task in the sandbox, unless an earlier run's checked embeddings of it are
    unchanged, check what the sandbox wrote and seal it. (what went wrong or None, the
    embeddings' digest); the digest of checked embeddings is recorded where the sandbox cannot
    write."""
    stage = f"embed {task_dir}"
    task_embeddings = embeddings / task_dir
    record = trusted / task_dir / cache.EMBEDDINGS_RECORD
    recorded = cache.reusable_embeddings(task_embeddings, record)
    if recorded is not None:
        log(f"{stage}: reusing the checked embeddings of an earlier run (nothing to run)")
        return None, recorded
    if task_embeddings.is_dir() and not task_embeddings.is_symlink():
        # Sealed by an earlier run, and changed since (no sandbox can reach them): say what.
        problems = output_problems(task_embeddings)
        if problems:
            message = f"The kept embeddings of {task_dir} changed since they were checked: "
            return message + "; ".join(problems), ""
    arguments = ["embed", *model.arguments, "--tasks-dir", SANDBOX_TASKS, "--task", task_dir]
    arguments += ["--out", SANDBOX_OUT, "--no-progress"]
    task_mount = Mount(options.tasks_dir / task_dir, f"{SANDBOX_TASKS}/{task_dir}")
    # This task's own writable directory (kept after a failure: the worker resumes from it).
    staging = embeddings / f"{STAGING_PREFIX}{task_dir}"
    try:
        failure = run_worker(model, arguments, staging, options, log, stage, (task_mount,))
    except SandboxError as exc:
        failure = str(exc)
    if failure is not None:
        return f"Embedding {task_dir} failed ({failure}); see the log tail.", ""
    problems = output_problems(staging)
    if problems:
        message = f"Embedding {task_dir} wrote files trusted code will not read: "
        return message + "; ".join(problems), ""
    written = staging / task_dir
    if written.is_symlink() or not written.is_dir():
        return f"Embedding {task_dir} wrote no {task_dir} directory; see the log tail.", ""
    # Sealed: out of every later sandbox's reach, then recorded by content.
    record.unlink(missing_ok=True)
    remove_tree(task_embeddings)
    os.rename(written, task_embeddings)
    remove_tree(staging)
    return None, cache.record_embeddings(task_embeddings, record)


def _scores(
    task_embeddings: Path,
    digest: str,
    task_metadata: Path,
    out: Path,
    options: VerifyOptions,
    log: StageLog,
    mode: str,
) -> list[dict[str, Any]]:
    """The task's members' scores (member 0 first) in evaluation `mode`, computed from the
    sandbox's embeddings and the task's own metadata, kept in ``out`` (exact) or
    ``out/batched`` (never beside the embeddings) and reused when an earlier run evaluated
    embeddings of the same ``digest`` the same way with the same number of seeds."""
    out = out if mode == "exact" else out / mode
    settings = {
        "max_epochs": options.max_epochs,
        "grid_points": 8,
        "hearbot": __version__,
        "embeddings": digest,
        "mode": mode,
        "seeds": options.seeds,
    }
    if cache.scores_reusable(out, SCORES_FILE, settings) and (out / MEMBERS_FILE).is_file():
        log(f"evaluate {task_embeddings.name}: reusing {out / SCORES_FILE}")
        return load_members(out / MEMBERS_FILE)

    def evaluate_log(line: str) -> None:
        log(f"evaluate {task_embeddings.name}: {line}")

    scores = evaluate_task(
        task_embeddings,
        device=options.device,
        log=evaluate_log,
        max_epochs=options.max_epochs,
        metadata_dir=task_metadata,
        out_dir=out,
        mode=mode,
        seeds=options.seeds,
    )
    cache.record_scores(out, settings)
    return [scores, *load_members(out / MEMBERS_FILE)[1:]]
