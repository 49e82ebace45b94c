"""Scene metrics of `heareval/score.py`, and the registry of every metric the kit knows.

Inputs are the kit's: `predictions` float32 (N, L) (softmax rows for multiclass, sigmoid for
multilabel) and `targets` float32 (N, L) one-/multi-hot. Return types are the kit's too,
because the value logged (and written) keeps its type's precision: a Python float is logged
as a float32 tensor, a numpy float64 as a float64 tensor (see `scores.logged`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import stats
from sklearn.metrics import average_precision_score, roc_auc_score

from bot.evaluation import events


def top1_hits(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row, whether argmax(prediction) == argmax(target) (first maximum on ties)."""
    return predictions.argmax(axis=1) == targets.argmax(axis=1)


def top1_acc(predictions: np.ndarray, targets: np.ndarray) -> float:
    """mean(argmax(prediction) == argmax(target)) over rows (first maximum on ties);
    a Python float (correct / N)."""
    return int(top1_hits(predictions, targets).sum()) / len(targets)


def pitch_acc(predictions: np.ndarray, targets: np.ndarray) -> float:
    """The kit's `pitch_acc` is `top1_acc` under another name."""
    return top1_acc(predictions, targets)


def chroma_hits(predictions: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per row, whether argmax(prediction) % 12 == argmax(target) % 12: label indices (the
    vocabulary is the sorted MIDI pitches), so octave errors count as hits."""
    return predictions.argmax(axis=1) % 12 == targets.argmax(axis=1) % 12


def chroma_acc(predictions: np.ndarray, targets: np.ndarray) -> float:
    """The share of `chroma_hits`; a Python float."""
    return int(chroma_hits(predictions, targets).sum()) / len(targets)


def mean_average_precision(predictions: np.ndarray, targets: np.ndarray) -> Any:
    """sklearn `average_precision_score(targets, predictions, average="macro")`, unchanged.

    Per class AP = sum_n (R_n - R_{n-1}) P_n over score thresholds, then the unweighted mean.
    A class with no positive target: current sklearn warns and scores it 0 (sklearn < 1.1
    gave NaN there). The type is sklearn's (a Python float since sklearn 1.6, np.float64 before).
    """
    return average_precision_score(targets, predictions, average="macro")


def aucroc(predictions: np.ndarray, targets: np.ndarray) -> Any:
    """sklearn `roc_auc_score(targets, predictions, average="macro")`: the unweighted mean of
    per-class ROC AUC. NaN when undefined (a class with only one target value: old sklearn
    raised ValueError, which the kit turned into NaN; current sklearn returns NaN itself)."""
    try:
        return roc_auc_score(targets, predictions, average="macro")
    except ValueError:
        return math.nan


def d_prime(predictions: np.ndarray, targets: np.ndarray) -> Any:
    """mean over classes of sqrt(2) * Phi^-1(AUC_c) (per-class sklearn ROC AUC, scipy
    `norm().ppf`); NaN when any class AUC is undefined, +inf when a class has AUC 1 (and -inf
    for AUC 0). The value is a numpy float64 (np.mean), so it is logged in float64."""
    try:
        auc = roc_auc_score(targets, predictions, average=None)
    except ValueError:
        return math.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(stats.norm().ppf(auc) * np.sqrt(2.0))


@dataclass(frozen=True)
class Metric:
    """A metric of the kit. `kind` says which inputs `fn` takes: scene (predictions, targets)
    or event (predicted events, reference events, labels); `maximize` gives score_mode.
    `hits`, for a metric that is the share of clips it scores right, gives each clip's hit."""

    name: str
    kind: Literal["scene", "event"]
    fn: Callable[..., Any]
    maximize: bool = True
    hits: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("top1_acc", "scene", top1_acc, hits=top1_hits),
        Metric("pitch_acc", "scene", pitch_acc, hits=top1_hits),
        Metric("chroma_acc", "scene", chroma_acc, hits=chroma_hits),
        Metric("mAP", "scene", mean_average_precision),
        Metric("d_prime", "scene", d_prime),
        Metric("aucroc", "scene", aucroc),
        Metric("event_onset_200ms_fms", "event", events.event_onset_200ms_fms),
        Metric("event_onset_50ms_fms", "event", events.event_onset_50ms_fms),
        Metric(
            "event_onset_offset_50ms_20perc_fms", "event", events.event_onset_offset_50ms_20perc_fms
        ),
        Metric("segment_1s_er", "event", events.segment_1s_er, maximize=False),
    )
}


def primary_value(value: Any) -> Any:
    """The value of a score used as a criterion: the first sub-score of a tuple score."""
    return value[0][1] if isinstance(value, tuple) else value
