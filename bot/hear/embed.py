"""Embeddings of every split of every task, in the official kit's per-file layout.

For a task directory ``T`` (name e.g. ``nsynth_pitch-v2.2.3-5h``) and the model's sample rate
``sr``, `embed_task` writes under ``OUT/<T name>/``:

```
task_metadata.json, labelvocabulary.csv, <split>.json      copies of the task's files
<split>/<file>.embedding.npy       scene: float32 (D,); event: float32 (T, D)
<split>/<file>.target-labels.json  scene: the clip's label list; event: one list per frame
<split>/<file>.timestamps.json     event tasks only: the T timestamps in ms
canary.json, canary/<split>/...    with a canary: the plan and the perturbed copies' files
embeddings.done.json               completion marker, written last (see below)
```

``<file>`` keeps its ``.wav``. Clips are read from ``T/<sr>/<split>/`` as float32 and passed
whole, in a random order that mixes the splits (a clip's embedding does not depend on its
batch; in verification the order hides which split a clip is from): batches of the kit's
estimated size (``0.7 · 120 / sample_duration · 16000 / sr``, at least 1, here at most
`max_batch_size`) for fixed-length tasks; a variable-length task's clips are grouped by exact
length, each group batched at the estimate for its length (the kit runs them one by one). A
thread decodes the next batches while the model computes, and another writes the last batch's
files (`OrderedWriter`): reading, the model and writing overlap. On a GPU the first batch is
measured (peak memory per second of audio) and later batches grow to what the device's free
memory holds (`BatchSizer`, never above `max_batch_size`); a batch the device has no memory
for is halved (and halved again) instead of failing, and no later batch is larger than one
that fitted. A clip's embedding does not depend on its batch (HEAR API), so sizes change speed
only.

A frame at timestamp ``t`` carries every event label with ``start <= t < end + 0.0001`` (ms),
the half-open interval the kit's ``IntervalTree`` query gives, compared in float64.

Every file is written atomically. The marker (atomic, last) records the model, sample rate,
counts and seconds; a task with a marker for the same model is skipped, and a marker for
another model is an error. A run that was killed resumes where it stopped: the partial marker
(written first) names the model, and each clip whose files are all there is kept (its labels
file is written last). A task directory without a partial marker for this model is deleted
and redone. No pickles.
"""

from __future__ import annotations

import contextlib
import io
import json
import queue
import random
import secrets
import shutil
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO, TypeVar

import numpy as np
import soundfile as sf
import torch

from bot.common.fileio import sha256_of, write_atomic
from bot.hear import api, canary
from bot.hear.canary import CANARY_DIR, Perturbation
from bot.hear.progress import Progress
from bot.hear.tasks import (
    METADATA_FILE,
    VOCABULARY_FILE,
    LocatedError,
    SplitItem,
    Task,
    TaskError,
    check_audio,
    find_tasks,
    frame_labels,
    read_task,
)

MARKER = "embeddings.done.json"
PARTIAL_MARKER = "embeddings.partial.json"
MARKER_FORMAT = "hearbot.embeddings/1"
DEFAULT_MAX_BATCH_SIZE = 256
PREFETCH_BATCHES = 2
# Batches whose files may wait to be written while the model computes the next ones.
WRITE_BEHIND_BATCHES = 2
# Share of the device's free memory that grown batches may use (the rest absorbs the
# allocator's fragmentation and what the measurement of one batch did not see).
MEMORY_FRACTION = 0.8
T = TypeVar("T")

if TYPE_CHECKING:
    pass


class EmbedError(LocatedError):
    """Embedding failed; names the task, the file (or batch) and the check."""

    clip: Clip | None = None
    """The clip that failed, where the model's own error was pinned to one."""


@dataclass(frozen=True)
class Clip:
    """One clip to embed: a split's file, or (``perturbation`` set) its canary copy."""

    split: str
    item: SplitItem
    perturbation: Perturbation | None = None

    def describe(self) -> str:
        where = f"{self.split}/{self.item.file}"
        return f"{CANARY_DIR}/{where}" if self.perturbation is not None else where


@dataclass(frozen=True)
class Batch:
    clips: tuple[Clip, ...]
    audio: np.ndarray  # float32 (n, samples)

    @property
    def items(self) -> tuple[SplitItem, ...]:
        return tuple(clip.item for clip in self.clips)

    def describe(self) -> str:
        first = self.clips[0].describe()
        return first if len(self.clips) == 1 else f"{first} (batch of {len(self.clips)})"


# ---------------------------------------------------------------------------------------------
# Batching


def estimated_batch_size(
    sample_duration: float | None, sample_rate: int, max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
) -> int:
    """The official runner's estimate, bounded by `max_batch_size`; 1 for variable length."""
    if sample_duration is None:
        return 1
    estimate = int(0.7 * (120 / sample_duration) * (16000 / sample_rate))
    return max(1, min(max_batch_size, estimate))


class DeviceMemory(Protocol):
    """What batch sizing needs to know about the device's memory."""

    def peak_of(self, call: Callable[[], T]) -> tuple[T, int]:
        """`call()`'s result and the most memory (bytes) it held at once above what was held
        before it."""
        ...

    def headroom(self) -> int:
        """Bytes this process could still allocate on the device."""
        ...


class CudaMemory:
    """`DeviceMemory` of a CUDA device, from torch's caching allocator and the driver."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def peak_of(self, call: Callable[[], T]) -> tuple[T, int]:
        torch.cuda.synchronize(self.device)
        before = torch.cuda.memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        result = call()
        torch.cuda.synchronize(self.device)
        return result, torch.cuda.max_memory_allocated(self.device) - before

    def headroom(self) -> int:
        free, _ = torch.cuda.mem_get_info(self.device)
        cached = torch.cuda.memory_reserved(self.device) - torch.cuda.memory_allocated(self.device)
        return int(free + cached)


def device_memory(device: torch.device) -> DeviceMemory | None:
    """How to measure `device`'s memory; None where batches are not sized by memory (CPU)."""
    return CudaMemory(device) if device.type == "cuda" else None


@dataclass
class BatchSizer:
    """Batch sizes of one task: the kit's estimate until a batch has been measured on the
    device, then as many clips as `MEMORY_FRACTION` of the free memory holds at the measured
    bytes per second of audio (never fewer than the estimate, never more than
    `max_batch_size`); after an out-of-memory, never more than what was then tried halved.

    The reader thread calls `size` while the model thread measures and halves; each update is
    a single attribute assignment, and a stale read only forms one batch at the older size."""

    max_batch_size: int
    memory: DeviceMemory | None = None
    fraction: float = MEMORY_FRACTION
    bytes_per_second: float | None = None
    headroom_bytes: int | None = None
    ceiling: int | None = None
    largest: int = 0
    hinted: int | None = None
    """Clips per batch the model's own process says its device would take (a sandboxed
    model sizes its batches by its device's memory there, bot/hear/serve.py)."""

    def size(self, duration: float | None, sample_rate: int) -> int:
        """Clips per batch for clips of `duration` seconds (None: variable length, one)."""
        size = estimated_batch_size(duration, sample_rate, self.max_batch_size)
        if duration and self.bytes_per_second and self.headroom_bytes is not None:
            fits = int(self.fraction * self.headroom_bytes / (self.bytes_per_second * duration))
            size = max(size, min(self.max_batch_size, fits))
        if self.hinted is not None:
            size = max(size, min(self.max_batch_size, self.hinted))
        if self.ceiling is not None:
            size = min(size, self.ceiling)
        return max(1, size)

    @property
    def measuring(self) -> bool:
        """Whether the next batch that runs should be measured."""
        return self.memory is not None and self.bytes_per_second is None

    def measured(self, peak_bytes: int, audio_seconds: float) -> None:
        """Record one successful batch's peak memory; a model whose memory torch does not see
        (peak 0) keeps the estimate."""
        assert self.memory is not None
        if peak_bytes > 0 and audio_seconds > 0:
            self.headroom_bytes = self.memory.headroom()
            self.bytes_per_second = peak_bytes / audio_seconds
        else:
            self.memory = None

    def out_of_memory(self, tried: int) -> None:
        """A batch of `tried` clips did not fit: from now on at most half of it."""
        half = max(1, tried // 2)
        self.ceiling = half if self.ceiling is None else min(self.ceiling, half)

    def ran(self, clips: int) -> None:
        """A batch of `clips` clips was embedded."""
        self.largest = max(self.largest, clips)

    def summary(self) -> dict[str, Any]:
        """What the task's marker records about batch sizes."""
        return {
            "sized_by_device_memory": self.bytes_per_second is not None,
            "bytes_per_audio_second": None
            if self.bytes_per_second is None
            else round(self.bytes_per_second),
            "headroom_bytes": self.headroom_bytes,
            "memory_fraction": self.fraction if self.bytes_per_second is not None else None,
            "max_batch_size": self.max_batch_size,
            "largest_batch": self.largest,
            "ceiling_after_out_of_memory": self.ceiling,
        }


def _read_clip(task: Task, sample_rate: int, clip: Clip) -> np.ndarray:
    split, file = clip.split, clip.item.file
    path = task.wav_path(sample_rate, split, file)
    try:
        audio, rate = sf.read(str(path), dtype="float32")
    except (RuntimeError, OSError) as exc:
        raise TaskError(
            task.name, f"{sample_rate}/{split}/{file}", "wav-unreadable", str(exc)
        ) from exc
    if rate != sample_rate or audio.ndim != 1:
        raise TaskError(
            task.name,
            f"{sample_rate}/{split}/{file}",
            "wav-format",
            f"is {rate} Hz with shape {audio.shape}; expected mono at {sample_rate} Hz",
        )
    return audio if clip.perturbation is None else clip.perturbation.apply(audio)


def _consecutive(
    task: Task, sample_rate: int, clips: Sequence[Clip], size_now: Callable[[], int]
) -> Iterator[Batch]:
    """``clips`` in the order given, `size_now()` (asked before each batch) at a time; a batch
    is cut where the length changes (which the kit would not survive either)."""
    begin = 0
    while begin < len(clips):
        chunk = clips[begin : begin + max(1, size_now())]
        begin += len(chunk)
        audio = [_read_clip(task, sample_rate, clip) for clip in chunk]
        run_start = 0
        for index in range(1, len(chunk) + 1):
            if index == len(chunk) or audio[index].shape != audio[run_start].shape:
                yield Batch(tuple(chunk[run_start:index]), np.stack(audio[run_start:index]))
                run_start = index


def iter_batches(
    task: Task,
    sample_rate: int,
    split: str,
    batch_size: int | Callable[[], int],
    items: Sequence[SplitItem] | None = None,
) -> Iterator[Batch]:
    """Consecutive clips of one split (``items``, default the whole split) in split-file order,
    `batch_size` (or what it returns, asked before each batch) at a time."""
    items = task.splits[split] if items is None else items
    size_now = batch_size if callable(batch_size) else lambda: batch_size
    yield from _consecutive(task, sample_rate, [Clip(split, item) for item in items], size_now)


def length_buckets(
    task: Task,
    sample_rate: int,
    split: str,
    items: Sequence[SplitItem],
    max_batch_size: int | BatchSizer,
) -> Iterator[tuple[SplitItem, ...]]:
    """One split's clips grouped by exact length (see `_length_groups`)."""
    frames = {item.file: _frames(task, sample_rate, split, item.file) for item in items}
    clips = [Clip(split, item) for item in items]
    for group in _length_groups(
        clips, lambda clip: frames[clip.item.file], sample_rate, max_batch_size
    ):
        yield tuple(clip.item for clip in group)


def _frames(task: Task, sample_rate: int, split: str, file: str) -> int:
    path = task.wav_path(sample_rate, split, file)
    try:
        return int(sf.info(str(path)).frames)
    except (RuntimeError, OSError) as exc:
        raise TaskError(
            task.name, f"{sample_rate}/{split}/{file}", "wav-unreadable", str(exc)
        ) from exc


def _length_groups(
    clips: Sequence[Clip],
    frames_of: Callable[[Clip], int],
    sample_rate: int,
    max_batch_size: int | BatchSizer,
) -> Iterator[tuple[Clip, ...]]:
    """A variable-length task's clips grouped by exact length, shortest first, each group (in
    the order given) cut into batches of the size for that length (the kit's estimate, or what
    a `BatchSizer` says as each batch is cut): whole clips, never two lengths in one batch, and
    far fewer model calls than one clip at a time (which is what the kit does; a clip's
    embedding does not depend on its batch)."""
    sizer = max_batch_size if isinstance(max_batch_size, BatchSizer) else BatchSizer(max_batch_size)
    by_length: dict[int, list[Clip]] = {}
    for clip in clips:
        by_length.setdefault(frames_of(clip), []).append(clip)
    for frames in sorted(by_length):
        group = by_length[frames]
        begin = 0
        while begin < len(group):
            size = sizer.size(max(frames, 1) / sample_rate, sample_rate)
            yield tuple(group[begin : begin + size])
            begin += size


def _batches(
    task: Task,
    sample_rate: int,
    clips: Sequence[Clip],
    sizer: BatchSizer,
    lengths: Mapping[str, Mapping[str, int]],
) -> Iterator[Batch]:
    duration = task.metadata.sample_duration
    if duration is not None:
        yield from _consecutive(task, sample_rate, clips, lambda: sizer.size(duration, sample_rate))
        return
    groups = _length_groups(
        clips, lambda clip: lengths[clip.split][clip.item.file], sample_rate, sizer
    )
    for group in groups:
        yield Batch(group, np.stack([_read_clip(task, sample_rate, clip) for clip in group]))


def prefetched(batches: Iterator[T], depth: int) -> Iterator[T]:
    """``batches`` read ahead by a thread, ``depth`` at most, so that decoding the next clips
    (libsndfile releases the GIL) or reading them from a pipe overlaps the model's compute.
    Errors surface in order."""
    slots: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                if stop.is_set():
                    return
                slots.put(("batch", batch))
            slots.put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            slots.put(("error", exc))

    reader = threading.Thread(target=read, name="hearbot-audio-reader", daemon=True)
    reader.start()
    try:
        while True:
            kind, value = slots.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while reader.is_alive():  # unblock a reader waiting on a full queue
            with contextlib.suppress(queue.Empty):
                slots.get(timeout=0.1)


# ---------------------------------------------------------------------------------------------
# Calling the model


def _embed_batch(
    model: api.HearModel, kind: str, task_name: str, batch: Batch, sizer: BatchSizer
) -> tuple[np.ndarray, np.ndarray | None]:
    """(embeddings, timestamps or None) for a batch of a ``kind`` ("scene" or "event") task;
    on failure an `EmbedError` naming the clip (its ``clip``). A batch that does not fit in the
    device's memory is halved (and halved again) instead of failing. The first batch that runs
    is measured when the sizer asks for it."""
    try:
        if sizer.measuring and sizer.memory is not None:
            result, peak = sizer.memory.peak_of(lambda: _call(model, kind, batch.audio))
            sizer.measured(peak, batch.audio.size / model.sample_rate)
        else:
            result = _call(model, kind, batch.audio)
    except api.ModelAPIError as exc:
        if len(batch.clips) > 1 and _out_of_memory(exc):
            sizer.out_of_memory(len(batch.clips))
            return _in_halves(model, kind, task_name, batch, sizer)
        if len(batch.clips) > 1:
            _pinpoint(model, kind, task_name, batch)
        raise _model_error(task_name, batch.clips[0], batch.describe(), exc) from exc
    sizer.ran(len(batch.clips))
    return result


def _out_of_memory(exc: api.ModelAPIError) -> bool:
    return "out of memory" in exc.message.lower()


def _in_halves(
    model: api.HearModel, kind: str, task_name: str, batch: Batch, sizer: BatchSizer
) -> tuple[np.ndarray, np.ndarray | None]:
    if model.device.type == "cuda":
        torch.cuda.empty_cache()
    middle = len(batch.clips) // 2
    halves = [
        Batch(batch.clips[:middle], batch.audio[:middle]),
        Batch(batch.clips[middle:], batch.audio[middle:]),
    ]
    results = [_embed_batch(model, kind, task_name, half, sizer) for half in halves]
    embeddings = np.concatenate([result[0] for result in results])
    if results[0][1] is None:
        return embeddings, None
    return embeddings, np.concatenate([result[1] for result in results if result[1] is not None])


def _call(
    model: api.HearModel, kind: str, audio: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    if kind == "scene":
        return model.scene_embeddings(audio), None
    return model.timestamp_embeddings(audio)


def _pinpoint(model: api.HearModel, kind: str, task_name: str, batch: Batch) -> None:
    """Re-run a failed batch clip by clip; raise for the first clip that fails alone."""
    for position, clip in enumerate(batch.clips):
        try:
            _call(model, kind, batch.audio[position : position + 1])
        except api.ModelAPIError as exc:
            raise _model_error(task_name, clip, clip.describe(), exc) from exc


def _model_error(task_name: str, clip: Clip, where: str, exc: api.ModelAPIError) -> EmbedError:
    message = exc.message
    if _out_of_memory(exc):
        message += " (try a smaller --max-batch-size)"
    error = EmbedError(task_name, where, exc.check, message)
    error.clip = clip
    return error


class Embedder(Protocol):
    """What embeds a task's batches: the model in this process (`InProcess`), or the model in
    the sandbox, fed through a stream (bot/verify/streamed.py)."""

    sample_rate: int

    def identity(self) -> dict[str, Any]:
        """The model as recorded in markers."""
        ...

    def environment(self) -> dict[str, Any]:
        """Where it runs: device and Python packages, as recorded in markers."""
        ...

    def embed(
        self, kind: str, task_name: str, batches: Iterator[Batch], sizer: BatchSizer
    ) -> Iterator[tuple[Batch, np.ndarray, np.ndarray | None]]:
        """Each batch (in the order given) with its embeddings and timestamps (event)."""
        ...


@dataclass
class InProcess:
    """The model loaded in this process; batches are read ahead by a thread."""

    model: api.HearModel

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate

    def identity(self) -> dict[str, Any]:
        return model_identity(self.model)

    def environment(self) -> dict[str, Any]:
        return {"device": str(self.model.device), **api.python_summary()}

    def embed(
        self, kind: str, task_name: str, batches: Iterator[Batch], sizer: BatchSizer
    ) -> Iterator[tuple[Batch, np.ndarray, np.ndarray | None]]:
        for batch in prefetched(batches, PREFETCH_BATCHES):
            yield (batch, *_embed_batch(self.model, kind, task_name, batch, sizer))


# ---------------------------------------------------------------------------------------------
# Writing


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array, dtype=np.float32), allow_pickle=False)
    return buffer.getvalue()


def _clip_dir(out_task: Path, clip: Clip) -> Path:
    base = out_task / CANARY_DIR if clip.perturbation is not None else out_task
    return base / clip.split


def _write_outputs(
    task: Task,
    out_task: Path,
    batch: Batch,
    embeddings: np.ndarray,
    timestamps: np.ndarray | None,
) -> int:
    """Write each clip's files; returns the number of clips written."""
    for position, clip in enumerate(batch.clips):
        stem = _clip_dir(out_task, clip) / clip.item.file
        # Not flushed to disk one by one (that cost more than the model on small clips): a
        # rename still never exposes half a file, and the strict readers catch what a power
        # loss could leave.
        write_atomic(Path(f"{stem}.embedding.npy"), _npy_bytes(embeddings[position]), durable=False)
        if timestamps is None:
            labels = json.dumps(list(clip.item.labels))
        else:
            clip_ts = timestamps[position]
            write_atomic(
                Path(f"{stem}.timestamps.json"),
                json.dumps(clip_ts.tolist()).encode("utf-8"),
                durable=False,
            )
            labels = json.dumps(frame_labels(clip.item.events, clip_ts.tolist()), indent=4)
        write_atomic(Path(f"{stem}.target-labels.json"), labels.encode("utf-8"), durable=False)
    return len(batch.clips)


class OrderedWriter:
    """Runs write jobs in one background thread, in the order given, while the caller goes on
    (the model computes the next batch while the last one's files are written). At most
    `depth` jobs wait; `submit` blocks beyond that. A job's error is raised by the next
    `submit` or by `finish`. Leaving the `with` block waits for every job submitted, also
    when the block raised, so that what was embedded before an error is on disk for a resume.
    """

    def __init__(self, depth: int) -> None:
        self._depth = max(1, depth)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hearbot-writer")
        self._pending: deque[Future[int]] = deque()
        self.total = 0

    def submit(self, job: Callable[..., int], *args: Any) -> None:
        while len(self._pending) >= self._depth:
            self.total += self._pending.popleft().result()
        self._pending.append(self._pool.submit(job, *args))

    def finish(self) -> int:
        """Wait for every job; the sum of what they returned."""
        while self._pending:
            self.total += self._pending.popleft().result()
        return self.total

    def __enter__(self) -> OrderedWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._pool.shutdown(wait=True)


def _copy_file(source: Path, target: Path) -> None:
    write_atomic(target, source.read_bytes())


# ---------------------------------------------------------------------------------------------
# Markers and resumption


def model_identity(model: api.HearModel) -> dict[str, Any]:
    """The model as recorded in markers: module, options, sample rate, weights and their hash."""
    identity = model.identity()
    if model.weights and Path(model.weights).is_file():
        identity["weights_sha256"] = sha256_of(Path(model.weights))
    return identity


def read_marker(out_task: Path) -> dict[str, Any] | None:
    """The completion marker, or None when absent or unreadable (then the task is redone)."""
    path = out_task / MARKER
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != MARKER_FORMAT:
        return None
    return data


def finished_marker(
    task_name: str, out_task: Path, identity: dict[str, Any]
) -> dict[str, Any] | None:
    """The marker when this model already finished the task there; None when it must be
    (re)done; EmbedError when another model's finished embeddings are in the way."""
    if out_task.is_symlink() or (out_task.exists() and not out_task.is_dir()):
        raise EmbedError(
            task_name, str(out_task), "output-dir", "is not a plain directory; refusing to use it"
        )
    marker = read_marker(out_task) if out_task.is_dir() else None
    if marker is None or marker.get("model") == identity:
        return marker
    raise EmbedError(
        task_name,
        str(out_task / MARKER),
        "output-dir",
        f"holds finished embeddings of another model ({marker.get('model')}); "
        "use a fresh --out directory or delete this one",
    )


def _prepare_directory(out_task: Path, partial: dict[str, Any]) -> bool:
    """Make ``out_task`` ready; True when an interrupted run of the same model is resumed."""
    try:
        earlier = json.loads((out_task / PARTIAL_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        earlier = None
    if earlier == partial:
        return True
    if out_task.exists():
        shutil.rmtree(out_task)  # another model's or an unknown half-done run: redo
    out_task.mkdir(parents=True)
    write_atomic(out_task / PARTIAL_MARKER, json.dumps(partial, indent=2).encode("utf-8"))
    return False


def _done(out_task: Path, clip: Clip, event: bool) -> bool:
    """All of a clip's files are there (the labels file is written last)."""
    stem = _clip_dir(out_task, clip) / clip.item.file
    names = [".embedding.npy", ".target-labels.json"] + ([".timestamps.json"] if event else [])
    return all(Path(f"{stem}{suffix}").is_file() for suffix in names)


def _canary_plan(
    task: Task, out_task: Path, fraction: float, rng: random.Random, resumed: bool
) -> dict[str, dict[str, Perturbation]]:
    """The task's canary clips: an interrupted run's plan when resuming, else a new one
    (written beside the embeddings before any clip is embedded)."""
    if fraction <= 0:
        return {}
    earlier = canary.read_plan(out_task) if resumed else None
    if earlier is not None:
        return earlier
    files = {split: [item.file for item in task.splits[split]] for split in task.metadata.splits}
    scored = canary.scored_splits(task.metadata.split_mode, task.metadata.splits)
    chosen = canary.plan(files, scored, rng, fraction)
    document = json.dumps(canary.plan_json(chosen), indent=2) + "\n"
    write_atomic(out_task / canary.PLAN_FILE, document.encode("utf-8"))
    return chosen


def embed_task(
    model: api.HearModel | Embedder,
    task_dir: Path,
    out: Path,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    progress: bool = True,
    identity: dict[str, Any] | None = None,
    memory: DeviceMemory | None = None,
    canary_fraction: float = 0.0,
    progress_stream: TextIO | None = None,
) -> dict[str, Any]:
    """Embed one task into ``out/<task dir name>``; returns the marker's summary (with
    ``"skipped": true`` when an earlier run had finished it).

    Clips go to the model in a random order that mixes the splits (a clip's embedding does not
    depend on its batch). With ``canary_fraction`` > 0, that share of the task's clips (test
    clips only) is also embedded as perturbed copies (bot/hear/canary.py). Batches are sized
    by `memory` (default: the model's device's, `device_memory`, in process) or by what the
    embedder reports."""
    embedder: Embedder = InProcess(model) if isinstance(model, api.HearModel) else model
    identity = identity or embedder.identity()
    task = read_task(task_dir)
    out_task = Path(out) / task.name
    marker = finished_marker(task.name, out_task, identity)
    if marker is not None:
        return {**marker, "skipped": True}
    started = time.monotonic()
    sample_rate = embedder.sample_rate
    audio = check_audio(task, sample_rate)  # a broken task fails before any writing
    batch_size = estimated_batch_size(task.metadata.sample_duration, sample_rate, max_batch_size)
    partial = {
        "format": MARKER_FORMAT,
        "model": identity,
        "batch_size": batch_size,
        "canary_fraction": canary_fraction,
    }
    if memory is None and isinstance(embedder, InProcess):
        memory = device_memory(embedder.model.device)
    sizer = BatchSizer(max_batch_size, memory)
    resumed = _prepare_directory(out_task, partial)
    # Unpredictable to the model: the order it is fed in, and which clips have copies.
    rng = random.Random(secrets.randbits(64))
    chosen = _canary_plan(task, out_task, canary_fraction, rng, resumed)
    for name in (METADATA_FILE, VOCABULARY_FILE):
        _copy_file(task.path / name, out_task / name)
    for split in task.metadata.splits:
        _copy_file(task.path / f"{split}.json", out_task / f"{split}.json")
        (out_task / split).mkdir(parents=True, exist_ok=True)
    for split in chosen:
        (out_task / CANARY_DIR / split).mkdir(parents=True, exist_ok=True)
    clips = [Clip(split, item) for split in task.metadata.splits for item in task.splits[split]]
    for split in task.metadata.splits:
        perturbations = chosen.get(split, {})
        clips += [
            Clip(split, i, perturbations[i.file])
            for i in task.splits[split]
            if i.file in perturbations
        ]
    splits, embed_seconds = _embed_clips(
        embedder, task, out_task, clips, rng, sizer, audio.lengths, progress, progress_stream
    )
    summary = {
        "format": MARKER_FORMAT,
        "task": task.name,
        "task_name": task.metadata.task_name,
        "embedding_type": task.metadata.embedding_type,
        "model": identity,
        "sample_rate": sample_rate,
        **embedder.environment(),
        "batch_size": batch_size,
        "batch_sizing": sizer.summary(),
        "splits": splits,
        "clips": sum(s["clips"] for s in splits.values()),
        "canary_clips": sum(len(files) for files in chosen.values()),
        "order": "random, splits mixed",
        "resumed": resumed,
        "audio_seconds": round(audio.seconds, 3),
        "embed_seconds": round(embed_seconds, 3),
        "seconds": round(time.monotonic() - started, 3),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_atomic(out_task / MARKER, (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return {**summary, "skipped": False}


def _embed_clips(
    embedder: Embedder,
    task: Task,
    out_task: Path,
    clips: list[Clip],
    rng: random.Random,
    sizer: BatchSizer,
    lengths: Mapping[str, Mapping[str, int]],
    show: bool,
    stream: TextIO | None = None,
) -> tuple[dict[str, dict[str, Any]], float]:
    """Embed the clips not done yet, in random order; (per split: clips, kept, frames; the
    seconds it took)."""
    event = task.metadata.embedding_type == "event"
    done = [_done(out_task, clip, event) for clip in clips]
    todo = [clip for clip, finished in zip(clips, done, strict=True) if not finished]
    rng.shuffle(todo)
    splits: dict[str, dict[str, Any]] = {}
    for split in task.metadata.splits:
        own = [
            (c, d)
            for c, d in zip(clips, done, strict=True)
            if c.split == split and c.perturbation is None
        ]
        kept = [c for c, d in own if d]
        splits[split] = {"clips": len(own), "kept_from_earlier_run": len(kept)}
        if event:
            splits[split]["frames"] = sum(_frames_written(out_task / split, c.item) for c in kept)
    bar = Progress(len(clips), task.name, enabled=show, stream=stream)
    bar.update(len(clips) - len(todo))
    started = time.monotonic()
    try:
        batches = _batches(task, embedder.sample_rate, todo, sizer, lengths)
        kind = task.metadata.embedding_type
        with OrderedWriter(WRITE_BEHIND_BATCHES) as writer:
            for batch, embeddings, timestamps in embedder.embed(kind, task.name, batches, sizer):
                writer.submit(_write_outputs, task, out_task, batch, embeddings, timestamps)
                bar.update(len(batch.clips))
                if timestamps is not None:  # frames of this run's own clips, by split
                    for clip in batch.clips:
                        if clip.perturbation is None:
                            splits[clip.split]["frames"] += timestamps.shape[1]
            writer.finish()
    finally:
        bar.close()
    return splits, time.monotonic() - started


def _frames_written(out_split: Path, item: SplitItem) -> int:
    """Frames of a clip written to ``out_split`` (1 for a scene clip)."""
    path = out_split / f"{item.file}.timestamps.json"
    if not path.is_file():
        return 1
    return len(json.loads(path.read_text(encoding="utf-8")))


def embed_tasks(
    model: api.HearModel,
    tasks_dir: Path,
    out: Path,
    task_names: Sequence[str] | None = None,
    *,
    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Embed the named tasks of `tasks_dir` (default: every task there, sorted by name)."""
    tasks_dir = Path(tasks_dir)
    if task_names:
        paths = [tasks_dir / name for name in task_names]
        for path in paths:
            if not (path / METADATA_FILE).is_file():
                raise TaskError(path.name, str(path), "task-dir", f"no task {path.name} there")
    else:
        paths = find_tasks(tasks_dir)
        if not paths:
            raise TaskError(tasks_dir.name, str(tasks_dir), "tasks-dir", "holds no HEAR task")
    identity = model_identity(model)
    return [
        embed_task(
            model,
            path,
            out,
            max_batch_size=max_batch_size,
            progress=progress,
            identity=identity,
        )
        for path in paths
    ]
