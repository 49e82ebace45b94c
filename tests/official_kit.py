"""The official kit (heareval 2021.1.3) run in the same test run, when its reference
environment is present (`bash scripts/make-reference-env.sh` → `.refenv`; CI has none).

A result computed here by the kit and by hearbot on the same machine, with the same torch and
thread count, is what "bit for bit" means; numbers the kit wrote on another machine are
compared with a measured tolerance instead (tests/numeric.py).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
REFENV_PYTHON = REPO_ROOT / ".refenv" / "bin" / "python"
ABSENT = "reference environment absent (bash scripts/make-reference-env.sh builds .refenv)"


def present() -> bool:
    return REFENV_PYTHON.exists()


@functools.cache
def _crosscheck() -> ModuleType:
    """scripts/crosscheck.py, the one place that knows how to run the kit."""
    spec = importlib.util.spec_from_file_location(
        "crosscheck", REPO_ROOT / "scripts" / "crosscheck.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def run(task_dir: Path, threads: int) -> dict[str, Any]:
    """The kit's test.predicted-scores.json for an embedding task directory (official per-file
    layout), computed now by heareval's memmap step and predictions runner on a copy, with
    `threads` intra-op threads as the caller's hearbot run used."""
    crosscheck = _crosscheck()
    metadata = crosscheck.check_task_dir(task_dir)
    scratch = Path(tempfile.mkdtemp(prefix="hear-kit-"))
    saved = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)  # read by the kit's torch at start-up
    try:
        relative = f"embeddings/{task_dir.name}"
        crosscheck.copy_per_file_layout(task_dir, scratch / relative, metadata)
        return crosscheck.run_official(REFENV_PYTHON, scratch, relative, timeout=1800).scores
    finally:
        if saved is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = saved
        shutil.rmtree(scratch, ignore_errors=True)
