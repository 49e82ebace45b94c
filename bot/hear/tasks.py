"""Reading and checking a HEAR task directory (the hear-preprocess layout).

```
<task>-<version>-<mode>/
  task_metadata.json
  labelvocabulary.csv                 idx,label
  <split>.json                        one per entry of metadata "splits"
  <sample_rate>/<split>/<file>.wav    mono PCM16, sample_duration long unless it is null
```

`read_task` parses and checks the metadata, the vocabulary and every split file (structure,
labels in the vocabulary, event intervals). `check_audio` checks the WAV files of one sample
rate cheaply (headers only, via ``soundfile.info``; ``decode=True`` also reads every sample).
`check_task` does both. Every problem raises `TaskError`, which names the task, the file and
the check that failed, and says what to fix.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from bot.common import strict_json

EMBEDDING_TYPES = ("scene", "event")
PREDICTION_TYPES = ("multiclass", "multilabel")
SPLIT_MODES = ("trainvaltest", "presplit_kfold", "new_split_kfold")
TRAINVALTEST_SPLITS = ("train", "valid", "test")
METADATA_FILE = "task_metadata.json"
VOCABULARY_FILE = "labelvocabulary.csv"
# hear-preprocess pads/trims at the source rate, then resamples: when sample_duration times the
# sample rate is not a whole number, a file may have either neighbouring length.
LENGTH_TOLERANCE_SAMPLES = 1.0
# The kit's `get_labels_for_timestamps` adds this (ms) to each event's end before the interval
# query: a frame at t carries the events with start <= t < end + EVENT_END_EPSILON_MS.
EVENT_END_EPSILON_MS = 0.0001
# Strings pandas reads as NaN by default: the official kit reads labelvocabulary.csv with
# pandas, so such a label would not survive the round trip. Listed here because this module
# runs in the sandboxed worker, which has no pandas; trusted code reads the file with pandas
# itself (bot/evaluation/embeddings.py), and a test pins this list to pandas' behaviour.
PANDAS_NA_STRINGS = frozenset(
    [
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    ]
)
_INT_RE = re.compile(r"[+-]?[0-9]+")

if TYPE_CHECKING:
    Label = str | int  # a label as it appears in split JSON


class LocatedError(Exception):
    """A problem that names its task, its file (or batch) and the check that failed."""

    def __init__(self, task: str, file: str, check: str, message: str) -> None:
        self.task = task
        self.file = file
        self.check = check
        self.message = message
        super().__init__(f"task {task}: {file}: {check}: {message}")


class TaskError(LocatedError):
    """A task directory that the official kit could not use, or would use wrongly."""


@dataclass(frozen=True)
class TaskMetadata:
    """The fields of task_metadata.json that evaluation depends on (the rest is in `raw`)."""

    task_name: str
    embedding_type: str
    prediction_type: str
    split_mode: str
    splits: tuple[str, ...]
    sample_duration: float | None
    evaluation: tuple[str, ...]
    use_scoring_for_early_stopping: bool = True
    evaluation_params: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def primary_metric(self) -> str:
        return self.evaluation[0]


@dataclass(frozen=True)
class LabelVocabulary:
    """labelvocabulary.csv: labels in index order (as strings, the way the kit compares them)."""

    labels: tuple[str, ...]
    _positions: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_positions", {lbl: i for i, lbl in enumerate(self.labels)})

    def index(self, label: Label) -> int:
        return self._positions[str(label)]

    def __contains__(self, label: object) -> bool:
        return str(label) in self._positions

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Event:
    """One labelled interval of an event task, in milliseconds."""

    label: Label
    start: float
    end: float

    def as_json(self) -> dict[str, Any]:
        return {"label": self.label, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class SplitItem:
    """One entry of a split file, in file order. `labels` for scene tasks, `events` for event
    tasks; labels keep their JSON type (int or str), as the kit writes them back."""

    file: str
    labels: tuple[Label, ...] = ()
    events: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Task:
    path: Path
    metadata: TaskMetadata
    vocabulary: LabelVocabulary
    splits: dict[str, tuple[SplitItem, ...]]

    @property
    def name(self) -> str:
        """The directory name (e.g. ``nsynth_pitch-v2.2.3-5h``), as the kit names outputs."""
        return self.path.name

    def audio_dir(self, sample_rate: int, split: str) -> Path:
        return self.path / str(sample_rate) / split

    def wav_path(self, sample_rate: int, split: str, file: str) -> Path:
        return self.audio_dir(sample_rate, split) / file

    def expected_frames(self, sample_rate: int) -> float | None:
        if self.metadata.sample_duration is None:
            return None
        return self.metadata.sample_duration * sample_rate

    @property
    def n_items(self) -> int:
        return sum(len(items) for items in self.splits.values())


@dataclass(frozen=True)
class AudioSummary:
    """What `check_audio` saw: file counts and lengths per split."""

    sample_rate: int
    files: dict[str, int]
    frames: dict[str, int]
    lengths: dict[str, dict[str, int]] = field(repr=False, default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(self.frames.values()) / self.sample_rate


# ---------------------------------------------------------------------------------------------
# Reading


def find_tasks(tasks_dir: Path) -> list[Path]:
    """The task directories in `tasks_dir` (those holding task_metadata.json), sorted."""
    tasks_dir = Path(tasks_dir)
    if not tasks_dir.is_dir():
        raise TaskError(
            tasks_dir.name, str(tasks_dir), "tasks-dir", "is not a directory of HEAR tasks"
        )
    return sorted(p for p in tasks_dir.iterdir() if (p / METADATA_FILE).is_file())


def read_task(task_dir: Path) -> Task:
    """Parse and check metadata, vocabulary and every split file (not the audio)."""
    task_dir = Path(task_dir)
    name = task_dir.name
    if not task_dir.is_dir():
        raise TaskError(name, str(task_dir), "task-dir", "is not a directory")
    metadata = read_metadata(task_dir)
    vocabulary = read_vocabulary(task_dir)
    splits: dict[str, tuple[SplitItem, ...]] = {}
    seen: dict[str, str] = {}
    for split in metadata.splits:
        items = read_split(task_dir, split, metadata, vocabulary)
        for item in items:
            if item.file in seen:
                raise TaskError(
                    name,
                    f"{split}.json",
                    "split-overlap",
                    f"{item.file!r} is also in {seen[item.file]}.json; a clip belongs to one "
                    "split only",
                )
            seen[item.file] = split
        splits[split] = items
    return Task(path=task_dir, metadata=metadata, vocabulary=vocabulary, splits=splits)


def _load_json(task: str, path: Path, missing_check: str) -> Any:
    if not path.is_file():
        raise TaskError(task, path.name, missing_check, "is missing")
    try:
        text = path.read_bytes().decode("utf-8")
        return strict_json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise TaskError(task, path.name, "json", f"is not valid UTF-8 JSON: {exc}") from exc


def read_metadata(task_dir: Path) -> TaskMetadata:
    task = task_dir.name
    raw = _load_json(task, task_dir / METADATA_FILE, "metadata-missing")
    try:
        return parse_metadata(raw)
    except MetadataProblem as problem:
        message = problem.message if problem.key is None else f"{problem.key!r} {problem.message}"
        raise TaskError(task, METADATA_FILE, "metadata-field", message) from None


class MetadataProblem(ValueError):
    """A field of task_metadata.json breaks a rule (``key`` None: the document as a whole).
    Each reader turns it into its own located error (`TaskError` here, the evaluation's
    `MetadataError` in bot/evaluation/embeddings.py)."""

    def __init__(self, key: str | None, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(message if key is None else f"{key!r} {message}")


def parse_metadata(raw: Any) -> TaskMetadata:
    """The one reading of task_metadata.json (the embedding worker's and the evaluation's):
    the fields the kit depends on, checked by its rules. Raises `MetadataProblem`."""
    if not isinstance(raw, dict):
        raise MetadataProblem(None, "must be a JSON object")

    def text(key: str, allowed: tuple[str, ...] | None = None) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value:
            raise MetadataProblem(key, f"must be a non-empty string, not {value!r}")
        if allowed is not None and value not in allowed:
            raise MetadataProblem(key, f"is {value!r}; it must be one of {', '.join(allowed)}")
        return value

    def text_list(key: str) -> tuple[str, ...]:
        value = raw.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v for v in value)
        ):
            raise MetadataProblem(key, f"must be a non-empty list of strings, not {value!r}")
        if len(set(value)) != len(value):
            raise MetadataProblem(key, f"lists a name twice: {value!r}")
        return tuple(value)

    split_mode = text("split_mode", SPLIT_MODES)
    splits = text_list("splits")
    _check_splits(split_mode, splits)
    for split in splits:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", split) or split.startswith("."):
            raise MetadataProblem("splits", f"has {split!r}; split names are plain file names")
    duration = raw.get("sample_duration")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, (int, float))
        or not math.isfinite(duration)
        or duration <= 0
    ):
        raise MetadataProblem(
            "sample_duration", f"must be a positive number of seconds or null, not {duration!r}"
        )
    early = raw.get("use_scoring_for_early_stopping", True)
    if not isinstance(early, bool):
        raise MetadataProblem(
            "use_scoring_for_early_stopping", f"must be true or false, not {early!r}"
        )
    params = raw.get("evaluation_params", {})
    if not isinstance(params, dict):
        raise MetadataProblem("evaluation_params", f"must be an object, not {params!r}")
    _check_evaluation_params(params)
    return TaskMetadata(
        task_name=text("task_name"),
        embedding_type=text("embedding_type", EMBEDDING_TYPES),
        prediction_type=text("prediction_type", PREDICTION_TYPES),
        split_mode=split_mode,
        splits=splits,
        sample_duration=None if duration is None else float(duration),
        evaluation=text_list("evaluation"),
        use_scoring_for_early_stopping=early,
        evaluation_params=params,
        raw=raw,
    )


def _check_splits(split_mode: str, splits: tuple[str, ...]) -> None:
    """The kit's rule (heareval `get_splits_from_metadata`): trainvaltest trains on train,
    selects on valid and tests on test, so those three must be there (other splits are
    embedded but not evaluated); a k-fold task needs at least 3 folds."""
    if split_mode == "trainvaltest" and not set(TRAINVALTEST_SPLITS) <= set(splits):
        raise MetadataProblem(
            "splits", f"is {list(splits)}; trainvaltest needs the splits train, valid, test"
        )
    if split_mode != "trainvaltest" and len(splits) < 3:
        raise MetadataProblem(
            "splits",
            f"is {list(splits)}; {split_mode} needs at least 3 folds (test, valid and train)",
        )


def _check_evaluation_params(params: dict[str, Any]) -> None:
    for key in ("event_postprocessing_grid", "task_specific_param_grid"):
        grid = params.get(key, {})
        if not isinstance(grid, dict) or not all(
            isinstance(values, list) and values for values in grid.values()
        ):
            raise MetadataProblem(
                f"evaluation_params.{key}",
                f"must map parameter names to non-empty lists, not {grid!r}",
            )


def read_vocabulary(task_dir: Path) -> LabelVocabulary:
    task = task_dir.name
    path = task_dir / VOCABULARY_FILE
    if not path.is_file():
        raise TaskError(task, VOCABULARY_FILE, "vocabulary-missing", "is missing")

    def fail(message: str) -> TaskError:
        return TaskError(task, VOCABULARY_FILE, "vocabulary-format", message)

    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise fail(f"is not UTF-8: {exc}") from exc
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or rows[0] != ["idx", "label"]:
        raise fail(f"must start with the header 'idx,label', not {rows[0] if rows else ''!r}")
    labels: list[str] = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != 2:
            raise fail(f"line {line} has {len(row)} fields; each row is idx,label")
        idx, label = row
        if idx != str(len(labels)):
            raise fail(f"line {line} has idx {idx!r}; indices run 0, 1, 2, ... in row order")
        if not label or label in PANDAS_NA_STRINGS:
            raise fail(f"line {line}: the label {label!r} would be read as missing (NaN)")
        labels.append(label)
    if not labels:
        raise fail("has no labels")
    if len(set(labels)) != len(labels):
        dupes = sorted({lbl for lbl in labels if labels.count(lbl) > 1})
        raise fail(f"lists a label twice: {dupes}")
    _check_pandas_round_trip(labels, fail)
    return LabelVocabulary(tuple(labels))


def _check_pandas_round_trip(labels: list[str], fail: Any) -> None:
    """The kit reads the vocabulary with pandas and compares ``str(label)``: a column of
    integers comes back as ints, so '007' would become '7' and match nothing."""
    if all(_INT_RE.fullmatch(label) for label in labels):
        for label in labels:
            if str(int(label)) != label:
                raise fail(
                    f"label {label!r} would be read by the official kit as {int(label)}; "
                    "write integer labels without leading zeros or '+'"
                )


def _json_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_label(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def read_split(
    task_dir: Path, split: str, metadata: TaskMetadata, vocabulary: LabelVocabulary
) -> tuple[SplitItem, ...]:
    task = task_dir.name
    file_name = f"{split}.json"
    data = _load_json(task, task_dir / file_name, "split-missing")
    if not isinstance(data, dict):
        raise TaskError(task, file_name, "split-format", "must be an object {file.wav: labels}")
    if not data:
        raise TaskError(task, file_name, "split-format", "lists no clips")
    parse = _parse_events if metadata.embedding_type == "event" else _parse_scene_labels
    items = []
    for file, value in data.items():
        _check_file_name(task, file_name, file)
        try:
            items.append(parse(file, value, metadata, vocabulary))
        except _LabelProblem as problem:
            raise TaskError(task, file_name, problem.check, f"{file!r}: {problem}") from None
    return tuple(items)


class _LabelProblem(Exception):
    def __init__(self, check: str, message: str) -> None:
        self.check = check
        super().__init__(message)


def _check_file_name(task: str, split_file: str, file: str) -> None:
    if (
        not file.endswith(".wav")
        or "/" in file
        or "\\" in file
        or file.startswith(".")
        or "\x00" in file
    ):
        raise TaskError(
            task,
            split_file,
            "file-name",
            f"{file!r} is not a plain WAV file name (no directories, ends in .wav)",
        )


def _check_label(label: Any, vocabulary: LabelVocabulary) -> None:
    if not _is_label(label):
        raise _LabelProblem("label-format", f"label {label!r} must be a string or an integer")
    if label not in vocabulary:
        raise _LabelProblem(
            "label-unknown",
            f"label {label!r} is not in {VOCABULARY_FILE} (labels compare as strings)",
        )


def _parse_scene_labels(
    file: str, value: Any, metadata: TaskMetadata, vocabulary: LabelVocabulary
) -> SplitItem:
    if not isinstance(value, list):
        raise _LabelProblem("label-format", f"labels must be a list, not {value!r}")
    if metadata.prediction_type == "multiclass" and len(value) != 1:
        raise _LabelProblem(
            "label-format", f"a multiclass clip has exactly one label, not {len(value)}"
        )
    for label in value:
        _check_label(label, vocabulary)
    return SplitItem(file=file, labels=tuple(value))


def _parse_events(
    file: str, value: Any, metadata: TaskMetadata, vocabulary: LabelVocabulary
) -> SplitItem:
    if not isinstance(value, list):
        raise _LabelProblem("event-format", f"events must be a list, not {value!r}")
    events = []
    for position, event in enumerate(value):
        where = f"event {position}"
        if not isinstance(event, dict) or not {"label", "start", "end"} <= set(event):
            raise _LabelProblem(
                "event-format", f"{where} must be an object with label, start and end (ms)"
            )
        _check_label(event["label"], vocabulary)
        start, end = event["start"], event["end"]
        if not (_json_number(start) and _json_number(end)):
            raise _LabelProblem(
                "event-format", f"{where}: start and end must be finite numbers of ms"
            )
        if start < 0 or end < start:
            raise _LabelProblem(
                "event-format", f"{where}: needs 0 <= start <= end, got start {start}, end {end}"
            )
        events.append(Event(label=event["label"], start=float(start), end=float(end)))
    return SplitItem(file=file, events=tuple(events))


# ---------------------------------------------------------------------------------------------
# Frame labels


def frame_labels(events: Sequence[Event], timestamps: Sequence[float]) -> list[list[Label]]:
    """The labels of each frame: events with ``start <= t < end + 0.0001`` (ms), the rule of
    the kit's `get_labels_for_timestamps` (the worker writes these; the evaluation checks the
    worker's against them).

    Identical events count once (the kit's IntervalTree is a set); labels keep the order of
    the events in the split file."""
    unique: list[Event] = list(dict.fromkeys(events))
    bounds = [(e.start, e.end + EVENT_END_EPSILON_MS, e.label) for e in unique]
    result = []
    for value in timestamps:
        t = float(value)
        result.append([label for start, stop, label in bounds if start <= t < stop])
    return result


# ---------------------------------------------------------------------------------------------
# Audio


def available_sample_rates(task_dir: Path) -> list[int]:
    """Sample rates with an audio directory in the task, ascending."""
    return sorted(int(p.name) for p in Path(task_dir).iterdir() if p.is_dir() and p.name.isdigit())


def check_audio(
    task: Task,
    sample_rate: int,
    *,
    decode: bool = False,
    splits: Iterable[str] | None = None,
) -> AudioSummary:
    """Every WAV named by the split files exists at `sample_rate`, mono, of the right length.

    Reads headers only unless `decode` (which also reads every sample, catching truncated
    files whose header claims more data than they hold)."""
    if not task.path.joinpath(str(sample_rate)).is_dir():
        present = available_sample_rates(task.path)
        raise TaskError(
            task.name,
            f"{sample_rate}/",
            "sample-rate-dir",
            f"no audio at {sample_rate} Hz; the task has {present or 'no sample-rate folders'}"
            f" (prepare it at {sample_rate} Hz with hear-preprocess)",
        )
    files: dict[str, int] = {}
    frames: dict[str, int] = {}
    lengths: dict[str, dict[str, int]] = {}
    for split in task.metadata.splits if splits is None else splits:
        split_lengths = {
            item.file: _check_wav(task, sample_rate, split, item.file, decode)
            for item in task.splits[split]
        }
        files[split] = len(split_lengths)
        frames[split] = sum(split_lengths.values())
        lengths[split] = split_lengths
    return AudioSummary(sample_rate=sample_rate, files=files, frames=frames, lengths=lengths)


def _check_wav(task: Task, sample_rate: int, split: str, file: str, decode: bool) -> int:
    path = task.wav_path(sample_rate, split, file)
    where = f"{sample_rate}/{split}/{file}"
    if not path.is_file():
        raise TaskError(task.name, where, "wav-missing", f"is named in {split}.json but missing")
    try:
        info = sf.info(str(path))
    except (RuntimeError, OSError) as exc:
        raise TaskError(
            task.name, where, "wav-unreadable", f"is not readable audio: {exc}"
        ) from exc
    if info.samplerate != sample_rate:
        raise TaskError(
            task.name,
            where,
            "sample-rate",
            f"is {info.samplerate} Hz but sits in the {sample_rate} Hz folder",
        )
    if info.channels != 1:
        raise TaskError(
            task.name, where, "channels", f"has {info.channels} channels; HEAR audio is mono"
        )
    expected = task.expected_frames(sample_rate)
    if expected is not None and abs(info.frames - expected) > LENGTH_TOLERANCE_SAMPLES:
        raise TaskError(
            task.name,
            where,
            "length",
            f"has {info.frames} samples ({info.frames / sample_rate:.4f} s); sample_duration "
            f"{task.metadata.sample_duration} s means {expected:g} samples",
        )
    if decode:
        _decode_wav(task.name, where, path, info.frames)
    return int(info.frames)


def _decode_wav(task: str, where: str, path: Path, frames: int) -> None:
    try:
        audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, OSError) as exc:
        raise TaskError(task, where, "wav-unreadable", f"cannot be decoded: {exc}") from exc
    if audio.shape[0] != frames:
        raise TaskError(
            task,
            where,
            "wav-truncated",
            f"header says {frames} samples but {audio.shape[0]} could be read",
        )
    if not np.isfinite(audio).all():
        raise TaskError(task, where, "wav-samples", "holds NaN or infinite samples")


def check_task(
    task_dir: Path, sample_rates: Iterable[int] | None = None, *, decode: bool = False
) -> tuple[Task, list[AudioSummary]]:
    """The full check: metadata, vocabulary, splits, and the audio at every sample rate given
    (default: every sample-rate folder present; at least one must exist)."""
    task = read_task(task_dir)
    rates = list(sample_rates) if sample_rates is not None else available_sample_rates(task_dir)
    if not rates:
        raise TaskError(task.name, "./", "sample-rate-dir", "has no <sample_rate>/ audio folder")
    return task, [check_audio(task, rate, decode=decode) for rate in rates]
