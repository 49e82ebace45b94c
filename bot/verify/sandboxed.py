"""The one way verification runs the submitted model: `python -m bot.hear.worker ...` in the
sandbox, with the worker's code, the model's environment and its weights read-only."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.runner.sandbox import Mount, python_prefixes
from bot.runner.sandbox import run as sandbox_run
from bot.verify.options import VerifyOptions
from bot.verify.stage_log import StageLog

SANDBOX_BOT = "/opt/hearbot/bot"  # the worker's code (a copy, not the checkout), read-only
SANDBOX_OUT = "/sandbox/out"  # the one writable directory
SANDBOX_WEIGHTS = "/sandbox/weights"


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


def run_worker(
    model: PreparedModel,
    arguments: list[str],
    writable: Path,
    options: VerifyOptions,
    log: StageLog,
    stage: str,
    extra_mounts: tuple[Mount, ...] = (),
    pass_fds: tuple[int, ...] = (),
) -> str | None:
    """`python -m bot.hear.worker ...` in the sandbox, ``writable`` its one writable directory.
    None when it succeeded; otherwise what went wrong (exit code or breached limit).
    ``pass_fds`` are handed to the sandbox (and closed here once it holds them)."""
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
        pass_fds=pass_fds,
    )
    log.peak(stage.split(" ")[0], outcome.peak_bytes)
    return None if outcome.ok else outcome.describe()
