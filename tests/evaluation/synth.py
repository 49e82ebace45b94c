"""Tiny synthetic embedding task directories in the official per-file layout.

Each label has a random prototype vector; an embedding is the sum of the prototypes of its
labels plus noise, so a classifier can learn the task. Speed settings go through the task's
own `evaluation_params.task_specific_param_grid`, as a real task would set them.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

FAST_GRID = {"max_epochs": [12], "check_val_every_n_epoch": [3], "hidden_dim": [32]}


def _write_common(
    task_dir: Path, metadata: dict[str, Any], labels: Sequence[str], split_data: dict[str, dict]
) -> None:
    task_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / "task_metadata.json").write_text(json.dumps(metadata, indent=4))
    with (task_dir / "labelvocabulary.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["idx", "label"])
        for i, label in enumerate(labels):
            writer.writerow([i, label])
    for split, data in split_data.items():
        (task_dir / f"{split}.json").write_text(json.dumps(data, indent=4))
        (task_dir / split).mkdir(exist_ok=True)


def _metadata(
    name: str,
    embedding_type: str,
    prediction_type: str,
    split_mode: str,
    splits: Sequence[str],
    evaluation: Sequence[str],
    grid: dict[str, list],
) -> dict:
    return {
        "task_name": name,
        "version": "synthetic",
        "embedding_type": embedding_type,
        "prediction_type": prediction_type,
        "split_mode": split_mode,
        "sample_duration": 2.0,
        "evaluation": list(evaluation),
        "splits": list(splits),
        "evaluation_params": {"task_specific_param_grid": grid},
    }


def make_scene_task(
    task_dir: Path,
    *,
    split_mode: str = "trainvaltest",
    splits: Sequence[str] = ("train", "valid", "test"),
    prediction_type: str = "multiclass",
    evaluation: Sequence[str] = ("top1_acc",),
    n_labels: int = 4,
    dim: int = 8,
    files_per_split: int = 40,
    noise: float = 0.6,
    seed: int = 0,
    grid: dict[str, list] | None = None,
    absent: dict[str, set[int]] | None = None,
) -> Path:
    """A scene task; multilabel files get 0 to 2 labels; `absent[split]` lists label indices
    that split never uses."""
    rng = np.random.default_rng(seed)
    labels = [f"lab{i}" for i in range(n_labels)]
    protos = rng.normal(size=(n_labels, dim)).astype(np.float32) * 2
    split_data: dict[str, dict] = {}
    arrays: dict[tuple[str, str], np.ndarray] = {}
    for split in splits:
        split_data[split] = {}
        allowed = [k for k in range(n_labels) if k not in (absent or {}).get(split, set())]
        for j in range(files_per_split):
            name = f"{split}_{j:04d}.wav"
            if prediction_type == "multiclass":
                chosen = [allowed[int(rng.integers(len(allowed)))]]
            else:
                picks = rng.integers(len(allowed), size=int(rng.integers(0, 3))).tolist()
                chosen = sorted({allowed[i] for i in picks})
            emb = protos[chosen].sum(axis=0) + noise * rng.normal(size=dim)
            split_data[split][name] = [labels[k] for k in chosen]
            arrays[(split, name)] = emb.astype(np.float32)
    metadata = _metadata(
        task_dir.name,
        "scene",
        prediction_type,
        split_mode,
        splits,
        evaluation,
        FAST_GRID if grid is None else grid,
    )
    _write_common(task_dir, metadata, labels, split_data)
    for (split, name), emb in arrays.items():
        np.save(task_dir / split / f"{name}.embedding.npy", emb)
        (task_dir / split / f"{name}.target-labels.json").write_text(
            json.dumps(split_data[split][name])
        )
    return task_dir


def frame_labels(events: Sequence[dict], times: np.ndarray) -> list[list[str]]:
    """The interval rule of get_labels_for_timestamps: start <= t < end + 0.0001 ms."""
    return [
        [e["label"] for e in events if e["start"] <= t < e["end"] + 0.0001] for t in times.tolist()
    ]


def make_event_task(
    task_dir: Path,
    *,
    split_mode: str = "trainvaltest",
    splits: Sequence[str] = ("train", "valid", "test"),
    evaluation: Sequence[str] = ("event_onset_200ms_fms", "segment_1s_er"),
    n_labels: int = 3,
    dim: int = 8,
    files_per_split: int = 6,
    frames: int = 80,
    hop_ms: float = 50.0,
    noise: float = 0.5,
    seed: int = 0,
    grid: dict[str, list] | None = None,
    evaluation_params: dict[str, Any] | None = None,
) -> Path:
    """An event task (multilabel frames); each file holds 2 to 4 events of 0.4 to 1.2 s."""
    rng = np.random.default_rng(seed)
    labels = [f"ev{i}" for i in range(n_labels)]
    protos = rng.normal(size=(n_labels, dim)).astype(np.float32) * 2
    times = (np.arange(frames) * hop_ms + hop_ms / 2).astype(np.float32)
    duration = frames * hop_ms
    split_data: dict[str, dict] = {}
    files: dict[tuple[str, str], tuple[np.ndarray, list[list[str]]]] = {}
    for split in splits:
        split_data[split] = {}
        for j in range(files_per_split):
            name = f"{split}_{j:03d}.wav"
            events = []
            for _ in range(int(rng.integers(2, 5))):
                length = float(rng.uniform(400, 1200))
                start = float(rng.uniform(0, duration - length))
                label = labels[int(rng.integers(n_labels))]
                events.append(
                    {"label": label, "start": round(start, 3), "end": round(start + length, 3)}
                )
            per_frame = frame_labels(events, times.astype(np.float64))
            emb = noise * rng.normal(size=(frames, dim))
            for t, frame in enumerate(per_frame):
                for label in set(frame):
                    emb[t] += protos[labels.index(label)]
            split_data[split][name] = events
            files[(split, name)] = (emb.astype(np.float32), per_frame)
    metadata = _metadata(
        task_dir.name,
        "event",
        "multilabel",
        split_mode,
        splits,
        evaluation,
        FAST_GRID if grid is None else grid,
    )
    if evaluation_params:
        metadata["evaluation_params"].update(evaluation_params)
    _write_common(task_dir, metadata, labels, split_data)
    for (split, name), (emb, per_frame) in files.items():
        base = task_dir / split / name
        np.save(f"{base}.embedding.npy", emb)
        Path(f"{base}.timestamps.json").write_text(json.dumps(times.tolist()))
        Path(f"{base}.target-labels.json").write_text(json.dumps(per_frame, indent=4))
    return task_dir


def crosscheck_tasks(root: Path, grid: dict[str, list] | None = None) -> dict[str, Path]:
    """The three small tasks the official-kit cross-check runs (test_crosscheck_official.py)
    and the benchmarks compare on: a 3-fold scene task, a multilabel scene task and an event
    task, under `root`. `grid` replaces their fast grid ({}: the protocol's own)."""
    return {
        "scene_kfold": make_scene_task(
            root / "kfold",
            split_mode="new_split_kfold",
            splits=("fold00", "fold01", "fold02"),
            seed=1,
            grid=grid,
        ),
        "scene_multilabel": make_scene_task(
            root / "multilabel",
            prediction_type="multilabel",
            evaluation=("mAP", "d_prime", "aucroc"),
            seed=2,
            grid=grid,
        ),
        "events": make_event_task(root / "events", seed=3, grid=grid),
    }
