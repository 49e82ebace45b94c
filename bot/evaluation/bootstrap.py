"""A bootstrap confidence interval over test clips of a verified score.

Reads the per-clip test predictions that `evaluate_task` saves beside test.predicted-scores.json
(``test.predictions.npz``; format in bot/evaluation/protocol.py): for each replicate, every
test split's clips are resampled with replacement (within the split: a fold keeps its size),
the primary metric is computed on the resample, folds are averaged (as test_score_mean is)
and task directories are averaged (as a column of several directories is). The interval is
the replicates' percentile interval.

Clip-level (scene) tasks only: an event task's score is not a mean over clips of anything the
file holds, so it has no ``test.predictions.npz`` and no interval here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.evaluation.metrics import METRICS, primary_value

REPLICATES = 1000
SEED = 0


def split_predictions(path: Path, member: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(probs, target) of each test split of `member`, in split-name order."""
    with np.load(path) as archive:
        prefix = f"m{member}/"
        splits = sorted(
            {
                name[len(prefix) :].rsplit("/", 1)[0]
                for name in archive.files
                if name.startswith(prefix)
            }
        )
        if not splits:
            raise ValueError(f"{path}: no predictions of member {member}")
        return [
            (archive[f"{prefix}{s}/probs"], archive[f"{prefix}{s}/target"].astype(np.float32))
            for s in splits
        ]


def bootstrap_scores(
    tasks: Sequence[list[tuple[np.ndarray, np.ndarray]]],
    metric: str,
    *,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> np.ndarray:
    """The column score of each replicate (NaN where the metric is undefined on a resample).
    `tasks`: per task directory, its test splits' (probs, target)."""
    fn = METRICS[metric].fn
    if METRICS[metric].kind != "scene":
        raise ValueError(f"{metric} is not a clip-level metric: no bootstrap over clips")
    rng = np.random.default_rng(seed)
    out = np.empty(replicates)
    for r in range(replicates):
        task_values = []
        for splits in tasks:
            fold_values = []
            for probs, target in splits:
                pick = rng.integers(0, len(probs), len(probs))
                fold_values.append(float(primary_value(fn(probs[pick], target[pick]))))
            task_values.append(sum(fold_values) / len(fold_values))
        out[r] = sum(task_values) / len(task_values)
    return out


def bootstrap_ci(
    paths: Sequence[Path],
    metric: str,
    *,
    member: int = 0,
    confidence: float = 0.95,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> tuple[float, float] | None:
    """The percentile interval at `confidence` of `member`'s column score over the task
    directories' prediction files; None when more than a tenth of the replicates are
    undefined (a metric that a resample missing a class breaks)."""
    import warnings

    tasks = [split_predictions(path, member) for path in paths]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn warns for a class absent from a resample
        scores = bootstrap_scores(tasks, metric, replicates=replicates, seed=seed)
    finite = scores[np.isfinite(scores)]
    if len(finite) < 0.9 * replicates:
        return None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return float(low), float(high)
