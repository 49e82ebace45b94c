"""Each task: embed it through the sandboxed model, evaluate it here.

The model sees audio and nothing else (bot/verify/streamed.py): trusted code reads the task,
streams its clips into the sandbox under opaque ids, and writes what comes back, checked and
bounded, in the kit's layout under ``<model key>/<task>``, a directory no sandbox ever sees.
Each task's sandbox writes only a scratch directory of its own (``<model key>/.sandbox-<task>``),
which nothing reads and which is removed afterwards. The embeddings' digest (content
included) is recorded where no sandbox can write.

One failing task is reported and the others go on; finished work is reused by the next run
by the rules of bot/runner/cache.py (checked embeddings by their recorded digest, scores by
their settings)."""

from __future__ import annotations

import io
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import __version__
from bot.common.fileio import write_atomic
from bot.common.result import TaskResult
from bot.common.untrusted import remove_tree
from bot.evaluation import evaluate_task
from bot.evaluation.canary import read_canary_scores
from bot.evaluation.scores import MEMBERS_FILE, PREDICTIONS_FILE, SCORES_FILE, load_members
from bot.hear.embed import DEFAULT_MAX_BATCH_SIZE as MAX_BATCH_SIZE
from bot.hear.embed import EmbedError, embed_task
from bot.hear.tasks import TaskError
from bot.runner import cache
from bot.runner.sandbox import SandboxError, output_problems
from bot.verify.canary import judge as judge_canary
from bot.verify.options import VerifyOptions
from bot.verify.result import flat_scores, task_entry
from bot.verify.sandboxed import PreparedModel
from bot.verify.stage_log import StageLog
from bot.verify.streamed import ModelStreamError, SandboxedEmbedder
from bot.verify.verdict import TaskStatus

STAGING_PREFIX = ".sandbox-"


class LogStream(io.TextIOBase):
    """A text stream whose lines go to the stage log (progress lines of trusted code)."""

    def __init__(self, log: StageLog, stage: str) -> None:
        self.log = log
        self.stage = stage
        self.pending = ""

    def write(self, text: str) -> int:
        lines = (self.pending + text).split("\n")
        self.pending = lines.pop()
        for line in lines:
            self.log(f"{self.stage}: {line}")
        return len(text)


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
    cached: dict[str, float] = field(default_factory=dict)
    """embed_s / evaluate_s when every task's embeddings / scores were an earlier run's: that
    run's seconds (`verification.cached_s`)."""
    reused_scores: set[str] = field(default_factory=set)

    def scores_dir(self, task_dir: str, mode: str | None = None) -> Path:
        """Where the task's scores in ``mode`` (default: the run's) are kept."""
        mode = mode or self.options.evaluation_mode
        return self.trusted / task_dir if mode == "exact" else self.trusted / task_dir / mode

    def rescore(self, task_dir: str, mode: str) -> list[dict[str, Any]]:
        """The task's members' scores in `mode`, member 0 first (reused when an earlier run
        computed them)."""
        return _scores(
            self.embeddings / task_dir,
            self.digests[task_dir],
            self.options.tasks_dir / task_dir,
            self.scores_dir(task_dir, mode),
            self.options,
            self.log,
            mode,
            self.reused_scores,
        )


def embed_and_evaluate(
    model: PreparedModel, task_dirs: list[str], options: VerifyOptions, log: StageLog
) -> TaskRuns:
    """Each task: embed (the model in the sandbox, fed through the audio stream), then evaluate
    (here). One failing task is reported and the others go on; finished work is kept for the
    next run."""
    embeddings = cache.embeddings_dir(options.work_dir, model.key)
    trusted = cache.scores_dir(options.work_dir, model.key)
    runs = TaskRuns(embeddings, trusted, options, log)
    scores, errors = runs.scores, runs.errors
    embed_seconds = evaluate_seconds = 0.0
    reused_embeddings: list[str] = []
    earlier = {"embed_s": 0.0, "evaluate_s": 0.0}
    for task_dir in task_dirs:
        start = time.monotonic()
        message, digest = _embed_checked(
            model, task_dir, embeddings, trusted, options, log, reused_embeddings
        )
        seconds = time.monotonic() - start
        embed_seconds += seconds
        kept = _kept_seconds(trusted / task_dir)
        if task_dir in reused_embeddings:
            earlier["embed_s"] += kept.get("embed_s", 0.0)
        elif message is None:
            _keep_seconds(trusted / task_dir, {**kept, "embed_s": round(seconds, 3)})
        if message is not None:
            errors[task_dir] = (message, log.tail(f"embed {task_dir}:"))
            runs.entries.append(task_entry(task_dir, TaskStatus.ERROR, message))
            continue
        runs.digests[task_dir] = digest
        start = time.monotonic()
        try:
            runs.members[task_dir] = runs.rescore(task_dir, options.evaluation_mode)
            scores[task_dir] = runs.members[task_dir][0]
            out = runs.scores_dir(task_dir)
            if (out / PREDICTIONS_FILE).is_file():
                runs.predictions[task_dir] = out / PREDICTIONS_FILE
        except Exception as exc:  # one task failing is reported; the others go on
            message = f"Evaluating {task_dir} failed: {type(exc).__name__}: {exc}"
            errors[task_dir] = (message, log.tail(f"evaluate {task_dir}"))
            runs.entries.append(task_entry(task_dir, TaskStatus.ERROR, message))
            continue
        finally:
            seconds = time.monotonic() - start
            evaluate_seconds += seconds
        kept = _kept_seconds(trusted / task_dir)
        if task_dir in runs.reused_scores:
            earlier["evaluate_s"] += kept.get("evaluate_s", 0.0)
        else:
            _keep_seconds(trusted / task_dir, {**kept, "evaluate_s": round(seconds, 3)})
        entry = task_entry(task_dir, TaskStatus.SCORED, "", flat_scores(scores[task_dir]))
        canary = judge_canary(read_canary_scores(runs.scores_dir(task_dir)))
        if canary is not None:
            entry["canary"] = canary
            if canary["suspicious"]:
                log(
                    f"canary {task_dir}: SUSPICIOUS: {canary['clips']} clips scored "
                    f"{canary['original']:.4f} as embedded and {canary['perturbed']:.4f} "
                    "perturbed below audibility (memorised?)"
                )
        runs.entries.append(entry)
    runs.timings = {"embed_s": round(embed_seconds, 3), "evaluate_s": round(evaluate_seconds, 3)}
    if task_dirs and len(reused_embeddings) == len(task_dirs):
        runs.cached["embed_s"] = round(earlier["embed_s"], 3)
    if task_dirs and set(task_dirs) <= runs.reused_scores:
        runs.cached["evaluate_s"] = round(earlier["evaluate_s"], 3)
    return runs


SECONDS_FILE = "seconds.json"
_STEP = re.compile(r"^(grid point|split) (\d+)/(\d+)")
_MEMBER = re.compile(r"^member (\d+) \((trained together|seed \d+)\): (.*)$")
_SEEDS = re.compile(r"\bseeds (\d+)\b")


@dataclass
class EvaluationSteps:
    """Where an evaluation is, from its log lines (`grid point k/n`, then `split k/n` for
    k-fold tasks; members after the first prefixed `member k (...)`), for the heartbeat: the
    member, the step and an ETA from the steps' mean time."""

    started: float = field(default_factory=time.monotonic)
    grid: tuple[int, int] = (0, 0)
    splits: tuple[int, int] = (0, 0)
    members: int = 1
    member: int = 0
    together: bool = False
    seen: int = 0  # steps logged by the current member (all members trained together)

    def saw(self, line: str) -> None:
        seeds = _SEEDS.search(line) if line.startswith("task ") else None
        if seeds:
            self.members = int(seeds.group(1))
        member = _MEMBER.match(line)
        if member:
            k, together = int(member.group(1)), member.group(2) == "trained together"
            if together != self.together or (not together and k != self.member):
                self.grid, self.splits, self.seen = (0, 0), (0, 0), 0
                self.started = time.monotonic()
            self.member, self.together, line = k, together, member.group(3)
        match = _STEP.match(line)
        if match:
            done, total = int(match.group(2)), int(match.group(3))
            self.seen += 1
            if match.group(1) == "grid point":
                self.grid = (done, total)
            else:
                self.splits = (done, total)

    def status(self) -> str:
        who = ""
        if self.members > 1:
            who = f"member {self.member + 1}/{self.members}, "
            if self.together:
                who = f"members 2-{self.members} (trained together), "
        grid_done, grid_total = self.grid
        split_done, split_total = self.splits
        if not grid_total:
            if self.member or self.together:
                return f"; {who}training"
            return "; preparing (reading embeddings)"
        if self.together:
            others = self.members - 1
            return f"; {who}{self.seen} of their {others * grid_total} grid points trained"
        done = grid_done + max(0, split_done - 1)
        total = grid_total + max(0, split_total - 1)
        where = f"grid point {grid_done}/{grid_total} trained"
        if split_total:
            where = f"split {split_done}/{split_total} trained (grid search done)"
        elapsed = time.monotonic() - self.started
        if done and total > done:
            return f"; {who}{where}, ETA ~{elapsed / done * (total - done):.0f} s"
        return f"; {who}{where}"


def _kept_seconds(trusted_task: Path) -> dict[str, float]:
    """How long the task's kept embeddings and scores took when they were made (trusted
    storage; {} when not recorded)."""
    try:
        data = json.loads((trusted_task / SECONDS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        key: float(value)
        for key, value in data.items()
        if key in ("embed_s", "evaluate_s") and isinstance(value, int | float) and value >= 0
    }


def _keep_seconds(trusted_task: Path, seconds: dict[str, float]) -> None:
    trusted_task.mkdir(parents=True, exist_ok=True)
    write_atomic(trusted_task / SECONDS_FILE, json.dumps(seconds).encode())


def _embed_checked(
    model: PreparedModel,
    task_dir: str,
    embeddings: Path,
    trusted: Path,
    options: VerifyOptions,
    log: StageLog,
    reused: list[str],
) -> tuple[str | None, str]:
    """Embed one task through the sandboxed model, unless an earlier run's embeddings of it
    are unchanged (an interrupted run is resumed). (what went wrong or None, the embeddings'
    digest); the digest is recorded where the sandbox cannot write."""
    stage = f"embed {task_dir}"
    task_embeddings = embeddings / task_dir
    record = trusted / task_dir / cache.EMBEDDINGS_RECORD
    recorded = cache.reusable_embeddings(task_embeddings, record)
    if recorded is not None:
        log(f"{stage}: reusing the checked embeddings of an earlier run (nothing to run)")
        reused.append(task_dir)
        return None, recorded
    if task_embeddings.is_dir() and not task_embeddings.is_symlink():
        # Written by an earlier run (no sandbox can reach them): anything odd is reported.
        problems = output_problems(task_embeddings)
        if problems:
            message = f"The kept embeddings of {task_dir} changed since they were checked: "
            return message + "; ".join(problems), ""
    # The sandbox's one writable directory: scratch for the model, read by nobody. The
    # embeddings are written by trusted code, from what the stream returns.
    scratch = embeddings / f"{STAGING_PREFIX}{task_dir}"
    remove_tree(scratch)
    try:
        with (
            log.heartbeat(stage),
            SandboxedEmbedder(model, options, log, stage, scratch, MAX_BATCH_SIZE) as embedder,
        ):
            summary = embed_task(
                embedder,
                options.tasks_dir / task_dir,
                embeddings,
                progress=True,
                progress_stream=LogStream(log, stage),
                canary_fraction=options.canary_fraction,
                max_batch_size=MAX_BATCH_SIZE,
            )
    except (ModelStreamError, SandboxError) as exc:
        return f"Embedding {task_dir} failed: {exc}; see the log tail.", ""
    except (EmbedError, TaskError) as exc:
        return f"Embedding {task_dir} failed: {exc}", ""
    finally:
        remove_tree(scratch)
    if embedder.failure is not None:
        # Every clip came back, but the sandbox ended badly (a limit breached, a non-zero
        # exit): nothing of this run is trusted.
        remove_tree(task_embeddings)
        return f"Embedding {task_dir} failed ({embedder.failure}); see the log tail.", ""
    log(
        f"{stage}: {summary['clips']} clips and {summary.get('canary_clips', 0)} canary copies "
        f"at {summary['sample_rate']} Hz in {summary['seconds']:.1f} s"
    )
    record.unlink(missing_ok=True)
    return None, cache.record_embeddings(task_embeddings, record)


def _scores(
    task_embeddings: Path,
    digest: str,
    task_metadata: Path,
    out: Path,
    options: VerifyOptions,
    log: StageLog,
    mode: str,
    reused: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The task's members' scores (member 0 first) in evaluation `mode`, computed from the
    sandbox's embeddings and the task's own metadata, kept in ``out`` (`TaskRuns.scores_dir`:
    never beside the embeddings) and reused when an earlier run evaluated embeddings of the
    same ``digest`` the same way with the same number of seeds."""
    settings = {
        "max_epochs": options.max_epochs,
        "grid_points": 8,
        "hearbot": __version__,
        "embeddings": digest,
        "mode": mode,
        "canary": True,
        "seeds": options.seeds,
    }
    if cache.scores_reusable(out, SCORES_FILE, settings) and (out / MEMBERS_FILE).is_file():
        log(f"evaluate {task_embeddings.name}: reusing {out / SCORES_FILE}")
        if reused is not None:
            reused.add(task_embeddings.name)
        return load_members(out / MEMBERS_FILE)

    stage = f"evaluate {task_embeddings.name}"
    steps = EvaluationSteps()

    def evaluate_log(line: str) -> None:
        steps.saw(line)
        log(f"{stage}: {line}")

    with log.heartbeat(stage, steps.status):
        scores = evaluate_task(
            task_embeddings,
            device=options.device,
            log=evaluate_log,
            max_epochs=options.max_epochs,
            metadata_dir=task_metadata,
            out_dir=out,
            mode=mode,
            canary=True,
            seeds=options.seeds,
        )
    cache.record_scores(out, settings)
    return [scores, *load_members(out / MEMBERS_FILE)[1:]]
