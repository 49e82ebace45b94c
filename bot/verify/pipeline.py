"""`hearbot verify`: validate, install, check the model, embed, evaluate, compare.

The submission's code (its install and everything that imports it) runs in the sandbox
(bot/runner/sandbox.py) with the submission's own Python; evaluation and scoring run here, in
trusted code, on the files the sandbox wrote, checked first (bot/runner/sandbox.py
`output_problems`, then the strict readers of bot/evaluation/embeddings.py) and read with the
task's own metadata.
Trusted results (scores, logs) are written where the sandbox cannot write.

Work is kept under the work directory and reused by the next run, content-addressed: the
virtualenv by its pins, the embeddings by the model's identity (pins, module, options,
weights, device), the scores by the evaluation settings and the embeddings' file listing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import platform
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot import __version__
from bot.common import strict_json
from bot.common.fileio import write_atomic
from bot.common.schemas import Column, leaderboard_facts
from bot.evaluation import evaluate_task, load_scores
from bot.runner import cache
from bot.runner.index_proxy import IndexProxy
from bot.runner.install import (
    InstallError,
    check_python,
    describe_pin,
    fetch_weights,
    install,
    layer_mounts,
    plan_install,
)
from bot.runner.sandbox import Mount, Sandbox, SandboxError, output_problems, python_prefixes
from bot.runner.sandbox import run as sandbox_run
from bot.submission.validate import Submission, validate
from bot.verify.verdict import (
    ColumnEvidence,
    column_score,
    judge_column,
    needs_exact_recheck,
    overall_verdict,
)

BOT_PACKAGE = Path(__file__).resolve().parent.parent
WORKER_FILES = (
    "__init__.py",
    "common/__init__.py",
    "common/fileio.py",
    "common/strict_json.py",
    "hear/*.py",
)
SANDBOX_BOT = "/opt/hearbot/bot"  # the worker's code (a copy, not the checkout), read-only
SANDBOX_OUT = "/sandbox/out"  # the one writable directory
SANDBOX_TASKS = "/sandbox/tasks"
SANDBOX_WEIGHTS = "/sandbox/weights"
MAX_REPORT_BYTES = 1 << 20
SCORES_FILE = "test.predicted-scores.json"
SCORES_SETTINGS_FILE = "hearbot-scores-settings.json"
EMBEDDINGS_RECORD = "hearbot-embeddings.json"
LOG_TAIL_LINES = 30
LOG_LINE_CHARS = 1000
LOG_TAIL_CHARS = 7900  # the result schema allows 8000
DETAIL_CHARS = 3900  # and 4000 for a detail


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
    sandbox: Sandbox = field(default_factory=Sandbox)
    package_index: str | None = None
    """The index the install step may reach (through bot/runner/index_proxy.py); None: none."""
    cache_max_gb: float = 200.0
    """Bound on the kept embeddings (least recently used evicted; never the one in use)."""
    evaluation_mode: str = "exact"
    """exact: the kit's random draws; batched: faster, other draws, and a column within twice
    the tolerance of a mismatch is evaluated again in exact mode before it is declared one."""

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
    peaks: dict[str, float] = field(default_factory=dict)

    def __call__(self, line: str) -> None:
        stamped = f"{time.strftime('%H:%M:%S')} {line}"
        self.lines.append(stamped)
        if self.echo:
            print(stamped, file=sys.stderr, flush=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")

    def peak(self, stage: str, used: int) -> None:
        """Remember the largest memory a stage used (MB, in `verification.memory_mb`)."""
        megabytes = round(used / (1 << 20), 1)
        self.peaks[stage] = max(self.peaks.get(stage, 0.0), megabytes)

    def tail(self, contains: str = "") -> str:
        """The last lines that contain ``contains``: at most LOG_TAIL_LINES, each cut to
        LOG_LINE_CHARS, and together within LOG_TAIL_CHARS (the result schema's bound)."""
        kept: list[str] = []
        budget = LOG_TAIL_CHARS
        for line in reversed([line for line in self.lines if contains in line]):
            if len(line) > LOG_LINE_CHARS:
                line = line[: LOG_LINE_CHARS - 1] + "…"
            if len(kept) == LOG_TAIL_LINES or len(line) + 1 > budget:
                break
            kept.append(line)
            budget -= len(line) + 1
        return "\n".join(reversed(kept))


class ModelRunError(RuntimeError):
    def __init__(self, message: str, log_tail: str) -> None:
        super().__init__(message)
        self.log_tail = log_tail


@dataclass(frozen=True)
class PreparedModel:
    """How to run the submitted model, and the key its cached work is stored under."""

    python: Path
    arguments: list[str]
    """The worker's model arguments, with paths as the sandbox sees them."""
    key: str
    mounts: list[Mount]
    """Read-only: the worker's code, the model's environment, its weights."""
    python_path: list[str]


def verify(submission: Submission, options: VerifyOptions, *, echo: bool = True) -> dict[str, Any]:
    """The result document (schemas/result.schema.json) with its verification block."""
    options.out.mkdir(parents=True, exist_ok=True)
    options.device = resolve_device(options.device)
    log = StageLog(options.out / "verify.log", echo=echo)
    if options.device == "cuda" and options.sandbox.enabled:
        options.sandbox = replace(options.sandbox, gpu=True)
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
    verification["memory_mb"] = {
        **log.peaks,
        "evaluate": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
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
            "evaluation_mode": options.evaluation_mode,
            "provenance": [],
            "sandbox": options.sandbox.describe(
                "off" if not options.package_index else f"install only: {options.package_index}"
            ),
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
        if kwargs.get("error"):
            kwargs["error"] = _cut(kwargs["error"], DETAIL_CHARS)
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
    except (InstallError, ModelRunError, SandboxError) as exc:
        tail = getattr(exc, "log_tail", None) or log.tail("install:")
        return [
            evidence(c, missing_task_dirs=missing[c.name], error=str(exc), log_tail=tail)
            for c in columns
        ]

    def judged(column: Column, runs: TaskRuns) -> ColumnEvidence:
        errors = [runs.errors[d] for d in dirs[column.name] if d in runs.errors]
        if column not in claimed:
            return evidence(column)
        if missing[column.name]:
            return evidence(column, missing_task_dirs=missing[column.name])
        if errors:
            return evidence(column, error=errors[0][0], log_tail=errors[0][1])
        try:
            score = column_score(column, runs.scores, dirs[column.name])
            note = ""
            if options.evaluation_mode == "batched" and needs_exact_recheck(
                column, row[column.name], score
            ):
                score, note = _exact_recheck(column, score, dirs[column.name], runs, log)
        except (KeyError, TypeError, ValueError) as exc:
            return evidence(column, error=str(exc))
        except Exception as exc:  # the exact re-check of one column failed
            message = f"The exact re-evaluation failed: {type(exc).__name__}: {exc}"
            return evidence(column, error=message, log_tail=log.tail("evaluate"))
        return evidence(column, reproduced=score, note=note)

    # The embeddings stay held (never evicted) until every column is judged: an exact
    # re-check reads them again.
    with cache.using(options.work_dir, model.key):
        runs = _embed_and_evaluate(model, needed, options, verification, log)
        cache.evict(options.work_dir, int(options.cache_max_gb * (1 << 30)), log)
        return [judged(column, runs) for column in columns]


def _exact_recheck(
    column: Column, batched: float, task_dirs: tuple[str, ...], runs: TaskRuns, log: StageLog
) -> tuple[float, str]:
    """The column's score from its tasks evaluated again in exact mode, and the note saying
    so (the batched score was within twice the tolerance of a mismatch)."""
    log(
        f"evaluate {column.name}: the batched score {batched:.4f} is a mismatch by at most "
        "twice the tolerance; evaluating its tasks again in exact mode"
    )
    exact = {task_dir: runs.rescore(task_dir, "exact") for task_dir in task_dirs}
    score = column_score(column, exact, task_dirs)
    note = (
        f"Batched evaluation gave {batched:.4f}, within twice the tolerance of a mismatch, so "
        "this is the score of an exact re-evaluation (the official kit's random draws)."
    )
    return score, note


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
    code = worker_code(work / "worker")
    mounts = [Mount(code, SANDBOX_BOT)]
    python_path = [str(Path(SANDBOX_BOT).parent)]
    if options.install:
        check_python(manifest.get("python"))
        plan = plan_install(
            list(manifest["install"]),
            without_dependencies=bool(manifest.get("install_without_dependencies")),
        )
        installed = _install(plan, options, log)
        verification["environment"]["provenance"] = installed.provenance
        if not installed.reused:
            log.peak("install", installed.peak_bytes)
        python, environment = installed.python, f"{plan.key()}:{installed.venv.name}"
        mounts += [Mount(installed.venv, str(installed.venv)), *layer_mounts(installed.layer)]
    else:
        log("install: --no-install: using the current environment (and its PYTHONPATH)")
        python, environment = Path(sys.executable), "current-environment"
        for entry in _inherited_python_path():
            mounts.append(Mount(entry, str(entry)))
            python_path.append(str(entry))
    verification["timings"]["install_s"] = round(time.monotonic() - start, 3)
    arguments = [str(manifest["hear_module"])]
    if weights is not None:
        inside = f"{SANDBOX_WEIGHTS}/{weights.name}"
        mounts.append(Mount(weights, inside))
        arguments += ["--model", inside]
    options_json = json.dumps(manifest.get("model_options") or {}, sort_keys=True)
    arguments += ["--model-options", options_json, "--device", options.device]
    # The worker's code is part of the identity: a new hearbot embeds again.
    identity = [environment, manifest["hear_module"], options_json, str(weights), options.device]
    identity.append(code.parent.name)
    key = hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]
    return PreparedModel(python, arguments, key, mounts, python_path)


def worker_code(root: Path) -> Path:
    """A copy of the code the sandbox runs (`bot.hear` and the two modules it imports), kept
    under ``root`` by content: the sandbox never sees the bot's checkout."""
    files = sorted(path for pattern in WORKER_FILES for path in BOT_PACKAGE.glob(pattern))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.relative_to(BOT_PACKAGE).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    target = root / digest.hexdigest()[:16] / "bot"
    if not target.is_dir():
        partial = root / f".{digest.hexdigest()[:16]}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        for path in files:
            copy = partial / "bot" / path.relative_to(BOT_PACKAGE)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, copy)
        target.parent.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(partial, target.parent)
        except OSError:  # another run made it first
            shutil.rmtree(partial, ignore_errors=True)
    return target


def _install(plan: Any, options: VerifyOptions, log: StageLog) -> Any:
    venvs = options.work_dir / "venvs"
    if options.package_index is None:
        return install(plan, venvs, log, options.find_links, sandbox=options.sandbox)
    with IndexProxy(options.package_index, log) as access:
        return install(
            plan, venvs, log, options.find_links, sandbox=options.sandbox, network=access
        )


def _inherited_python_path() -> list[Path]:
    """The submitter's own PYTHONPATH entries (--no-install), shown read-only in the sandbox."""
    entries = []
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        path = Path(entry).absolute() if entry else None
        if path is not None and path.exists() and path not in entries:
            entries.append(path)
    return entries


def _worker(
    model: PreparedModel,
    arguments: list[str],
    writable: Path,
    options: VerifyOptions,
    log: StageLog,
    stage: str,
    extra_mounts: tuple[Mount, ...] = (),
) -> str | None:
    """`python -m bot.hear.worker ...` in the sandbox, ``writable`` its one writable directory.
    None when it succeeded; otherwise what went wrong (exit code or breached limit)."""
    command = [str(model.python), "-m", "bot.hear.worker", *arguments]
    log(f"{stage}: $ {' '.join(command)}")
    outcome = sandbox_run(
        options.sandbox,
        command,
        writable=Mount(writable, SANDBOX_OUT, writable=True),
        mounts=[*model.mounts, *extra_mounts],
        env={"PYTHONPATH": os.pathsep.join(model.python_path)},
        python_prefixes=python_prefixes(),
        on_line=lambda line: log(f"{stage}: {line}"),
    )
    log.peak(stage.split(" ")[0], outcome.peak_bytes)
    return None if outcome.ok else outcome.describe()


def _check_model(
    model: PreparedModel, options: VerifyOptions, log: StageLog
) -> list[dict[str, str]]:
    """The HEAR API checks, run in the sandbox; a passing report is kept (in trusted storage,
    by the model's key) and reused by the next run of the same model."""
    kept = options.work_dir / "checks" / f"{model.key}.json"
    if kept.is_file():
        log(f"check-model: reusing the passing checks of an earlier run ({kept})")
        return json.loads(kept.read_text(encoding="utf-8"))
    folder = options.out / "check-model"
    shutil.rmtree(folder, ignore_errors=True)
    arguments = ["check-model", *model.arguments, "--json", f"{SANDBOX_OUT}/check-model.json"]
    failure = _worker(model, arguments, folder, options, log, "check-model")
    report = folder / "check-model.json"
    if failure and "killed" in failure:
        raise ModelRunError(f"check-model was stopped ({failure})", log.tail())
    if not report.is_file() or report.is_symlink():
        raise ModelRunError(f"check-model ended ({failure or 'exit 0'}) with no report", log.tail())
    checks = read_checks(report)
    if not failure and all(check["status"] != "fail" for check in checks):
        write_atomic(kept, json.dumps(checks, indent=2).encode("utf-8"))
    return checks


def read_checks(report: Path) -> list[dict[str, str]]:
    """The conformance report the sandbox wrote, read as untrusted: size, strict JSON, shape."""
    if report.stat().st_size > MAX_REPORT_BYTES:
        raise ModelRunError(f"{report.name} is larger than {MAX_REPORT_BYTES} bytes", "")
    try:
        data = strict_json.loads(report.read_bytes().decode("utf-8"))
        checks = data["checks"] if isinstance(data, dict) else None
        if not isinstance(checks, list) or not checks:
            raise ValueError("no list of checks")
        items = [
            {
                "name": _plain(item["name"], 200),
                "status": item["status"],
                "detail": _plain(item.get("detail", ""), 4000),
            }
            for item in checks
        ]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ModelRunError(f"{report.name} is not a conformance report: {exc}", "") from None
    for item in items:
        if item["status"] not in ("pass", "warn", "fail", "skip"):
            raise ModelRunError(f"{report.name}: unknown status {item['status']!r}", "")
    return items


def _plain(value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value[:limit]


@dataclass
class TaskRuns:
    """Each task's scores (in `options.evaluation_mode`) or error, and what scoring a task
    again in another mode needs: its checked embeddings' digest."""

    embeddings: Path
    trusted: Path
    options: VerifyOptions
    log: StageLog
    scores: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, tuple[str, str]] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)

    def rescore(self, task_dir: str, mode: str) -> dict[str, Any]:
        """The task's scores in `mode` (reused when an earlier run computed them)."""
        return _scores(
            self.embeddings / task_dir,
            self.digests[task_dir],
            self.options.tasks_dir / task_dir,
            self.trusted / task_dir,
            self.options,
            self.log,
            mode,
        )


def _embed_and_evaluate(
    model: PreparedModel,
    task_dirs: list[str],
    options: VerifyOptions,
    verification: dict[str, Any],
    log: StageLog,
) -> TaskRuns:
    """Each task: embed (in the sandbox), check what it wrote, then evaluate (here). One failing
    task is reported and the others go on; finished work is kept for the next run."""
    embeddings = options.work_dir / "embeddings" / model.key
    trusted = options.work_dir / "scores" / model.key
    runs = TaskRuns(embeddings, trusted, options, log)
    scores, errors = runs.scores, runs.errors
    embed_seconds = evaluate_seconds = 0.0
    for task_dir in task_dirs:
        start = time.monotonic()
        message, digest = _embed_checked(model, task_dir, embeddings, trusted, options, log)
        embed_seconds += time.monotonic() - start
        if message is not None:
            errors[task_dir] = (message, log.tail(f"embed {task_dir}:"))
            verification["tasks"].append(_task_entry(task_dir, "error", message))
            continue
        runs.digests[task_dir] = digest
        start = time.monotonic()
        try:
            scores[task_dir] = runs.rescore(task_dir, options.evaluation_mode)
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
    unchanged, and check what the sandbox wrote. (what went wrong or None, the embeddings'
    digest); the digest of checked embeddings is recorded where the sandbox cannot write."""
    stage = f"embed {task_dir}"
    task_embeddings = embeddings / task_dir
    record = trusted / task_dir / EMBEDDINGS_RECORD
    recorded = _recorded_digest(record)
    if (
        recorded is not None
        and task_embeddings.is_dir()
        and recorded == tree_digest(task_embeddings)
    ):
        log(f"{stage}: reusing the checked embeddings of an earlier run (nothing to run)")
        return None, recorded
    arguments = ["embed", *model.arguments, "--tasks-dir", SANDBOX_TASKS, "--task", task_dir]
    arguments += ["--out", SANDBOX_OUT, "--no-progress"]
    task_mount = Mount(options.tasks_dir / task_dir, f"{SANDBOX_TASKS}/{task_dir}")
    try:
        failure = _worker(model, arguments, embeddings, options, log, stage, (task_mount,))
    except SandboxError as exc:
        failure = str(exc)
    if failure is not None:
        return f"Embedding {task_dir} failed ({failure}); see the log tail.", ""
    problems = output_problems(embeddings)
    if problems:
        message = f"Embedding {task_dir} wrote files trusted code will not read: "
        return message + "; ".join(problems), ""
    digest = tree_digest(task_embeddings)
    write_atomic(record, json.dumps({"embeddings": digest}).encode())
    return None, digest


def _scores(
    task_embeddings: Path,
    digest: str,
    task_metadata: Path,
    out: Path,
    options: VerifyOptions,
    log: StageLog,
    mode: str,
) -> dict[str, Any]:
    """The task's scores in evaluation `mode`, computed from the sandbox's embeddings and the
    task's own metadata, kept in ``out`` (exact) or ``out/batched`` (never beside the
    embeddings) and reused when an earlier run evaluated embeddings of the same ``digest`` the
    same way."""
    out = out if mode == "exact" else out / mode
    settings = {
        "max_epochs": options.max_epochs,
        "grid_points": 8,
        "hearbot": __version__,
        "embeddings": digest,
        "mode": mode,
    }
    settings_file = out / SCORES_SETTINGS_FILE
    existing = out / SCORES_FILE
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
        task_embeddings,
        device=options.device,
        log=evaluate_log,
        max_epochs=options.max_epochs,
        metadata_dir=task_metadata,
        out_dir=out,
        mode=mode,
    )
    write_atomic(settings_file, json.dumps(settings).encode())
    return scores


def _recorded_digest(record: Path) -> str | None:
    """The digest an earlier run recorded for checked embeddings, if any."""
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))["embeddings"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return recorded if isinstance(recorded, str) else None


def tree_digest(root: Path) -> str:
    """A digest of every file's path, size and modification time under ``root`` (cheap; it
    tells whether the sandbox rewrote anything since the scores were computed)."""
    digest = hashlib.sha256()
    for directory, names, files in sorted(os.walk(root)):
        names.sort()
        for name in sorted(files):
            info = os.lstat(os.path.join(directory, name))
            where = os.path.relpath(os.path.join(directory, name), root)
            digest.update(f"{where}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _task_entry(
    task_dir: str, status: str, detail: str, scores: dict[str, Any] | None = None
) -> dict[str, Any]:
    detail = _cut(detail, DETAIL_CHARS)
    return {"task_dir": task_dir, "status": status, "detail": detail, "scores": scores or {}}


def _cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, keeping its start and its end (where pip and
    tracebacks put the reason)."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return text[:half] + "\n…\n" + text[-half:]


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
