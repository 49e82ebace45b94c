"""`hearbot verify`: validate, install, check the model, embed, evaluate, compare; the stages
in order.

The submission's code (its install and everything that imports it) runs in the sandbox
(bot/runner/sandbox.py) with the submission's own Python; evaluation and scoring run here, in
trusted code, on the files the sandbox wrote, checked first (bot/runner/sandbox.py
`output_problems`, then the strict readers of bot/evaluation/embeddings.py) and read with the
task's own metadata. Trusted results (scores, logs) are written where the sandbox cannot write.

Work is kept under the work directory and reused by the next run, content-addressed
(bot/runner/cache.py): the virtualenv by its pins, the embeddings by the model's identity
(pins, module, options, weights, device), the scores by the evaluation settings and the
embeddings' file listing.

Modules: options (what the run is asked), stage_log (the log), device (torch's device),
model (environment, worker code, identity key, check-model), sandboxed (the worker in the
sandbox), check_report (the untrusted conformance report), task_runs (embed, check,
evaluate), result (the verification block, the outputs), verdict (claimed vs reproduced).
"""

from __future__ import annotations

import json
import resource
import time
from dataclasses import dataclass, field, replace
from typing import Any

from bot.common.result import CheckResult, Package, ResultDocument, StageError, TaskResult
from bot.common.schemas import Column, leaderboard_facts
from bot.runner import cache
from bot.runner.install import InstallError
from bot.runner.sandbox import SandboxError
from bot.submission.validate import Submission, validate
from bot.verify.device import resolve_device
from bot.verify.model import check_model, prepare_model
from bot.verify.options import VerifyOptions
from bot.verify.result import (
    DETAIL_CHARS,
    cut,
    empty_verification,
    machine_paths,
    without_machine_paths,
)
from bot.verify.sandboxed import ModelRunError
from bot.verify.stage_log import LOG_TAIL_CHARS, StageLog
from bot.verify.task_runs import TaskRuns, embed_and_evaluate
from bot.verify.verdict import (
    CheckStatus,
    ColumnEvidence,
    Verdict,
    column_score,
    judge_column,
    needs_exact_recheck,
    overall_verdict,
)


@dataclass
class RunReport:
    """What running the model found, besides the columns' evidence: the parts of the
    verification block that only a run can fill."""

    evidence: list[ColumnEvidence]
    provenance: list[Package] = field(default_factory=list)
    conformance: list[CheckResult] = field(default_factory=list)
    tasks: list[TaskResult] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    cached: dict[str, float] = field(default_factory=dict)
    """Stages an earlier run did: their original seconds (`verification.cached_s`)."""
    stage_error: StageError | None = None
    """The stage that failed before any column ran (`verification.stage_error`)."""


def verify(submission: Submission, options: VerifyOptions, *, echo: bool = True) -> ResultDocument:
    """The result document (schemas/result.schema.json) with its verification block.

    ``options`` is not changed: the run uses a resolved copy (device auto → cpu or cuda, and
    the sandbox given the GPU on cuda)."""
    options.out.mkdir(parents=True, exist_ok=True)
    options = resolved(options)
    log = StageLog(options.out / "verify.log", echo=echo, echo_progress=True)
    started = time.monotonic()
    facts = leaderboard_facts()
    columns = _selected_columns(options.columns, facts.columns)
    _selected_columns(list(options.stand_ins), facts.columns)
    result = validate(submission, today=options.today)
    result["kind"] = "verification"
    manifest = _manifest(submission)
    verification = empty_verification(manifest, options)
    result["verification"] = verification
    if not result["ok"] or result["submission"] is None:
        verification["verdict"] = Verdict.FAIL
        verification["reason"] = "The submission does not pass validation; nothing was run."
        return result
    row = result["submission"]["row"]
    run = _run(row, manifest, columns, options, log)
    verification["environment"]["provenance"] = run.provenance
    verification["conformance"] = run.conformance
    verification["tasks"] = run.tasks
    judged = [judge_column(item) for item in run.evidence]
    verification["columns"] = judged
    verification["verdict"], verification["reason"] = overall_verdict(judged)
    verification["timings"] = {**run.timings, "total_s": round(time.monotonic() - started, 3)}
    verification["cached_s"] = run.cached
    verification["stage_error"] = run.stage_error
    verification["memory_mb"] = dict(log.peaks)
    if run.tasks and "evaluate_s" not in run.cached:  # only when this run evaluated
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        verification["memory_mb"]["evaluate"] = round(peak, 1)
    log(f"verify: {verification['verdict']}: {verification['reason']}")
    return result


def resolved(options: VerifyOptions) -> VerifyOptions:
    """A copy of ``options`` with the device resolved (auto → what torch sees) and, on cuda,
    the sandbox given the GPU."""
    device = resolve_device(options.device)
    sandbox = options.sandbox
    if device == "cuda" and sandbox.enabled:
        sandbox = replace(sandbox, gpu=True)
    return replace(options, device=device, sandbox=sandbox)


def _manifest(submission: Submission) -> dict[str, Any]:
    if submission.named_manifest is None:
        return {}
    try:
        data = json.loads(submission.named_manifest[1].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _selected_columns(names: list[str] | None, all_columns: tuple[Column, ...]) -> list[Column]:
    if not names:
        return list(all_columns)
    by_name = {column.name: column for column in all_columns}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; columns are: " + ", ".join(by_name)
        )
    return [by_name[name] for name in names]


def _run(
    row: dict[str, str],
    manifest: dict[str, Any],
    columns: list[Column],
    options: VerifyOptions,
    log: StageLog,
) -> RunReport:
    """Prepare the model, check it, embed and evaluate the claimed columns' tasks, and gather
    each column's evidence."""
    claimed = [column for column in columns if row.get(column.name)]
    dirs = {column.name: options.task_dirs(column) for column in columns}
    missing = {
        name: tuple(d for d in task_dirs if not (options.tasks_dir / d).is_dir())
        for name, task_dirs in dirs.items()
    }
    needed = sorted({d for c in claimed for d in dirs[c.name] if not missing[c.name]})

    paths = machine_paths(options)

    def evidence(column: Column, **kwargs: Any) -> ColumnEvidence:
        if kwargs.get("error"):
            kwargs["error"] = cut(without_machine_paths(kwargs["error"], paths), DETAIL_CHARS)
        if kwargs.get("log_tail"):
            kwargs["log_tail"] = without_machine_paths(kwargs["log_tail"], paths)
        return ColumnEvidence(
            column=column, claimed=row.get(column.name, ""), task_dirs=dirs[column.name], **kwargs
        )

    if not needed:
        return RunReport([evidence(c, missing_task_dirs=missing[c.name]) for c in columns])
    report = RunReport(evidence=[])
    stage = "install"
    try:
        start = time.monotonic()
        with log.heartbeat("install"):
            model, installed = prepare_model(manifest, options, log)
        report.provenance = installed.provenance
        report.timings["install_s"] = round(time.monotonic() - start, 3)
        if installed.reused_seconds is not None:
            report.cached["install_s"] = round(installed.reused_seconds, 3)
        stage = "check-model"
        start, first_line = time.monotonic(), len(log.lines)
        with log.heartbeat("check-model"):
            report.conformance = check_model(model, options, log)
        report.timings["check_model_s"] = round(time.monotonic() - start, 3)
        if any("reusing the passing checks" in line for line in log.lines[first_line:]):
            report.cached["check_model_s"] = round(
                cache.kept_checks_seconds(options.work_dir, model.key), 3
            )
        failed = [check for check in report.conformance if check["status"] == CheckStatus.FAIL]
        if failed:
            detail = "; ".join(f"{c['name']}: {c['detail']}" for c in failed)
            raise ModelRunError(f"The model fails the HEAR API checks: {detail}", log.tail())
    except (InstallError, ModelRunError, SandboxError) as exc:
        tail = getattr(exc, "log_tail", None) or log.tail(f"{stage}:")
        report.stage_error = {
            "stage": stage,
            "message": cut(without_machine_paths(str(exc), paths), DETAIL_CHARS * 2),
            "log_tail": without_machine_paths(tail, paths)[-LOG_TAIL_CHARS:],
        }
        pointer = (
            f"The {stage} stage failed before this column could run; see the stage error "
            "(reported once, above the columns)."
        )
        report.evidence = [
            evidence(c, missing_task_dirs=missing[c.name], error=pointer)
            if c in claimed
            else evidence(c)
            for c in columns
        ]
        return report

    def judged(column: Column, runs: TaskRuns) -> ColumnEvidence:
        errors = [runs.errors[d] for d in dirs[column.name] if d in runs.errors]
        if column not in claimed:
            return evidence(column)
        if missing[column.name]:
            return evidence(column, missing_task_dirs=missing[column.name])
        if errors:
            return evidence(column, error=errors[0][0], log_tail=errors[0][1])
        try:
            members = member_scores(column, runs.members, dirs[column.name])
            note = ""
            if options.evaluation_mode == "batched" and needs_exact_recheck(
                column, row[column.name], members
            ):
                members, note = _exact_recheck(column, members, dirs[column.name], runs, log)
        except (KeyError, TypeError, ValueError) as exc:
            return evidence(column, error=str(exc))
        except Exception as exc:  # the exact re-check of one column failed
            message = f"The exact re-evaluation failed: {type(exc).__name__}: {exc}"
            return evidence(column, error=message, log_tail=log.tail("evaluate"))
        ci95, clip_sd = (None, None) if note else _per_clip(column, runs, dirs[column.name], log)
        return evidence(
            column,
            reproduced=members[0],
            members=tuple(members),
            note=note,
            ci95=ci95,
            clip_sd=clip_sd,
        )

    # The embeddings stay held (never evicted) until every column is judged: an exact
    # re-check reads them again.
    with cache.using(options.work_dir, model.key):
        runs = embed_and_evaluate(model, needed, options, log)
        report.tasks = runs.entries
        report.timings.update(runs.timings)
        report.cached.update(runs.cached)
        cache.evict(options.work_dir, int(options.cache_max_gb * (1 << 30)), log)
        report.evidence = [judged(column, runs) for column in columns]
    return report


def member_scores(
    column: Column, members: dict[str, list[dict[str, Any]]], task_dirs: tuple[str, ...]
) -> list[float]:
    """The column's score of each seed-ensemble member, member 0 first."""
    counts = {len(members[d]) for d in task_dirs}
    if len(counts) != 1:
        raise ValueError(f"the task directories of {column.name} have unequal member counts")
    return [
        column_score(column, {d: members[d][k] for d in task_dirs}, task_dirs)
        for k in range(counts.pop())
    ]


def _per_clip(
    column: Column, runs: TaskRuns, task_dirs: tuple[str, ...], log: StageLog
) -> tuple[tuple[float, float] | None, float | None]:
    """From the per-clip test predictions, when every task directory left them (clip-level
    tasks): the bootstrap 95% interval over test clips of member 0's column score, and the
    members' per-clip sd (None for a metric that is not a share of clips); (None, None)
    otherwise."""
    from bot.evaluation.bootstrap import bootstrap_ci
    from bot.evaluation.clip_spread import clip_sd_of_files

    if not all(d in runs.predictions for d in task_dirs):
        return None, None
    paths = [runs.predictions[d] for d in task_dirs]
    try:
        ci95 = bootstrap_ci(paths, column.primary_metric)
    except (OSError, KeyError, ValueError) as exc:
        log(f"evaluate {column.name}: no bootstrap interval: {type(exc).__name__}: {exc}")
        ci95 = None
    try:
        clip_sd = clip_sd_of_files(paths, column.primary_metric)
    except (OSError, KeyError, ValueError) as exc:
        log(f"evaluate {column.name}: no per-clip sd: {type(exc).__name__}: {exc}")
        clip_sd = None
    return ci95, clip_sd


def _exact_recheck(
    column: Column,
    batched: list[float],
    task_dirs: tuple[str, ...],
    runs: TaskRuns,
    log: StageLog,
) -> tuple[list[float], str]:
    """The column's members' scores from its tasks evaluated again in exact mode, and the
    note saying so (the batched interval missed the claim by at most one more half-width)."""
    log(
        f"evaluate {column.name}: the batched members (member 0 {batched[0]:.4f}) miss the "
        "claim by at most one more half-width; evaluating its tasks again in exact mode"
    )
    exact = {task_dir: runs.rescore(task_dir, "exact") for task_dir in task_dirs}
    members = member_scores(column, exact, task_dirs)
    note = (
        f"Batched evaluation gave {batched[0]:.4f} (member 0), a mismatch by at most one more "
        "half-width, so these are the scores of an exact re-evaluation (member 0: the "
        "official kit's random draws)."
    )
    return members, note
