"""`python -m bot.hear.worker serve`: the model's side of the audio stream (bot/hear/stream.py).

Runs in the sandbox, where no task file exists: it reads batches of audio from one pipe,
calls the model through the HEAR API checks (bot/hear/api.py), and writes each clip's
embedding back on the other, in the batch's order. A thread reads the next batch while the
model computes, and another writes the last batch's replies, so that neither pipe waits for
the model. A batch that does not fit in the device's memory is halved (bot/hear/embed.py);
after each batch the worker says how many clips the device would take (``hint``), which the
trusted side uses to size the next batches.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

import numpy as np

from bot.hear import api
from bot.hear.embed import (
    Batch,
    BatchSizer,
    Clip,
    EmbedError,
    OrderedWriter,
    _embed_batch,
    prefetched,
)
from bot.hear.embed import device_memory as device_memory_of
from bot.hear.stream import MAX_BATCH_AUDIO_BYTES, StreamError, read_frame, write_frame
from bot.hear.tasks import SplitItem

READ_AHEAD = 2
STREAM = "stream"


def serve(model: api.HearModel, source: BinaryIO, sink: BinaryIO, max_batch_size: int) -> int:
    """Answer batches until the trusted side says ``end``; 0, or 1 after an `error` reply."""
    write_frame(
        sink,
        {
            "op": "hello",
            "sample_rate": model.sample_rate,
            "scene_embedding_size": model.scene_embedding_size,
            "timestamp_embedding_size": model.timestamp_embedding_size,
        },
    )
    sizer = BatchSizer(max_batch_size, device_memory_of(model.device))
    with OrderedWriter(READ_AHEAD) as writer:
        for header, audio in _requests(source):
            ids = header["ids"]
            batch = Batch(tuple(Clip(STREAM, SplitItem(file=i)) for i in ids), audio)
            try:
                embeddings, timestamps = _embed_batch(model, header["kind"], STREAM, batch, sizer)
            except EmbedError as exc:
                writer.finish()
                failed = exc.clip.item.file if exc.clip is not None else None
                message = {"op": "error", "id": failed, "check": exc.check, "message": exc.message}
                write_frame(sink, message)
                return 1
            duration = audio.shape[1] / model.sample_rate
            hint = sizer.size(duration, model.sample_rate)
            writer.submit(_reply, sink, ids, embeddings, timestamps, hint)
        writer.finish()
    return 0


def _requests(source: BinaryIO) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    """The batches the trusted side sends, until ``end``, read ahead by a thread."""
    return prefetched(_frames(source), READ_AHEAD)


def _frames(source: BinaryIO) -> Iterator[tuple[dict[str, Any], np.ndarray]]:
    while True:
        frame = read_frame(source, MAX_BATCH_AUDIO_BYTES, at_end=True)
        if frame is None or frame[0]["op"] == "end":
            return
        header, payload = frame
        if header["op"] != "batch" or header.get("kind") not in ("scene", "event"):
            raise StreamError(f"unexpected frame {header['op']!r}")
        ids, samples = header.get("ids"), header.get("samples")
        if not isinstance(ids, list) or not ids or type(samples) is not int:
            raise StreamError("a batch needs ids and samples")
        audio = np.frombuffer(payload, dtype=np.float32)
        if audio.size != len(ids) * samples:
            raise StreamError("a batch's audio does not match its ids and samples")
        yield header, audio.reshape(len(ids), samples)


def _reply(
    sink: BinaryIO,
    ids: list[str],
    embeddings: np.ndarray,
    timestamps: np.ndarray | None,
    hint: int,
) -> int:
    for position, clip_id in enumerate(ids):
        embedding = np.ascontiguousarray(embeddings[position], dtype=np.float32)
        if timestamps is None:
            header = {"op": "clip", "id": clip_id, "frames": None, "dim": embedding.shape[-1]}
            write_frame(sink, header, embedding.data)
        else:
            times = np.ascontiguousarray(timestamps[position], dtype=np.float64)
            header = {"op": "clip", "id": clip_id, "frames": len(times), "dim": embedding.shape[-1]}
            write_frame(sink, header, embedding.data, times.data)
    write_frame(sink, {"op": "done", "hint": hint})
    return len(ids)
