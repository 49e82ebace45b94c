"""Reading one embedding task directory (the official per-file layout), strictly.

Layout (written by the official embeddings runner, `heareval.embeddings.task_embeddings`)::

    E/<task>/task_metadata.json, labelvocabulary.csv, <split>.json for each split
    E/<task>/<split>/<file>.embedding.npy      scene: float32 (D,); event: float32 (T, D)
    E/<task>/<split>/<file>.target-labels.json  scene: [label, ...]; event: [[label, ...]] * T
    E/<task>/<split>/<file>.timestamps.json     event only: [t_ms] * T

Every file is read through bot/common/untrusted.py (regular files only, no link followed, a
size cap checked before reading): an `.embedding.npy` is read only if its header's shape is
exactly what the file holds and at most `MAX_EMBEDDING_BYTES` (once a split's embedding size
is known, a scene file must be exactly that size); the JSON beside it at most what its frames
can need.

Row order reproduces `memmap_embeddings`: ONE `random.Random(0)` per task; for each split in
`task_metadata.json` order, the split JSON's keys in order are shuffled with it. The runner's
own memmaps and pickles (`<split>.embeddings.npy`, `<split>.target-labels.pkl`) are never read.

With a spill directory (`load_task(..., spill_dir=D)`), a split's rows are streamed file by
file into an unnamed file in D and read back memory-mapped, as are the concatenations of
splits that training uses: memory then holds one file's embeddings at a time plus what the
page cache keeps, and the disk space is freed as soon as the arrays are dropped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import re
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.common import strict_json, untrusted
from bot.evaluation.errors import EmbeddingError, MetadataError
from bot.evaluation.events import Event
from bot.hear.tasks import (
    EVENT_END_EPSILON_MS,
    PANDAS_NA_STRINGS,
    MetadataProblem,
    TaskMetadata,
    frame_labels,
    parse_metadata,
)
from bot.hear.tasks import Event as TaskEvent

# Frame-label disagreements closer than this (ms) to an interval bound are float32 rounding
# of the timestamp at embedding time, not tampering.
BOUNDARY_TOLERANCE_MS = 1e-3
MAX_JSON_BYTES = 1 << 30
MAX_EMBEDDING_BYTES = 256 << 20
"""One `.embedding.npy` file's data: a scene embedding (D,) or an event file's (T, D) frames
(a 2-minute clip at a 25 ms hop and D = 6,144 is 75 MB)."""
MAX_TIMESTAMP_BYTES = 32
"""One timestamp in a `.timestamps.json` (a float64's repr, a separator)."""


@dataclass
class Rows:
    """Rows of one or more splits, in the official order.

    `x` float32 (N, D); `y` float32 (N, L) multi-hot targets. Event tasks also carry, per row,
    the index of its file in `files` and its timestamp (ms, float64), and the reference events
    of every file (ms, labels as strings) from the split JSON.
    """

    files: list[str]
    x: np.ndarray
    y: np.ndarray
    row_file: np.ndarray | None = None
    row_time: np.ndarray | None = None
    reference_events: dict[str, list[Event]] = field(default_factory=dict)


@dataclass
class TaskData:
    """A whole embedding task directory, loaded and checked."""

    name: str
    metadata: TaskMetadata
    labels: list[str]
    dim: int
    splits: dict[str, Rows]
    spill_dir: Path | None = None


# ---------------------------------------------------------------------------------------------
# Strict file access


def regular_file(
    task: str, root: Path, rel: str, error: type[EmbeddingError | MetadataError]
) -> Path:
    """`root/rel` if it is a regular file and not a symlink; else `error` naming the check."""
    path = root / rel
    try:
        untrusted.regular_stat(path)
    except untrusted.UntrustedFileError as exc:
        raise error(task, rel, exc.check, exc.detail) from None
    return path


def read_file(
    task: str, root: Path, rel: str, error: type[EmbeddingError | MetadataError], max_bytes: int
) -> bytes:
    """The regular file `root/rel`, of at most `max_bytes` (bot/common/untrusted.py)."""
    try:
        return untrusted.read_bytes(root / rel, max_bytes)
    except untrusted.UntrustedFileError as exc:
        raise error(task, rel, exc.check, exc.detail) from None


def read_json(
    task: str,
    root: Path,
    rel: str,
    error: type[EmbeddingError | MetadataError],
    max_bytes: int = MAX_JSON_BYTES,
) -> Any:
    """Strict JSON: UTF-8, no NaN/Infinity, no duplicate keys, at most `max_bytes`."""
    data = read_file(task, root, rel, error, max_bytes)
    try:
        return strict_json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(task, rel, "json", f"not strict UTF-8 JSON: {exc}") from None


def check_file_name(task: str, rel: str, name: object) -> str:
    """A split JSON key must be a plain file name: it may not leave its split directory."""
    if not isinstance(name, str) or not name or name in (".", ".."):
        raise MetadataError(task, rel, "file-name", f"bad file name {name!r}")
    if "/" in name or "\\" in name or "\x00" in name or len(name.encode()) > 200:
        raise MetadataError(task, rel, "file-name", f"file name {name!r} is not a plain name")
    return name


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# ---------------------------------------------------------------------------------------------
# Metadata, vocabulary and split JSON


def read_metadata(task: str, root: Path) -> TaskMetadata:
    """task_metadata.json, read strictly and checked by the one set of rules
    (bot/hear/tasks.py `parse_metadata`)."""
    rel = "task_metadata.json"
    raw = read_json(task, root, rel, MetadataError)
    try:
        return parse_metadata(raw)
    except MetadataProblem as problem:
        check = "metadata" if problem.key is None else f"metadata.{problem.key}"
        raise MetadataError(task, rel, check, problem.message) from None


_INT_RE = re.compile(r"-?[0-9]+")
_FLOAT_RE = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


def _unambiguous(label: str) -> bool:
    """Whether `label` would come back as itself from pandas even alone in its column: not a
    string pandas reads as missing, not padded, and a number only in the form pandas writes
    it back. Stricter than pandas, which judges the column as a whole (`_as_the_kit_reads`):
    '007' beside 'lab1' reads back as '007', but the same vocabulary without 'lab1' would
    not, so such labels are refused either way."""
    if not label or label in PANDAS_NA_STRINGS or label != label.strip():
        return False
    if _INT_RE.fullmatch(label):
        return str(int(label)) == label
    if _FLOAT_RE.fullmatch(label):
        return repr(float(label)) == label
    return True


def read_vocabulary(task: str, root: Path) -> list[str]:
    """labelvocabulary.csv (`idx,label`) as the list of labels indexed by idx."""
    rel = "labelvocabulary.csv"
    path = regular_file(task, root, rel, MetadataError)
    data = read_file(task, root, rel, MetadataError, MAX_JSON_BYTES)
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise MetadataError(task, rel, "csv", str(exc)) from None
    if not rows or rows[0] != ["idx", "label"]:
        raise MetadataError(task, rel, "csv", "the header must be exactly idx,label")
    by_idx: dict[int, str] = {}
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != 2 or not _INT_RE.fullmatch(row[0]):
            raise MetadataError(task, rel, "csv", f"line {number}: expected idx,label")
        idx, label = int(row[0]), row[1]
        if idx in by_idx or label in by_idx.values():
            raise MetadataError(task, rel, "csv", f"line {number}: duplicate idx or label")
        if not _unambiguous(label):
            raise MetadataError(
                task, rel, "csv", f"line {number}: label {label!r} would not read back as itself"
            )
        by_idx[idx] = label
    if sorted(by_idx) != list(range(len(by_idx))) or not by_idx:
        raise MetadataError(task, rel, "csv", "idx must be 0..n-1")
    labels = [by_idx[i] for i in range(len(by_idx))]
    try:
        as_read = _as_the_kit_reads(path)
    except ValueError as exc:  # pandas' ParserError among them
        raise MetadataError(task, rel, "csv", f"pandas cannot read it: {exc}") from None
    for label, read in zip(labels, as_read, strict=False):
        if read != label:
            raise MetadataError(
                task, rel, "csv", f"label {label!r} would be read by the official kit as {read!r}"
            )
    if len(as_read) != len(labels):
        raise MetadataError(task, rel, "csv", "pandas reads another number of labels")
    return labels


def _as_the_kit_reads(path: Path) -> list[str]:
    """The labels in idx order as the official kit reads them: `pandas.read_csv`, then
    `astype(str)` (heareval `label_vocab_as_dict`); a column of numbers comes back in
    pandas' own form (an integer column loses leading zeros, a mixed one becomes floats)."""
    frame = pd.read_csv(path)
    frame["label"] = frame["label"].astype(str)
    return [str(label) for label in frame.sort_values("idx")["label"]]


def _label(task: str, rel: str, value: object, vocabulary: Mapping[str, int]) -> str:
    """Labels compare as strings (the kit's `str(label)`); they must be in the vocabulary."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MetadataError(task, rel, "label", f"label {value!r} is not a string or number")
    label = str(value)
    if label not in vocabulary:
        raise MetadataError(task, rel, "label", f"label {label!r} is not in labelvocabulary.csv")
    return label


def read_split(
    task: str, root: Path, split: str, metadata: TaskMetadata, vocabulary: Mapping[str, int]
) -> dict[str, Any]:
    """`<split>.json`: file name -> labels (scene) or events in ms (event), in file order."""
    rel = f"{split}.json"
    raw = read_json(task, root, rel, MetadataError)
    if not isinstance(raw, dict):
        raise MetadataError(task, rel, "split", "not a JSON object")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        check_file_name(task, rel, name)
        if not isinstance(value, list):
            raise MetadataError(task, rel, "split", f"{name}: expected a list")
        if metadata.embedding_type == "scene":
            out[name] = [_label(task, rel, v, vocabulary) for v in value]
        else:
            out[name] = [_reference_event(task, rel, name, e, vocabulary) for e in value]
    return out


def _reference_event(
    task: str, rel: str, name: str, event: object, vocabulary: Mapping[str, int]
) -> Event:
    if not isinstance(event, dict) or not {"label", "start", "end"} <= set(event):
        raise MetadataError(task, rel, "event", f"{name}: events need label, start and end")
    start, end = event["start"], event["end"]
    if not (_is_number(start) and _is_number(end) and math.isfinite(start) and math.isfinite(end)):
        raise MetadataError(task, rel, "event", f"{name}: start and end must be finite numbers")
    if not end + EVENT_END_EPSILON_MS > start:
        # intervaltree refuses a null interval: the embeddings runner could not have run.
        raise MetadataError(task, rel, "event", f"{name}: event ends before it starts")
    return {"label": _label(task, rel, event["label"], vocabulary), "start": start, "end": end}


def official_file_order(
    splits: Sequence[str], split_files: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    """The row order of `memmap_embeddings`: one Random(0), used for each split in turn."""
    prng = random.Random(0)
    order: dict[str, list[str]] = {}
    for split in splits:
        files = list(split_files[split])
        prng.shuffle(files)
        order[split] = files
    return order


# ---------------------------------------------------------------------------------------------
# Per-file arrays and labels


def load_embedding(
    task: str, root: Path, rel: str, ndim: int, max_bytes: int = MAX_EMBEDDING_BYTES
) -> np.ndarray:
    """A per-file `.embedding.npy`: no pickle, float32, `ndim` dimensions, all finite; its
    header's shape is checked against the file's size and `max_bytes` before it is read."""
    try:
        array = untrusted.read_npy(root / rel, max_bytes)
    except untrusted.UntrustedFileError as exc:
        raise EmbeddingError(task, rel, exc.check, exc.detail) from None
    if array.dtype != np.dtype(np.float32):
        raise EmbeddingError(task, rel, "dtype", f"dtype {array.dtype}, expected float32")
    if array.ndim != ndim:
        raise EmbeddingError(task, rel, "shape", f"shape {array.shape}, expected {ndim} dimensions")
    if array.shape[-1] == 0:
        raise EmbeddingError(task, rel, "shape", f"shape {array.shape}: empty embedding")
    if not np.isfinite(array).all():
        raise EmbeddingError(task, rel, "finite", "NaN or infinite values")
    return array


def _multi_hot(labels: Sequence[str], vocabulary: Mapping[str, int]) -> np.ndarray:
    row = np.zeros(len(vocabulary), dtype=np.float32)
    for label in labels:
        row[vocabulary[label]] = 1.0
    return row


def _label_list(task: str, rel: str, value: object, vocabulary: Mapping[str, int]) -> list[str]:
    if not isinstance(value, list):
        raise EmbeddingError(task, rel, "target-labels", "expected a list of labels")
    try:
        return [_label(task, rel, v, vocabulary) for v in value]
    except MetadataError as exc:
        raise EmbeddingError(task, rel, "target-labels", exc.detail) from None


def load_scene_file(
    task: str,
    root: Path,
    split: str,
    name: str,
    expected: list[str],
    ctx: _Context,
    width: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One scene file: its embedding (D,) and its multi-hot target row. With `width` (the
    split's embedding size, once known) the file may declare little more than D values (enough
    room to be refused by name: float64, another size)."""
    cap = MAX_EMBEDDING_BYTES if width is None else min(MAX_EMBEDDING_BYTES, 16 * width + 4096)
    emb = load_embedding(task, root, f"{split}/{name}.embedding.npy", 1, cap)
    rel = f"{split}/{name}.target-labels.json"
    raw = read_json(task, root, rel, EmbeddingError, labels_bytes(expected, 1))
    labels = _label_list(task, rel, raw, ctx.vocabulary)
    if labels != expected:
        raise EmbeddingError(task, rel, "target-labels", f"{labels} differ from {split}.json")
    if ctx.multiclass and len(labels) != 1:
        raise EmbeddingError(task, rel, "target-labels", "multiclass needs exactly one label")
    return emb, _multi_hot(labels, ctx.vocabulary)


def expected_frame_labels(events: Sequence[Event], times: np.ndarray) -> list[set[str]]:
    """Labels per frame by the kit's rule (bot/hear/tasks.py `frame_labels`)."""
    as_read = [TaskEvent(e["label"], e["start"], e["end"]) for e in events]
    return [set(labels) for labels in frame_labels(as_read, times.tolist())]


def _near_bound(events: Sequence[Event], label: str, t: float) -> bool:
    return any(
        min(abs(t - e["start"]), abs(t - (e["end"] + EVENT_END_EPSILON_MS)))
        <= BOUNDARY_TOLERANCE_MS
        for e in events
        if e["label"] == label
    )


def _timestamps(task: str, root: Path, rel: str, frames: int) -> np.ndarray:
    raw = read_json(task, root, rel, EmbeddingError, 64 + MAX_TIMESTAMP_BYTES * frames)
    if not isinstance(raw, list) or len(raw) != frames:
        raise EmbeddingError(task, rel, "timestamps", f"expected a list of {frames} numbers")
    if not all(_is_number(t) and math.isfinite(t) for t in raw):
        raise EmbeddingError(task, rel, "timestamps", "timestamps must be finite numbers")
    return np.array([float(t) for t in raw], dtype=np.float64)


def load_event_file(
    task: str, root: Path, split: str, name: str, events: list[Event], ctx: _Context
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One event file: embeddings (T, D), multi-hot targets (T, L) and timestamps (T,) in ms."""
    emb = load_embedding(task, root, f"{split}/{name}.embedding.npy", 2)
    times = _timestamps(task, root, f"{split}/{name}.timestamps.json", emb.shape[0])
    rel = f"{split}/{name}.target-labels.json"
    cap = labels_bytes([event["label"] for event in events], emb.shape[0])
    raw = read_json(task, root, rel, EmbeddingError, cap)
    if not isinstance(raw, list) or len(raw) != emb.shape[0]:
        raise EmbeddingError(task, rel, "target-labels", f"expected {emb.shape[0]} frame lists")
    frames = [_label_list(task, rel, frame, ctx.vocabulary) for frame in raw]
    for i, (given, want) in enumerate(
        zip(frames, expected_frame_labels(events, times), strict=True)
    ):
        for label in set(given) ^ want:
            if not _near_bound(events, label, float(times[i])):
                raise EmbeddingError(
                    task, rel, "target-labels", f"frame {i} ({times[i]} ms) disagrees on {label!r}"
                )
    y = np.stack([_multi_hot(f, ctx.vocabulary) for f in frames]) if frames else None
    if y is None:
        y = np.zeros((0, len(ctx.vocabulary)), dtype=np.float32)
    if ctx.multiclass and not (y.sum(axis=1) == 1).all():
        raise EmbeddingError(task, rel, "target-labels", "multiclass needs one label per frame")
    return emb, y, times


@dataclass(frozen=True)
class _Context:
    vocabulary: Mapping[str, int]
    multiclass: bool


def labels_bytes(labels: Sequence[str], frames: int) -> int:
    """The most a `.target-labels.json` can need: `frames` lists, each of at most `labels` (a
    scene clip's labels, or the label of every event of an event clip), indented JSON."""
    per_frame = 32 + sum(len(json.dumps(label)) + 16 for label in labels)
    return 1024 + per_frame * max(frames, 1)


class RowWriter:
    """Blocks of rows (float32 embeddings and targets) appended one after another, then read
    back as one (N, width) array of the blocks' dtype: memory-mapped from an unnamed file in
    `spill_dir`, or concatenated in memory when `spill_dir` is None. The mapping is
    copy-on-write, so the array is writable (torch takes it without a copy) and the file is
    never changed; the file's space is freed with the array."""

    def __init__(self, spill_dir: Path | None) -> None:
        self.spill_dir = spill_dir
        self.blocks: list[np.ndarray] = []
        self.file: Any = None
        self.rows = 0
        self.width: int | None = None
        self.dtype = np.dtype(np.float32)

    def append(self, block: np.ndarray) -> None:
        """Append a 2-D block; every block must have the same width (checked by the caller)."""
        block = np.ascontiguousarray(block)
        self.width, self.dtype = block.shape[1], block.dtype
        self.rows += block.shape[0]
        if self.spill_dir is None:
            self.blocks.append(block)
            return
        if self.file is None:
            # Closed by finish(); an unnamed file left by an error vanishes with its handle.
            self.file = tempfile.TemporaryFile(dir=self.spill_dir, prefix="hearbot-rows-")  # noqa: SIM115
        self.file.write(block.tobytes())

    def finish(self, width: int) -> np.ndarray:
        """All rows as one (N, width) array (`width` is used when none came)."""
        width = self.width if self.width is not None else width
        if self.spill_dir is None:
            if not self.blocks:
                return np.zeros((0, width), dtype=self.dtype)
            return np.ascontiguousarray(np.concatenate(self.blocks))
        if self.file is None:
            return np.zeros((0, width), dtype=self.dtype)
        with self.file:
            if self.rows == 0 or width == 0:  # nothing to map (mmap refuses an empty file)
                return np.zeros((0, width), dtype=self.dtype)
            self.file.flush()
            return np.memmap(self.file, dtype=self.dtype, mode="c", shape=(self.rows, width))


def stacked(arrays: Sequence[np.ndarray], spill_dir: Path | None) -> np.ndarray:
    """`np.concatenate(arrays)` of 2-D arrays of one dtype, memory-mapped when `spill_dir` is
    set."""
    writer = RowWriter(spill_dir)
    for array in arrays:
        writer.append(array)
    return writer.finish(arrays[0].shape[1] if arrays else 0)


def _check_split_dir(task: str, root: Path, split: str) -> None:
    try:
        mode = os.lstat(root / split).st_mode
    except OSError:
        raise EmbeddingError(task, split, "missing", "split directory not found") from None
    if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
        raise EmbeddingError(task, split, "not-a-directory", "must be a real directory")


def load_split_rows(
    task: str,
    root: Path,
    metadata: TaskMetadata,
    split: str,
    files: list[str],
    split_json: Mapping[str, Any],
    ctx: _Context,
    spill_dir: Path | None = None,
) -> Rows:
    """All rows of one split, files in the given (official) order, streamed file by file into
    a `RowWriter` (memory-mapped when `spill_dir` is set)."""
    _check_split_dir(task, root, split)
    if not files:
        raise MetadataError(task, f"{split}.json", "empty", "the split has no files")
    xs, ys = RowWriter(spill_dir), RowWriter(spill_dir)
    event = metadata.embedding_type == "event"
    row_file: list[np.ndarray] = []
    row_time: list[np.ndarray] = []
    for index, name in enumerate(files):
        if event:
            emb, y, times = load_event_file(task, root, split, name, split_json[name], ctx)
            row_file.append(np.full(len(times), index, dtype=np.int64))
            row_time.append(times)
        else:
            emb, y = load_scene_file(task, root, split, name, split_json[name], ctx, xs.width)
            emb, y = emb[None, :], y[None, :]
        if xs.width is not None and emb.shape[1] != xs.width:
            raise EmbeddingError(
                task, split, "shape", f"embedding sizes differ: {sorted({xs.width, emb.shape[1]})}"
            )
        xs.append(emb)
        ys.append(y)
    x, y_all = xs.finish(xs.width or 0), ys.finish(len(ctx.vocabulary))
    if not event:
        return Rows(files=files, x=x, y=y_all)
    return Rows(
        files=files,
        x=x,
        y=y_all,
        row_file=np.concatenate(row_file),
        row_time=np.concatenate(row_time),
        reference_events={name: split_json[name] for name in files},
    )


def load_task(
    task_dir: Path, metadata_dir: Path | None = None, spill_dir: Path | None = None
) -> TaskData:
    """Load and check a whole embedding task directory.

    ``metadata_dir``: where task_metadata.json, labelvocabulary.csv and the split JSONs are
    read from instead (the original task, when the embeddings come from untrusted code).
    ``spill_dir``: where rows are spilled to unnamed files and memory-mapped (None: in RAM).
    """
    root = Path(task_dir)
    meta = Path(metadata_dir) if metadata_dir is not None else root
    task = root.name
    if not root.is_dir():
        raise MetadataError(task, "", "missing", f"{root} is not a directory")
    metadata = read_metadata(task, meta)
    labels = read_vocabulary(task, meta)
    if metadata.embedding_type == "event" and any(label.lower() == "none" for label in labels):
        # dcase_util turns an event label "none" into None: sed_eval could not score it.
        raise MetadataError(task, "labelvocabulary.csv", "csv", "event label 'none' is reserved")
    vocabulary = {label: i for i, label in enumerate(labels)}
    split_jsons = {s: read_split(task, meta, s, metadata, vocabulary) for s in metadata.splits}
    order = official_file_order(metadata.splits, split_jsons)
    ctx = _Context(vocabulary, metadata.prediction_type == "multiclass")
    splits = {
        s: load_split_rows(task, root, metadata, s, order[s], split_jsons[s], ctx, spill_dir)
        for s in metadata.splits
    }
    dims = {rows.x.shape[1] for rows in splits.values()}
    if len(dims) != 1:
        raise EmbeddingError(task, "", "shape", f"embedding sizes differ across splits: {dims}")
    return TaskData(task, metadata, labels, dims.pop(), splits, spill_dir)


def load_rows(
    task_dir: Path, metadata_dir: Path | None, root: Path, split: str, files: Sequence[str]
) -> Rows:
    """Rows of some files of one split, read from ``root`` (a task's embeddings, or its canary
    copies under ``<task>/canary``) with the task's metadata (``metadata_dir``, else
    ``task_dir``), in the order given, in memory."""
    meta = Path(metadata_dir) if metadata_dir is not None else Path(task_dir)
    task = Path(task_dir).name
    metadata = read_metadata(task, meta)
    labels = read_vocabulary(task, meta)
    vocabulary = {label: i for i, label in enumerate(labels)}
    split_json = read_split(task, meta, split, metadata, vocabulary)
    for name in files:
        if name not in split_json:
            raise MetadataError(task, f"{split}.json", "missing", f"{name} is not in {split}")
    ctx = _Context(vocabulary, metadata.prediction_type == "multiclass")
    return load_split_rows(task, root, metadata, split, list(files), split_json, ctx, None)


def concat_rows(task: str, parts: Sequence[Rows], spill_dir: Path | None = None) -> Rows:
    """Splits concatenated in the given order (the kit's ConcatDataset of folds); the rows
    memory-mapped when `spill_dir` is set."""
    if len(parts) == 1:
        return parts[0]
    files: list[str] = []
    row_file: list[np.ndarray] = []
    references: dict[str, list[Event]] = {}
    event = parts[0].row_time is not None
    for part in parts:
        if part.row_file is not None:
            row_file.append(part.row_file + len(files))
        for name in part.files if event else ():
            if name in references:
                raise MetadataError(task, "", "duplicate-file", f"{name} is in two splits")
            references[name] = part.reference_events[name]
        files.extend(part.files)
    return Rows(
        files=files,
        x=stacked([p.x for p in parts], spill_dir),
        y=stacked([p.y for p in parts], spill_dir),
        row_file=np.concatenate(row_file) if event else None,
        row_time=np.concatenate([p.row_time for p in parts if p.row_time is not None])
        if event
        else None,
        reference_events=references if event else {},
    )
