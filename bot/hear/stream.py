"""The audio stream between the verifier and the sandboxed model: frames on two pipes.

The model never sees a task's files. The trusted side decodes the WAVs and sends batches of
audio, each clip under an opaque id, in an order that mixes splits (and perturbed copies, see
bot/hear/canary.py); the worker (`python -m bot.hear.worker serve`, in the sandbox) answers
each clip's embedding (and timestamps) by id, and the trusted side writes the kit's layout.

A frame is a 4-byte big-endian header length, a UTF-8 JSON object (at most `MAX_HEADER_BYTES`)
and exactly ``header["payload_bytes"]`` bytes of payload. Every frame the trusted side reads
was written by code it does not trust (the model runs in the worker's process and can write to
the pipe itself), so `read_frame` bounds the header and the payload before reading either, and
`ClipReply` checks a clip's declared shape against its payload and the model's sizes.

```
worker  -> trusted  {"op": "hello", "sample_rate", "scene_embedding_size",
                     "timestamp_embedding_size"}
trusted -> worker   {"op": "batch", "kind": "scene"|"event", "ids": [...], "samples": S}
                    + float32 audio (n, S)
worker  -> trusted  {"op": "clip", "id", "frames": T|null, "dim": D}
                    + float32 embedding (D,) or (T, D) [+ float64 timestamps (T,)]
                    ... one per clip, in the batch's order, then
                    {"op": "done", "hint": N}   (clips per batch the device would take)
                    or {"op": "error", "id": clip|null, "check", "message"}
trusted -> worker   {"op": "end"}
```
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np

MAX_HEADER_BYTES = 64 * 1024
MAX_CLIP_BYTES = 256 << 20
"""The most one clip's reply may hold (the per-file cap of bot/common/untrusted.py)."""
MAX_EMBEDDING_SIZE = 1 << 16
MAX_BATCH_AUDIO_BYTES = 4 << 30
_LENGTH = struct.Struct(">I")


class StreamError(RuntimeError):
    """The other side broke the protocol, or its process ended mid-frame."""


def write_frame(out: BinaryIO, header: dict[str, Any], *payload: bytes | memoryview) -> None:
    """One frame: ``header`` (``payload_bytes`` filled in) and the payload's parts."""
    sizes = [memoryview(part).nbytes for part in payload]
    encoded = json.dumps({**header, "payload_bytes": sum(sizes)}).encode("utf-8")
    if len(encoded) > MAX_HEADER_BYTES:
        raise StreamError(f"a frame header of {len(encoded)} bytes is over {MAX_HEADER_BYTES}")
    out.write(_LENGTH.pack(len(encoded)) + encoded)
    for part in payload:
        out.write(part)
    out.flush()


def _read_exactly(stream: BinaryIO, size: int, what: str) -> bytearray:
    buffer = bytearray(size)
    view = memoryview(buffer)
    done = 0
    while done < size:
        got = stream.readinto(view[done:])  # type: ignore[attr-defined]
        if not got:
            raise StreamError(f"the stream ended after {done} of the {size} bytes of {what}")
        done += got
    return buffer


def read_frame(
    stream: BinaryIO, max_payload: int, *, at_end: bool = False
) -> tuple[dict[str, Any], bytearray] | None:
    """The next frame (header, payload), its sizes checked before anything is read: the header
    at most `MAX_HEADER_BYTES`, a JSON object with an ``op`` string and a ``payload_bytes``
    integer of at most ``max_payload``. None at a clean end of stream when ``at_end``."""
    first = stream.read(_LENGTH.size)
    if not first and at_end:
        return None
    if len(first) < _LENGTH.size:
        raise StreamError("the stream ended where a frame should begin")
    (length,) = _LENGTH.unpack(first)
    if length > MAX_HEADER_BYTES:
        raise StreamError(f"a frame header declares {length} bytes; at most {MAX_HEADER_BYTES}")
    raw = _read_exactly(stream, length, "a frame header")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise StreamError(f"a frame header is not JSON: {exc}") from None
    if not isinstance(header, dict) or not isinstance(header.get("op"), str):
        raise StreamError("a frame header is not an object with an `op`")
    size = header.get("payload_bytes")
    if type(size) is not int or size < 0:
        raise StreamError(f"frame {header['op']!r}: payload_bytes must be a count, not {size!r}")
    if size > max_payload:
        raise StreamError(
            f"frame {header['op']!r} declares a payload of {size} bytes; at most {max_payload} "
            "may follow it"
        )
    return header, _read_exactly(stream, size, f"frame {header['op']!r}")


def _count(header: dict[str, Any], key: str, low: int, high: int) -> int:
    value = header.get(key)
    if type(value) is not int or not low <= value <= high:
        raise StreamError(f"frame {header['op']!r}: {key} must be an integer in [{low}, {high}]")
    return value


@dataclass(frozen=True)
class Hello:
    sample_rate: int
    scene_embedding_size: int
    timestamp_embedding_size: int

    @classmethod
    def parse(cls, header: dict[str, Any]) -> Hello:
        if header["op"] != "hello":
            raise StreamError(f"expected the worker's hello, got {header['op']!r}")
        return cls(
            _count(header, "sample_rate", 1, 1_000_000),
            _count(header, "scene_embedding_size", 1, MAX_EMBEDDING_SIZE),
            _count(header, "timestamp_embedding_size", 1, MAX_EMBEDDING_SIZE),
        )


@dataclass(frozen=True)
class ClipReply:
    """One clip's embedding (float32 (D,) or (T, D)) and timestamps (float64 (T,), event)."""

    id: str
    embedding: np.ndarray
    timestamps: np.ndarray | None

    @classmethod
    def parse(
        cls, header: dict[str, Any], payload: bytearray, *, event: bool, dim: int, max_frames: int
    ) -> ClipReply:
        """Checked against what the clip must hold: the model's size, at most ``max_frames``
        frames, and a payload of exactly that many bytes."""
        if not isinstance(header.get("id"), str):
            raise StreamError("frame 'clip': id must be a string")
        width = _count(header, "dim", 1, MAX_EMBEDDING_SIZE)
        if width != dim:
            raise StreamError(f"frame 'clip': embedding width {width}; the model declared {dim}")
        if event:
            frames = _count(header, "frames", 1, max_frames)
            expected = frames * dim * 4 + frames * 8
        else:
            if header.get("frames") is not None:
                raise StreamError("frame 'clip': a scene embedding has no frames")
            frames, expected = 0, dim * 4
        if len(payload) != expected:
            raise StreamError(
                f"frame 'clip': {len(payload)} bytes of payload; the shape declares {expected}"
            )
        if not event:
            embedding = np.frombuffer(payload, dtype=np.float32)
            if not np.isfinite(embedding).all():
                raise StreamError(f"clip {header['id']}: the embedding is not finite")
            return cls(header["id"], embedding, None)
        embedding = np.frombuffer(payload, dtype=np.float32, count=frames * dim).reshape(
            frames, dim
        )
        timestamps = np.frombuffer(payload, dtype=np.float64, offset=frames * dim * 4)
        if not (np.isfinite(embedding).all() and np.isfinite(timestamps).all()):
            raise StreamError(f"clip {header['id']}: embeddings or timestamps are not finite")
        return cls(header["id"], embedding, timestamps)
