"""`hearbot verify`: validate, install, check the model, embed, evaluate, compare.

The submission's code (its install and everything that imports it) runs in a child process
with the submission's own Python; evaluation and scoring run here, in trusted code, on the
files the child wrote. Work is kept under the work directory and reused by the next run,
content-addressed: the virtualenv by its pins, the embeddings by the model's identity (pins,
module, options, weights, device), the scores by the evaluation settings.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot import __version__
from bot.evaluation import evaluate_task, load_scores
from bot.fileio import write_atomic
from bot.install import (
    InstallError,
    check_python,
    describe_pin,
    fetch_weights,
    install,
    plan_install,
)
from bot.schemas import Column, leaderboard_facts
from bot.validation import Submission, validate
from bot.verdict import ColumnEvidence, column_score, judge_column, overall_verdict

REPO_ROOT = Path(__file__).resolve().parent.parent
SCORES_FILE = "test.predicted-scores.json"
SCORES_SETTINGS_FILE = "hearbot-scores-settings.json"
LOG_TAIL_LINES = 30


@dataclass
class VerifyOptions:
    tasks_dir: Path
    out: Path
    columns: list[str] | None = None
    install: bool = True
    device: str = "auto"
    work: Path | None = None
    """Reusable work (virtualenvs, weights, embeddings, scores); default OUT/work."""
    max_epochs: int | None = None
    today: dt.date | None = None
    stand_ins: dict[str, str] = field(default_factory=dict)
    """Column → task directory used in place of the column's own (demos and tests)."""
    find_links: list[Path] = field(default_factory=list)
    """Local wheel directories pip may install from (offline runners, tests)."""

    @property
    def work_dir(self) -> Path:
        return self.work or self.out / "work"

    def task_dirs(self, column: Column) -> tuple[str, ...]:
        stand_in = self.stand_ins.get(column.name)
        return (stand_in,) if stand_in else column.task_dirs


@dataclass
class StageLog:
    """Everything the stages say, kept in OUT/verify.log and echoed to stderr."""

    path: Path
    echo: bool = True
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        self.lines.append(stamped)
        if self.echo:
            print(stamped, file=sys.stderr, flush=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")

    def tail(self, contains: str = "") -> str:
        lines = [line for line in self.lines if contains in line]
        return "\n".join(lines[-LOG_TAIL_LINES:])


class ModelRunError(RuntimeError):
    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class PreparedModel:
    """How to run the submitted model, and the key its cached work is stored under."""

    python: Path
    arguments: list[str]
    key: str


def verify(submission: Submission, options: VerifyOptions, *, echo: bool = True) -> dict[str, Any]:
    """The result document (schemas/result.schema.json) with its verification block."""
    options.out.mkdir(parents=True, exist_ok=True)
    options.device = resolve_device(options.device)
    log = StageLog(options.out / "verify.log", echo=echo)
    started = time.monotonic()
    facts = leaderboard_facts()
    columns = _selected_columns(options.columns, facts.columns)
    _selected_columns(list(options.stand_ins), facts.columns)
    result = validate(submission, today=options.today)
    result["kind"] = "verification"
    manifest = _manifest(submission)
    verification = _empty_verification(manifest, options)
    result["verification"] = verification
    if not result["ok"] or result["submission"] is None:
        verification["verdict"] = "fail"
        verification["reason"] = "The submission does not pass validation; nothing was run."
        return result
    row = result["submission"]["row"]
    evidence = _run(row, manifest, columns, options, verification, log)
    judged = [judge_column(item) for item in evidence]
    verification["columns"] = judged
    verification["verdict"], verification["reason"] = overall_verdict(judged)
    verification["timings"]["total_s"] = round(time.monotonic() - started, 3)
    log(f"verify: {verification['verdict']}: {verification['reason']}")
    return result


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


def _empty_verification(manifest: dict[str, Any], options: VerifyOptions) -> dict[str, Any]:
    weights = manifest.get("weights") or {}
    install_lines = manifest.get("install") or []
    return {
        "verdict": "error",
        "reason": "",
        "model": {
            "hear_module": str(manifest.get("hear_module", "")),
            "sample_rate": manifest.get("sample_rate"),
            "scene_embedding_size": manifest.get("scene_embedding_size"),
            "timestamp_embedding_size": manifest.get("timestamp_embedding_size"),
            "install_pin": describe_pin(install_lines) if isinstance(install_lines, list) else "",
            "weights_sha256": weights.get("sha256"),
            "model_options": manifest.get("model_options") or {},
        },
        "environment": {
            "device": _device_description(options.device),
            "python": platform.python_version(),
            "torch": _torch_version(),
            "torch_threads": _torch_threads(),
            "installed_from": "pinned-virtualenv" if options.install else "current-environment",
            "provenance": [],
        },
        "timings": {},
        "conformance": [],
        "columns": [],
        "tasks": [],
        "stand_ins": dict(options.stand_ins),
    }


def resolve_device(device: str) -> str:
    """`auto` → `cuda` when this machine's torch sees a GPU, else `cpu`."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device here")
    return device


def _device_description(device: str) -> str:
    import torch

    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return device


def _torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def _torch_version() -> str:
    import torch

    return str(torch.__version__)


def _run(
    row: dict[str, str],
    manifest: dict[str, Any],
    columns: list[Column],
    options: VerifyOptions,
    verification: dict[str, Any],
    log: StageLog,
) -> list[ColumnEvidence]:
    claimed = [column for column in columns if row.get(column.name)]
    dirs = {column.name: options.task_dirs(column) for column in columns}
    missing = {
        name: tuple(d for d in task_dirs if not (options.tasks_dir / d).is_dir())
        for name, task_dirs in dirs.items()
    }
    needed = sorted({d for c in claimed for d in dirs[c.name] if not missing[c.name]})

    def evidence(column: Column, **kwargs: Any) -> ColumnEvidence:
        return ColumnEvidence(
            column=column, claimed=row.get(column.name, ""), task_dirs=dirs[column.name], **kwargs
        )

    if not needed:
        return [evidence(c, missing_task_dirs=missing[c.name]) for c in columns]
    try:
        model = _prepare(manifest, options, verification, log)
        start = time.monotonic()
        checks = _check_model(model, options, log)
        verification["conformance"] = checks
        verification["timings"]["check_model_s"] = round(time.monotonic() - start, 3)
        failed = [check for check in checks if check["status"] == "fail"]
        if failed:
            detail = "; ".join(f"{c['name']}: {c['detail']}" for c in failed)
            raise ModelRunError(f"The model fails the HEAR API checks: {detail}", log.tail())
    except (InstallError, ModelRunError) as exc:
        tail = getattr(exc, "log_tail", None) or log.tail("install:")
        return [
            evidence(c, missing_task_dirs=missing[c.name], error=str(exc), log_tail=tail)
            for c in columns
        ]
    task_scores, task_errors = _embed_and_evaluate(model, needed, options, verification, log)
    results = []
    for column in columns:
        errors = [task_errors[d] for d in dirs[column.name] if d in task_errors]
        if column not in claimed:
            results.append(evidence(column))
        elif missing[column.name]:
            results.append(evidence(column, missing_task_dirs=missing[column.name]))
        elif errors:
            results.append(evidence(column, error=errors[0][0], log_tail=errors[0][1]))
        else:
            try:
                score = column_score(column, task_scores, dirs[column.name])
            except (KeyError, TypeError, ValueError) as exc:
                results.append(evidence(column, error=str(exc)))
            else:
                results.append(evidence(column, reproduced=score))
    return results


def _prepare(
    manifest: dict[str, Any],
    options: VerifyOptions,
    verification: dict[str, Any],
    log: StageLog,
) -> PreparedModel:
    start = time.monotonic()
    work = options.work_dir
    weights = None
    if manifest.get("weights"):
        spec = manifest["weights"]
        weights = fetch_weights(spec["url"], spec["sha256"], work / "weights", log)
    if options.install:
        check_python(manifest.get("python"))
        plan = plan_install(
            list(manifest["install"]),
            without_dependencies=bool(manifest.get("install_without_dependencies")),
        )
        installed = install(plan, work / "venvs", log, find_links=options.find_links)
        verification["environment"]["provenance"] = installed.provenance
        python, environment = installed.python, plan.key()
    else:
        log("install: --no-install: using the current environment")
        python, environment = Path(sys.executable), "current-environment"
    verification["timings"]["install_s"] = round(time.monotonic() - start, 3)
    arguments = [str(manifest["hear_module"])]
    if weights is not None:
        arguments += ["--model", str(weights)]
    options_json = json.dumps(manifest.get("model_options") or {}, sort_keys=True)
    arguments += ["--model-options", options_json, "--device", options.device]
    identity = [environment, manifest["hear_module"], options_json, str(weights), options.device]
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return PreparedModel(python=python, arguments=arguments, key=key)


def _worker(python: Path, arguments: list[str], log: StageLog, stage: str) -> int:
    """Run `python -m bot.hear.worker ...` with this repository's bot on its path and no
    GitHub or bot secrets in its environment. A pinned virtualenv gets no PYTHONPATH of ours;
    the current environment (--no-install) keeps the submitter's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GITHUB_", "ACTIONS_", "HEARBOT_")) and key != "PYTHONPATH"
    }
    inherited = os.environ.get("PYTHONPATH", "") if python == Path(sys.executable) else ""
    env["PYTHONPATH"] = os.pathsep.join(path for path in (str(REPO_ROOT), inherited) if path)
    command = [str(python), "-m", "bot.hear.worker", *arguments]
    log(f"{stage}: $ {' '.join(command)}")
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    for line in process.stdout:
        log(f"{stage}: {line.rstrip()}")
    return process.wait()


def _check_model(
    model: PreparedModel, options: VerifyOptions, log: StageLog
) -> list[dict[str, str]]:
    report = options.out / "check-model.json"
    report.unlink(missing_ok=True)
    code = _worker(
        model.python, ["check-model", *model.arguments, "--json", str(report)], log, "check-model"
    )
    if not report.exists():
        raise ModelRunError(f"check-model exited with {code} and wrote no report", log.tail())
    return _read_checks(report)


def _read_checks(report: Path) -> list[dict[str, str]]:
    data = json.loads(report.read_text(encoding="utf-8"))
    checks = data["checks"] if isinstance(data, dict) else data
    return [
        {
            "name": str(item["name"])[:200],
            "status": str(item["status"]),
            "detail": str(item.get("detail", ""))[:4000],
        }
        for item in checks
    ]


def _embed_and_evaluate(
    model: PreparedModel,
    task_dirs: list[str],
    options: VerifyOptions,
    verification: dict[str, Any],
    log: StageLog,
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, str]]]:
    """Each task: embed (in the model's process), then evaluate (here). One failing task is
    reported and the others go on; finished work is kept for the next run."""
    embeddings = options.work_dir / "embeddings" / model.key
    scores: dict[str, dict[str, Any]] = {}
    errors: dict[str, tuple[str, str]] = {}
    embed_seconds = evaluate_seconds = 0.0
    for task_dir in task_dirs:
        start = time.monotonic()
        arguments = ["embed", *model.arguments, "--tasks-dir", str(options.tasks_dir)]
        arguments += ["--task", task_dir, "--out", str(embeddings), "--no-progress"]
        code = _worker(model.python, arguments, log, f"embed {task_dir}")
        embed_seconds += time.monotonic() - start
        if code != 0:
            message = f"Embedding {task_dir} failed (exit {code}); see the log tail."
            errors[task_dir] = (message, log.tail(f"embed {task_dir}:"))
            verification["tasks"].append(_task_entry(task_dir, "error", message))
            continue
        start = time.monotonic()
        try:
            scores[task_dir] = _scores(embeddings / task_dir, options, log)
        except Exception as exc:  # one task failing is reported; the others go on
            message = f"Evaluating {task_dir} failed: {type(exc).__name__}: {exc}"
            errors[task_dir] = (message, log.tail(f"evaluate {task_dir}"))
            verification["tasks"].append(_task_entry(task_dir, "error", message))
            continue
        finally:
            evaluate_seconds += time.monotonic() - start
        verification["tasks"].append(
            _task_entry(task_dir, "scored", "", flat_scores(scores[task_dir]))
        )
    verification["timings"]["embed_s"] = round(embed_seconds, 3)
    verification["timings"]["evaluate_s"] = round(evaluate_seconds, 3)
    return scores, errors


def _scores(task_embeddings: Path, options: VerifyOptions, log: StageLog) -> dict[str, Any]:
    """The task's scores, reused when an earlier run evaluated the same embeddings the same way."""
    settings = {"max_epochs": options.max_epochs, "grid_points": 8, "hearbot": __version__}
    settings_file = task_embeddings / SCORES_SETTINGS_FILE
    existing = task_embeddings / SCORES_FILE
    same_settings = (
        settings_file.exists() and json.loads(settings_file.read_text(encoding="utf-8")) == settings
    )
    if existing.exists() and same_settings:
        log(f"evaluate {task_embeddings.name}: reusing {existing}")
        return load_scores(existing)
    settings_file.unlink(missing_ok=True)

    def evaluate_log(line: str) -> None:
        log(f"evaluate {task_embeddings.name}: {line}")

    scores = evaluate_task(
        task_embeddings, device=options.device, log=evaluate_log, max_epochs=options.max_epochs
    )
    write_atomic(settings_file, json.dumps(settings).encode())
    return scores


def _task_entry(
    task_dir: str, status: str, detail: str, scores: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"task_dir": task_dir, "status": status, "detail": detail, "scores": scores or {}}


def flat_scores(scores: dict[str, Any]) -> dict[str, Any]:
    """test_* values of a trainvaltest result, or the aggregated *_mean/*_std of a k-fold one."""
    source = scores.get("aggregated_scores") or scores.get("test") or {}
    flat = {}
    for key, value in source.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            flat[key] = strict_number(float(value))
    return flat


def strict_number(value: float) -> float | str:
    """A JSON-safe number: infinities and NaN as the strings "Infinity", "-Infinity", "NaN"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def write_outputs(result: dict[str, Any], out: Path, markdown: str) -> None:
    document = json.dumps(result, indent=2, allow_nan=False) + "\n"
    write_atomic(out / "result.json", document.encode("utf-8"))
    write_atomic(out / "report.md", (markdown + "\n").encode("utf-8"))
