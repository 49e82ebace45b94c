"""`hearbot evaluate --mode batched` against `--mode exact` and the official kit, one run.

On the same embeddings, measured in this one run (other load on the machine shows in every
number alike, so compare ratios, not seconds):
1. scores: |batched - exact| of the primary test score on
   - the cross-check tasks of tests/evaluation/test_crosscheck_official.py (12 epochs),
   - the converging tasks of tests/evaluation/test_batched.py (the protocol's schedule),
   - the real spoken_digit task (hearbaseline.naive embeddings made in the reference
     environment with `bot.hear.worker embed`), when ../shared/data and .refenv exist;
2. wall time of exact and batched on each, and their ratio, plus a larger scene task
   (--rows rows per split, --dim, 50 labels, the protocol's hidden 1024, --epochs epochs);
3. with .refenv: `heareval.predictions.runner` (memmaps + runner, as scripts/crosscheck.py
   runs it) on the same embeddings, against exact and batched in process and against
   `.venv/bin/hearbot evaluate --mode exact|batched` as a process (imports and start-up
   included); the last lines give these ratios per task.
Usage: .venv/bin/python benchmarks/evaluate_batched_speed.py [--threads 1] [--no-official]
       [--official-large]
One torch thread by default: on a machine whose cores are shared, more threads than free cores
make OpenMP spin, which slows the many small batched operations far more than the sequential
ones (seen here: 2 threads on 2 loaded cores, one task 25x slower).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from bot.evaluation import evaluate_task  # noqa: E402
from bot.evaluation.cli import primary_score  # noqa: E402
from tests.evaluation.synth import crosscheck_tasks, make_scene_task  # noqa: E402
from tests.evaluation.test_batched import converging_task  # noqa: E402

REFENV = REPO / ".refenv" / "bin" / "python"
TARBALL = REPO.parent / "shared" / "data" / "hear-2021.0.6-spoken_digit-1.0.9-small-44100.tar.gz"


def crosscheck_module() -> Any:
    spec = importlib.util.spec_from_file_location("crosscheck", REPO / "scripts" / "crosscheck.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["crosscheck"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def evaluate(task: Path, mode: str) -> tuple[float, float]:
    for leftover in ("test.predicted-scores.json", "hearbot-evaluate.log"):
        (task / leftover).unlink(missing_ok=True)
    start = time.perf_counter()
    result = evaluate_task(task, device="cpu", mode=mode)
    return primary_score(result), time.perf_counter() - start


def spoken_digit_embeddings(work: Path) -> Path | None:
    """hearbaseline.naive embeddings of the real spoken_digit task, or None without data."""
    if not TARBALL.exists() or not REFENV.exists():
        return None
    with tarfile.open(TARBALL) as archive:
        archive.extractall(work / "audio", filter="data")
    tasks_dir = next((work / "audio").rglob("task_metadata.json")).parent.parent
    env = {**os.environ, "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1", "PYTHONPATH": str(REPO)}
    out = work / "embeddings"
    command = [str(REFENV), "-m", "bot.hear.worker", "embed", "hearbaseline.naive"]
    command += ["--tasks-dir", str(tasks_dir), "--out", str(out), "--no-progress"]
    subprocess.run([*command, "--device", "cpu"], env=env, check=True, capture_output=True)
    return next(p for p in out.iterdir() if p.is_dir())


def official_seconds(task: Path, work: Path) -> float:
    """memmaps + heareval.predictions.runner on a copy of `task` (scripts/crosscheck.py)."""
    crosscheck = crosscheck_module()
    rel = f"embeddings/{task.name}"
    meta = crosscheck.check_task_dir(task)
    crosscheck.copy_per_file_layout(task, work / rel, meta)
    side = crosscheck.run_official(REFENV, work, rel, None)
    return float(side.seconds)


def hearbot_process_seconds(task: Path, work: Path, mode: str) -> float:
    """`hearbot evaluate --mode MODE` as a process on a copy of `task` (start-up included)."""
    copy = work / mode / task.name
    shutil.copytree(task, copy)
    start = time.perf_counter()
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "hearbot"), "evaluate", str(copy), "--mode", mode],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--no-official", action="store_true")
    parser.add_argument(
        "--official-large", action="store_true", help="run the official kit on the large task too"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    report: dict[str, Any] = {"threads": args.threads, "tasks": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        tasks: dict[str, Path] = {
            f"crosscheck/{name}": task for name, task in crosscheck_tasks(root / "cc").items()
        }
        for name in ("scene_kfold", "scene_multilabel", "events"):
            tasks[f"converging/{name}"] = converging_task(root / "conv", name)
        tasks["large/scene"] = make_scene_task(
            root / "large",
            n_labels=50,
            dim=args.dim,
            files_per_split=args.rows,
            noise=1.5,
            grid={"max_epochs": [args.epochs], "check_val_every_n_epoch": [5]},
        )
        spoken = spoken_digit_embeddings(root / "sd")
        if spoken is not None:
            tasks["real/spoken_digit (hearbaseline.naive)"] = spoken
        for name, task in tasks.items():
            exact, exact_s = evaluate(task, "exact")
            batched, batched_s = evaluate(task, "batched")
            row: dict[str, Any] = {
                "exact": round(exact, 4),
                "batched": round(batched, 4),
                "abs_delta": round(abs(batched - exact), 4),
                "exact_s": round(exact_s, 2),
                "batched_s": round(batched_s, 2),
                "exact/batched": round(exact_s / batched_s, 2),
            }
            official = not args.no_official and REFENV.exists() and not name.startswith("conv")
            official &= args.official_large or not name.startswith("large")
            if official:
                work = root / "official" / name.replace("/", "_").split(" ")[0]
                kit_s = official_seconds(task, work)
                exact_process_s = hearbot_process_seconds(task, work / "hearbot", "exact")
                process_s = hearbot_process_seconds(task, work / "hearbot", "batched")
                row["official_s"] = round(kit_s, 2)
                row["official/exact"] = round(kit_s / exact_s, 1)
                row["official/batched"] = round(kit_s / batched_s, 1)
                row["hearbot_exact_process_s"] = round(exact_process_s, 2)
                row["official/exact_process"] = round(kit_s / exact_process_s, 1)
                row["hearbot_process_s"] = round(process_s, 2)
                row["official/batched_process"] = round(kit_s / process_s, 1)
            report["tasks"][name] = row
            print(name, json.dumps(row), flush=True)
    print(json.dumps(report, indent=2))
    compared = {name: row for name, row in report["tasks"].items() if "official_s" in row}
    for name, row in compared.items():
        print(
            f"{name}: hearbot evaluate vs the official kit, start-up included: "
            f"exact {row['official/exact_process']}x, batched {row['official/batched_process']}x "
            f"faster (in process: {row['official/exact']}x, {row['official/batched']}x)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
