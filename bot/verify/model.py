"""The submitted model made runnable: its environment (bot/runner/install.py `prepare`), the
worker's code beside it, its identity key, and the HEAR API checks it must pass first."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from bot.common.result import CheckResult
from bot.common.untrusted import remove_tree
from bot.runner import cache
from bot.runner.install import Installed, prepare
from bot.runner.sandbox import Mount
from bot.verify.check_report import read_checks
from bot.verify.options import VerifyOptions
from bot.verify.sandboxed import (
    SANDBOX_BOT,
    SANDBOX_OUT,
    SANDBOX_WEIGHTS,
    ModelRunError,
    PreparedModel,
    run_worker,
)
from bot.verify.stage_log import StageLog
from bot.verify.verdict import CheckStatus

BOT_PACKAGE = Path(__file__).resolve().parent.parent
WORKER_FILES = (
    "__init__.py",
    "common/__init__.py",
    "common/fileio.py",
    "common/strict_json.py",
    "hear/*.py",
)


def prepare_model(
    manifest: dict[str, Any], options: VerifyOptions, log: StageLog
) -> tuple[PreparedModel, Installed]:
    """The model ready to run in the sandbox (and what its environment's install found)."""
    work = options.work_dir
    installed = prepare(
        manifest,
        work,
        log,
        install=options.install,
        find_links=options.find_links,
        sandbox=options.sandbox,
        package_index=options.package_index,
        weights_file=options.weights_file,
    )
    if installed.peak_bytes is not None:
        log.peak("install", installed.peak_bytes)
    code = worker_code(work / "worker")
    mounts = [Mount(code, SANDBOX_BOT), *installed.mounts]
    python_path = [str(Path(SANDBOX_BOT).parent), *installed.python_path]
    arguments = [str(manifest["hear_module"])]
    weights = installed.weights
    if weights is not None:
        inside = f"{SANDBOX_WEIGHTS}/{weights.name}"
        mounts.append(Mount(weights, inside))
        arguments += ["--model", inside]
    options_json = json.dumps(manifest.get("model_options") or {}, sort_keys=True)
    arguments += ["--model-options", options_json, "--device", options.device]
    key = identity_key(installed.environment, manifest, options_json, weights, options, code)
    return PreparedModel(installed.python, arguments, key, mounts, python_path), installed


def identity_key(
    environment: str,
    manifest: dict[str, Any],
    options_json: str,
    weights: Path | None,
    options: VerifyOptions,
    code: Path,
) -> str:
    """The key the model's cached work (checks, embeddings, scores) is kept under: its
    environment, module, options, weights and device, and the worker's code (a new hearbot
    embeds again)."""
    identity = [environment, manifest["hear_module"], options_json, str(weights), options.device]
    identity.append(code.parent.name)
    return hashlib.sha256(json.dumps(identity).encode()).hexdigest()[:16]


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


def check_model(model: PreparedModel, options: VerifyOptions, log: StageLog) -> list[CheckResult]:
    """The HEAR API checks, run in the sandbox; a passing report is kept (in trusted storage,
    by the model's key) and reused by the next run of the same model."""
    kept, checks = cache.kept_checks(options.work_dir, model.key)
    if checks is not None:
        log(f"check-model: reusing the passing checks of an earlier run ({kept})")
        return checks
    start = time.monotonic()
    folder = options.out / "check-model"
    remove_tree(folder)  # the sandbox wrote it: any depth, no recursion
    arguments = ["check-model", *model.arguments, "--json", f"{SANDBOX_OUT}/check-model.json"]
    failure = run_worker(model, arguments, folder, options, log, "check-model")
    report = folder / "check-model.json"
    if failure and "killed" in failure:
        raise ModelRunError(f"check-model was stopped ({failure})", log.tail())
    if not report.exists() and not report.is_symlink():
        raise ModelRunError(f"check-model ended ({failure or 'exit 0'}) with no report", log.tail())
    checks = read_checks(report)
    if not failure and all(check["status"] != CheckStatus.FAIL for check in checks):
        cache.keep_checks(options.work_dir, model.key, checks, time.monotonic() - start)
    return checks
