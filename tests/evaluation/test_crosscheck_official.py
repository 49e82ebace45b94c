"""`hearbot evaluate` against the official kit itself, through scripts/crosscheck.py.

Needs the reference environment (`bash scripts/make-reference-env.sh`, 2.8 GB: heareval
2021.1.3, pytorch-lightning 1.8.6, tensorflow-cpu); skipped where it is absent, as in CI.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.evaluation.synth import crosscheck_tasks

REPO_ROOT = Path(__file__).resolve().parents[2]
REFENV = REPO_ROOT / ".refenv" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    not REFENV.exists(), reason="reference environment absent (scripts/make-reference-env.sh)"
)


def test_scene_kfold_multilabel_and_event_tasks_match_the_official_kit(tmp_path: Path) -> None:
    tasks = list(crosscheck_tasks(tmp_path).values())
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "crosscheck.py"), *map(str, tasks)],
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    assert completed.stdout.count("| ok") >= 6
