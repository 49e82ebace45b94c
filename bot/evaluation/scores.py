"""`test.predicted-scores.json` in the kit's form, and the float32 pass-through of values.

Shape (heareval 2021.1.3 `task_predictions`), keys in this order::

    {"<test split>": {"test_loss", "test_score", "test_<metric>"..., ("test_<metric>_<sub>"...),
                      "validation_score", "epoch", "time_in_min"},   # one per split: "test",
     ...                                                             # or "fold00", "fold01", ...
     "aggregated_scores": {"<key>_mean", "<key>_std", ...},          # only with several splits
     "hparams": {...}, "postprocessing": [[name, value], ...], "score_mode": "max"|"min",
     "embedding_path": "<task dir as given>"}

Infinities and NaN: Python's json writes them as the bare tokens `Infinity`, `-Infinity` and
`NaN` (a d' of a class with AUC 1 is infinite; a validation NaN is stored as -inf or +inf).
The file keeps that form for interoperability with the kit; strict JSON parsers reject it, but
Python's `json.loads` (and `load_scores`) reads them back as float("inf") / float("nan"). The
dict returned to Python holds those floats.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from bot.common.fileio import write_atomic

SCORES_FILE = "test.predicted-scores.json"
MEMBERS_FILE = "test.members.json"  # every seed-ensemble member's scores (protocol.py)
PREDICTIONS_FILE = "test.predictions.npz"  # per-clip test predictions (protocol.py)
LOG_FILE = "hearbot-evaluate.log"


def logged(value: Any) -> float:
    """A value as Lightning's `self.log` stores it and `.item()` returns it.

    `torch.tensor(value)`: a Python float becomes float32 (0.87 -> 0.8700000047683716), a
    numpy float64 stays float64, a float32/float64 tensor keeps its dtype; integers become
    float32 (Lightning converts non-float logs to the default dtype).
    """
    tensor = value.detach().cpu() if isinstance(value, torch.Tensor) else torch.tensor(value)
    if not tensor.is_floating_point():
        tensor = tensor.to(torch.get_default_dtype())
    return float(tensor.item())


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """pandas `Series.mean()` / `.std()` (ddof=1, NaN skipped; NaN when nothing, or for the
    std one value, is left)."""
    with np.errstate(invalid="ignore"):  # inf - inf: the std is NaN, as pandas gives it
        series = pd.Series(values, dtype="float64")
        return float(series.mean()), float(series.std())


def aggregate(results: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """`aggregate_test_results`, with pandas as the kit does: a DataFrame of the splits'
    results, and for every column (in order of first appearance; a split without the key
    counts as NaN) `<key>_mean` and `<key>_std`."""
    frame = pd.DataFrame(list(results.values()))
    out: dict[str, float] = {}
    with np.errstate(invalid="ignore"):  # inf - inf: the std is NaN, as pandas gives it
        for key in frame.columns:
            out[f"{key}_mean"] = float(frame[key].mean())
            out[f"{key}_std"] = float(frame[key].std())
    return out


def serialize_hparams(conf: Mapping[str, Any]) -> dict[str, Any]:
    """`hparams_to_json`: str, float and int kept (bools are ints), anything else str()."""
    return {k: v if isinstance(v, str | float | int) else str(v) for k, v in conf.items()}


def build_scores(
    split_results: Mapping[str, dict[str, Any]],
    hparams: Mapping[str, Any],
    postprocessing: Sequence[tuple[str, Any]],
    score_mode: str,
    embedding_path: str,
) -> dict[str, Any]:
    """The whole object of test.predicted-scores.json."""
    out: dict[str, Any] = dict(split_results)
    if len(split_results) > 1:
        out["aggregated_scores"] = aggregate(split_results)
    out["hparams"] = serialize_hparams(hparams)
    out["postprocessing"] = [list(pair) for pair in postprocessing]
    out["score_mode"] = score_mode
    out["embedding_path"] = embedding_path
    return out


def dumps(scores: Mapping[str, Any]) -> str:
    """The kit's text: json.dumps(indent=4), bare NaN/Infinity, no final newline."""
    return json.dumps(scores, indent=4)


def write_scores(task_dir: Path, scores: Mapping[str, Any]) -> Path:
    """Write test.predicted-scores.json atomically (temp file beside it, then rename)."""
    path = Path(task_dir) / SCORES_FILE
    write_atomic(path, dumps(scores).encode("utf-8"))
    return path


def load_scores(path: Path) -> dict[str, Any]:
    """Read a scores file in the kit's form (NaN / Infinity tokens become Python floats)."""
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(result, dict):
        raise ValueError(f"{path}: not a JSON object")
    return result


def write_members(
    task_dir: Path,
    seeds: Sequence[int],
    mode: str,
    members: Sequence[Mapping[str, Any]],
    together: bool = False,
) -> Path:
    """test.members.json: {"seeds", "mode", "together", "members"} (each member's scores
    object, member 0 first), in the kit's JSON form; atomically. ``together``: members
    1..K-1 were trained together (one torch seed for all of them, their seeds[k])."""
    path = Path(task_dir) / MEMBERS_FILE
    document = {
        "seeds": list(seeds),
        "mode": mode,
        "together": together,
        "members": list(members),
    }
    write_atomic(path, json.dumps(document, indent=1).encode("utf-8"))
    return path


def load_members(path: Path) -> list[dict[str, Any]]:
    """The members' scores objects of a test.members.json, member 0 first."""
    document = load_scores(path)
    members = document.get("members")
    if (
        not isinstance(members, list)
        or not members
        or not all(isinstance(m, dict) for m in members)
    ):
        raise ValueError(f"{path}: members must be a non-empty list of scores objects")
    return members


def write_predictions(task_dir: Path, arrays: Mapping[str, np.ndarray]) -> Path:
    """test.predictions.npz (numpy savez_compressed of `arrays`), atomically."""
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **dict(arrays))
    path = Path(task_dir) / PREDICTIONS_FILE
    write_atomic(path, buffer.getvalue())
    return path
