"""hearbot against the official kit (heareval 2021.1.3), same model, same tasks, one run.

1. Embedding: `python -m heareval.embeddings.runner MODULE --tasks-dir T` against
   `python -m bot.hear.worker embed MODULE --tasks-dir T --out E`, both in the reference
   environment (.refenv, where the official baseline hearbaseline is installed) so that the
   model, torch and the machine are the same; wall time of each and their ratio.
2. Downstream: scripts/crosscheck.py on the embeddings hearbot wrote, which times
   `heareval.predictions.runner` against `hearbot evaluate` and checks the scores agree.

Needs the reference environment (bash scripts/make-reference-env.sh) and a task directory,
e.g. the spoken_digit task of ../shared/data extracted:
    .venv/bin/python benchmarks/official_kit_speed.py --tasks-dir /tmp/sd/hear-2021.0.6/tasks
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REFENV_PYTHON = REPO / ".refenv" / "bin" / "python"


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed:\n{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        )
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks-dir", required=True, type=Path)
    parser.add_argument("--module", default="hearbaseline.naive")
    args = parser.parse_args()
    if not REFENV_PYTHON.exists():
        print("reference environment absent: run bash scripts/make-reference-env.sh")
        return 0
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONPATH": str(REPO)}
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        official = timed(
            [
                str(REFENV_PYTHON),
                "-m",
                "heareval.embeddings.runner",
                args.module,
                "--tasks-dir",
                str(args.tasks_dir.resolve()),
            ],
            work,
            env,
        )
        ours_dir = work / "hearbot-embeddings"
        ours = timed(
            [
                str(REFENV_PYTHON),
                "-m",
                "bot.hear.worker",
                "embed",
                args.module,
                "--tasks-dir",
                str(args.tasks_dir.resolve()),
                "--out",
                str(ours_dir),
                "--no-progress",
                "--device",
                "cpu",
            ],
            work,
            env,
        )
        print(f"embedding, {args.module} on {args.tasks_dir}:")
        print(
            f"  official embeddings runner {official:.1f} s, hearbot embed {ours:.1f} s, "
            f"hearbot/official = {ours / official:.2f}x (below 1: hearbot is faster)"
        )
        tasks = sorted(path for path in ours_dir.iterdir() if path.is_dir())
        print("downstream (scripts/crosscheck.py):", flush=True)
        completed = subprocess.run(
            [sys.executable, str(REPO / "scripts" / "crosscheck.py"), *map(str, tasks)],
            capture_output=True,
            text=True,
        )
        lines = [
            line
            for line in completed.stdout.splitlines()
            if line.startswith(("crosscheck:", "time:"))
        ]
        print("\n".join("  " + line for line in lines))
        shutil.rmtree(work / "embeddings", ignore_errors=True)
        return completed.returncode


if __name__ == "__main__":
    raise SystemExit(main())
