"""The members' per-clip spread: how far one more training run's score can move because test
clips flip between right and wrong from run to run.

Five members can agree on a score by chance while getting different clips right: on a task of
20 test clips a fold, 0.06, 0.06, 0.06, 0.04 and 0.05 have a sample sd of 0.009, yet a sixth
run scored 0.17. The members' per-clip predictions show what their scores hide. For a metric
that is the share of clips scored right (top1_acc, pitch_acc, chroma_acc), let q_i be the share
of the K members that get clip i right. If one more run gets each clip right with probability
q_i, independently, its score on a split of n clips has variance

    sum_i q_i (1 - q_i) / n²,  with q_i (1 - q_i) estimated as K/(K-1) · q̂_i (1 - q̂_i);

folds are averaged (as test_score_mean is) and task directories are averaged (as a column of
several directories is), so their variances add with the squares of those weights. The sd is
the square root. Runs whose luck is shared across clips (one seed better overall) are what the
members' own sd measures; the verdict takes the larger of the two (bot/verify/verdict.py).

Reads the per-clip test predictions that `evaluate_task` saves (``test.predictions.npz``,
bot/evaluation/protocol.py). Other metrics (mAP, aucroc, event metrics) are not shares of
clips: no per-clip spread, None.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bot.evaluation.bootstrap import split_predictions
from bot.evaluation.metrics import METRICS

Splits = list[tuple[np.ndarray, np.ndarray]]  # a member's test splits: (probs, target) each


def split_variance(hits: np.ndarray) -> float:
    """The variance of one more run's share of hits on a split, from the members' hits
    (members × clips, bool): sum_i K/(K-1) q_i (1 - q_i) / n²."""
    k, n = hits.shape
    if k < 2 or n == 0:
        return 0.0
    q = hits.mean(axis=0)
    return float(np.sum(q * (1 - q)) * k / (k - 1) / n**2)


def task_variance(hits: Sequence[Sequence[np.ndarray]]) -> float:
    """The variance of one more run's fold-mean score on one task directory, from its members'
    hits (`hits[member][split]`: a bool per clip of that test split)."""
    counts = {len(splits) for splits in hits}
    if len(counts) != 1:
        raise ValueError("the members of a task directory have different test splits")
    n_splits = counts.pop()
    total = 0.0
    for s in range(n_splits):
        if len({len(splits[s]) for splits in hits}) != 1:
            raise ValueError(f"the members' test split {s} differ in shape")
        total += split_variance(np.stack([splits[s] for splits in hits]))
    return total / n_splits**2


def column_clip_sd(task_hits: Sequence[Sequence[Sequence[np.ndarray]]]) -> float | None:
    """The per-clip sd of the column score from its task directories' hits (per directory,
    `hits[member][split]`); None with fewer than two members in a directory."""
    if not task_hits or any(len(hits) < 2 for hits in task_hits):
        return None
    variance = sum(task_variance(hits) for hits in task_hits)
    return float(np.sqrt(variance / len(task_hits) ** 2))


def clip_sd(tasks: Sequence[Sequence[Splits]], metric: str) -> float | None:
    """The per-clip sd of the column score; `tasks`: per task directory, per member, that
    member's test splits (the same splits, in the same order, for every member). None when
    `metric` is not a share of clips or there are fewer than two members."""
    hits_of = METRICS[metric].hits
    if hits_of is None:
        return None
    return column_clip_sd(
        [[[hits_of(probs, target) for probs, target in m] for m in members] for members in tasks]
    )


def hits_as_text(hits: Sequence[Sequence[np.ndarray]]) -> list[list[str]]:
    """`hits[member][split]` as strings of 0 and 1, for a JSON file of measurements."""
    return [["".join("1" if h else "0" for h in split) for split in member] for member in hits]


def hits_from_text(text: Sequence[Sequence[str]]) -> list[list[np.ndarray]]:
    """The inverse of `hits_as_text`."""
    return [[np.array([c == "1" for c in split], dtype=bool) for split in m] for m in text]


def member_count(path: Path) -> int:
    """How many members' predictions `path` (a test.predictions.npz) holds."""
    with np.load(path) as archive:
        found = {m.group(1) for name in archive.files if (m := re.match(r"m(\d+)/", name))}
    return len(found)


def member_hits(path: Path, metric: str) -> list[list[np.ndarray]] | None:
    """Per member, per test split, which clips it got right, from a test.predictions.npz; None
    when `metric` is not a share of clips."""
    hits_of = METRICS[metric].hits
    if hits_of is None:
        return None
    return [
        [hits_of(probs, target) for probs, target in split_predictions(path, k)]
        for k in range(member_count(path))
    ]


def clip_sd_of_files(paths: Sequence[Path], metric: str) -> float | None:
    """`clip_sd` over every member in each task directory's prediction file."""
    task_hits = [member_hits(path, metric) for path in paths]
    if any(hits is None for hits in task_hits):
        return None
    return column_clip_sd([hits for hits in task_hits if hits is not None])
