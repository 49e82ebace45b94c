"""Downstream evaluation: determinism per device, CPU vs CUDA agreement, and speed.

1. The three small synthetic tasks of tests/evaluation (scene k-fold, scene multilabel, event)
   run twice on each device: both runs must give identical numbers; the primary scores of
   each device are printed side by side (CUDA kernels differ from CPU ones, so small
   differences between devices are expected, none between runs on one device).
2. A larger scene task (--rows training rows, --dim, 50 labels, hidden 1024 as in the
   protocol, --epochs epochs validated every 5, --grid-points grid points) is timed per device.
Usage: .venv/bin/python benchmarks/evaluate_speed.py [--devices cpu cuda] [--rows 20000]
Prints one JSON object (also written to --out when given).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.evaluation import evaluate_task  # noqa: E402
from bot.evaluation.cli import primary_score  # noqa: E402
from tests.evaluation.synth import make_event_task, make_scene_task  # noqa: E402


def small_tasks(root: Path) -> dict[str, Path]:
    return {
        "scene_kfold": make_scene_task(
            root / "scene_kfold",
            split_mode="new_split_kfold",
            splits=["fold00", "fold01", "fold02"],
            evaluation=["top1_acc", "mAP", "d_prime", "aucroc"],
        ),
        "scene_ml": make_scene_task(
            root / "scene_ml", prediction_type="multilabel", evaluation=["mAP", "aucroc"], seed=1
        ),
        "events": make_event_task(root / "events", seed=2),
    }


def numbers(result: dict[str, Any]) -> str:
    """The result without its wall times and path, for exact comparison."""
    kept = {
        k: {kk: vv for kk, vv in v.items() if not kk.startswith("time_in_min")}
        if isinstance(v, dict)
        else v
        for k, v in result.items()
        if k != "embedding_path"
    }
    return json.dumps(kept, sort_keys=True)


def run(task: Path, device: str, grid_points: int = 8) -> tuple[dict[str, Any], float]:
    for leftover in ("test.predicted-scores.json", "hearbot-evaluate.log"):
        (task / leftover).unlink(missing_ok=True)
    start = time.perf_counter()
    result = evaluate_task(task, device=device, grid_points=grid_points)
    return result, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cpu"], choices=["cpu", "cuda"])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--grid-points", type=int, default=2)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    report: dict[str, Any] = {"small": {}, "large": {}}
    with tempfile.TemporaryDirectory() as tmp:
        tasks = small_tasks(Path(tmp))
        for name, task in tasks.items():
            for device in args.devices:
                first, seconds = run(task, device)
                second, _ = run(task, device)
                report["small"][f"{name}/{device}"] = {
                    "primary": primary_score(first),
                    "identical_reruns": numbers(first) == numbers(second),
                    "seconds": round(seconds, 2),
                }
        large = make_scene_task(
            Path(tmp) / "large",
            n_labels=50,
            dim=args.dim,
            files_per_split=args.rows,
            noise=1.5,
            grid={"max_epochs": [args.epochs], "check_val_every_n_epoch": [5]},
        )
        for device in args.devices:
            result, seconds = run(large, device, args.grid_points)
            report["large"][device] = {
                "primary": primary_score(result),
                "seconds": round(seconds, 1),
                "seconds_per_epoch": round(seconds / (args.epochs * args.grid_points), 3),
            }
    ok = all(v["identical_reruns"] for v in report["small"].values())
    report["deterministic"] = ok
    report["finite"] = all(math.isfinite(v["primary"]) for v in report["small"].values())
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
