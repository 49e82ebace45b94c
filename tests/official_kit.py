"""The official kit (heareval 2021.1.3) run in the same test run, when its reference
environment is present (`bash scripts/make-reference-env.sh` → `.refenv`; CI has none).

A result computed here by the kit and by hearbot on the same machine, with the same torch and
thread count, is what "bit for bit" means; numbers the kit wrote on another machine are
compared with a measured tolerance instead (tests/numeric.py).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.scripts import load_script

REPO_ROOT = Path(__file__).resolve().parents[1]
REFENV_PYTHON = REPO_ROOT / ".refenv" / "bin" / "python"
ABSENT = "reference environment absent (bash scripts/make-reference-env.sh builds .refenv)"


@dataclass(frozen=True)
class Env:
    """A reference environment of the kit (scripts/make-reference-env.sh; REFENV and TORCH_SPEC
    build others than .refenv, e.g. the kit under torch 2.6.0)."""

    python: Path
    torch: str  # its torch version

    @classmethod
    def at(cls, env_dir: Path) -> Env:
        """The environment in `env_dir`; SystemExit saying what is wrong when it is unusable."""
        python = env_dir.absolute() / "bin" / "python"  # the kit runs in a scratch directory
        if not python.is_file():
            raise SystemExit(f"{env_dir}: no bin/python (build it: scripts/make-reference-env.sh)")
        found = subprocess.run(
            [str(python), "-c", "import importlib.metadata as m; print(m.version('torch'))"],
            capture_output=True,
            text=True,
        )
        if found.returncode != 0:
            raise SystemExit(f"{env_dir}: torch's version is unreadable: {found.stderr[-300:]}")
        return cls(python, found.stdout.strip())


def present() -> bool:
    return REFENV_PYTHON.exists()


@functools.cache
def _crosscheck() -> ModuleType:
    """scripts/crosscheck.py, the one place that knows how to run the kit."""
    return load_script(REPO_ROOT / "scripts" / "crosscheck.py")


def run(task_dir: Path, threads: int, python: Path = REFENV_PYTHON) -> dict[str, Any]:
    """The kit's test.predicted-scores.json for an embedding task directory (official per-file
    layout), computed now by heareval's memmap step and predictions runner on a copy, with
    `threads` intra-op threads as the caller's hearbot run used. `python`: the reference
    environment's interpreter (another one holds the kit under another torch version:
    scripts/make-reference-env.sh with REFENV and TORCH_SPEC)."""
    crosscheck = _crosscheck()
    metadata = crosscheck.check_task_dir(task_dir)
    scratch = Path(tempfile.mkdtemp(prefix="hear-kit-"))
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by the kit's torch at start-up
    try:
        relative = f"embeddings/{task_dir.name}"
        crosscheck.copy_per_file_layout(task_dir, scratch / relative, metadata)
        return crosscheck.run_official(python, scratch, relative, timeout=1800).scores
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved
        shutil.rmtree(scratch, ignore_errors=True)
