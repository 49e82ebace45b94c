"""How far the downstream protocol's own result moves with its training seed, against how far
`--mode batched` lands from `--mode exact`: is the batched mode's difference bias or noise?

The issue's rule makes batched the default only if it stays within 0.02 of exact on the
cross-check tasks. Batched draws other random numbers than the kit, so it is a run of the same
protocol with other draws, and the fair yardstick is the spread of exact itself over seeds.
For the three cross-check tasks of tests/evaluation/test_crosscheck_official.py, here with the
protocol's own schedule (500 epochs, early stopping; `grid={}`), and optionally a larger
converging scene task, this runs exact and batched with the torch seed the kit uses (42) and
--seeds others (the grid's configurations stay the kit's: only training draws change) and
prints per task and mode: the score at 42, the mean, the standard deviation and the range over
seeds, |batched - exact| at 42 and between the two means (in standard errors).
Usage: .venv/bin/python benchmarks/evaluate_seed_spread.py [--seeds 6] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from bot.evaluation import evaluate_task  # noqa: E402
from bot.evaluation.cli import primary_score  # noqa: E402
from tests.evaluation.synth import crosscheck_tasks, make_scene_task  # noqa: E402

KIT_SEED = 42


@contextmanager
def torch_seed(seed: int) -> Iterator[None]:
    """The protocol seeds torch with 42 (seed_everything); here with `seed` instead. Python's
    `random`, which samples the grid, is seeded separately and left alone."""
    real = torch.manual_seed

    def seeded(_: int) -> Any:
        return real(seed)

    torch.manual_seed = seeded  # type: ignore[assignment]
    try:
        yield
    finally:
        torch.manual_seed = real  # type: ignore[assignment]


def score(task: Path, mode: str, seed: int, out: Path) -> float:
    with torch_seed(seed):
        return primary_score(evaluate_task(task, device="cpu", mode=mode, out_dir=out))


def tasks(root: Path, larger: bool) -> dict[str, Path]:
    found = {f"crosscheck/{name}": task for name, task in crosscheck_tasks(root, grid={}).items()}
    if larger:
        found["larger/scene_multilabel"] = make_scene_task(
            root / "larger",
            prediction_type="multilabel",
            evaluation=("mAP", "d_prime", "aucroc"),
            n_labels=10,
            dim=64,
            files_per_split=400,
            noise=1.5,
            seed=4,
            grid={},
        )
    return found


def summary(values: list[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="seeds besides the kit's 42")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--larger", action="store_true", help="add a 400-clip-per-split task")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    seeds = [KIT_SEED, *range(args.seeds)]
    report: dict[str, Any] = {"seeds": seeds, "tasks": {}}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, task in tasks(root / "tasks", args.larger).items():
            runs = {
                mode: [score(task, mode, s, root / "out" / f"{mode}-{s}") for s in seeds]
                for mode in ("exact", "batched")
            }
            exact, batched = summary(runs["exact"]), summary(runs["batched"])
            standard_error = math.sqrt((exact["std"] ** 2 + batched["std"] ** 2) / len(seeds))
            row = {
                "exact_at_42": runs["exact"][0],
                "batched_at_42": runs["batched"][0],
                "delta_at_42": abs(runs["batched"][0] - runs["exact"][0]),
                "exact": exact,
                "batched": batched,
                "delta_of_means": abs(batched["mean"] - exact["mean"]),
                "delta_of_means_in_standard_errors": abs(batched["mean"] - exact["mean"])
                / standard_error
                if standard_error
                else 0.0,
            }
            report["tasks"][name] = row
            print(
                f"{name}: |batched - exact| at seed 42 = {row['delta_at_42']:.4f}; exact over "
                f"{len(seeds)} seeds {exact['mean']:.4f} ± {exact['std']:.4f} "
                f"[{exact['min']:.4f}, {exact['max']:.4f}], batched {batched['mean']:.4f} ± "
                f"{batched['std']:.4f} [{batched['min']:.4f}, {batched['max']:.4f}]; means "
                f"differ by {row['delta_of_means']:.4f} "
                f"({row['delta_of_means_in_standard_errors']:.1f} standard errors)",
                flush=True,
            )
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
