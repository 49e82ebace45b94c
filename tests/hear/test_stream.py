"""The audio stream's frames (bot/hear/stream.py): every bound is checked before a read."""

from __future__ import annotations

import io
import json
import struct

import numpy as np
import pytest

from bot.hear.stream import (
    MAX_HEADER_BYTES,
    ClipReply,
    Hello,
    StreamError,
    read_frame,
    write_frame,
)


class Counting(io.BytesIO):
    """A stream that records how many bytes were asked for at most in one read."""

    largest = 0

    def read(self, size: int | None = -1) -> bytes:
        self.largest = max(self.largest, size or 0)
        return super().read(size)


def frame(header: dict, payload: bytes = b"", declared: int | None = None) -> bytes:
    size = len(payload) if declared is None else declared
    encoded = json.dumps({**header, "payload_bytes": size}).encode()
    return struct.pack(">I", len(encoded)) + encoded + payload


def test_frames_round_trip() -> None:
    buffer = io.BytesIO()
    values = np.arange(6, dtype=np.float32)
    write_frame(buffer, {"op": "clip", "id": "ab"}, values.data, b"xy")
    buffer.seek(0)
    header, payload = read_frame(buffer, 1 << 20)  # type: ignore[misc]
    assert header == {"op": "clip", "id": "ab", "payload_bytes": 26}
    assert bytes(payload) == values.tobytes() + b"xy"
    assert read_frame(buffer, 0, at_end=True) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (struct.pack(">I", MAX_HEADER_BYTES + 1), "a frame header declares"),
        (frame({"op": "clip"}, b"", declared=10**12), "declares a payload of 1000000000000"),
        (frame({"op": "clip"}, b"abc", declared=-1), "payload_bytes must be a count"),
        (frame({"nope": 1}), "not an object with an `op`"),
        (struct.pack(">I", 4) + b"\xff\xfe{}", "not JSON"),
        (frame({"op": "clip"}, b"abc", declared=10), "ended after 3 of the 10 bytes"),
        (b"\x00\x00", "ended where a frame should begin"),
    ],
)
def test_a_broken_or_oversized_frame_is_refused_before_it_is_read(data: bytes, message: str):
    stream = Counting(data)
    with pytest.raises(StreamError, match=message):
        read_frame(stream, 1 << 20)
    assert stream.largest <= 1 << 20  # never asked for what the header declared


def reply(header: dict, payload: bytes, *, event: bool, dim: int = 4, frames: int = 100):
    return ClipReply.parse({"op": "clip", **header}, bytearray(payload), event=event, dim=dim,
                           max_frames=frames)  # fmt: skip


def test_clip_replies_are_checked_against_the_model_and_the_payload() -> None:
    scene = np.ones(4, dtype=np.float32)
    assert reply({"id": "a", "frames": None, "dim": 4}, scene.tobytes(), event=False).id == "a"
    times = np.array([0.0, 50.0])
    event = np.ones((2, 4), dtype=np.float32).tobytes() + times.tobytes()
    parsed = reply({"id": "b", "frames": 2, "dim": 4}, event, event=True)
    assert parsed.embedding.shape == (2, 4) and list(parsed.timestamps) == [0.0, 50.0]
    cases = [
        ({"id": "a", "frames": None, "dim": 8}, scene.tobytes(), False, "width 8"),
        ({"id": "a", "frames": 2, "dim": 4}, scene.tobytes(), False, "has no frames"),
        ({"id": "a", "frames": None, "dim": 4}, scene.tobytes()[:8], False, "8 bytes of payload"),
        ({"id": "b", "frames": 101, "dim": 4}, event, True, r"frames must be .* \[1, 100\]"),
        ({"id": 3, "frames": None, "dim": 4}, scene.tobytes(), False, "id must be a string"),
        ({"id": "a", "frames": None, "dim": 4}, np.full(4, np.nan, np.float32).tobytes(), False,
         "not finite"),
    ]  # fmt: skip
    for header, payload, is_event, message in cases:
        with pytest.raises(StreamError, match=message):
            reply(header, payload, event=is_event)


def test_the_hello_is_bounded() -> None:
    hello = {"op": "hello", "sample_rate": 16000, "scene_embedding_size": 128}
    assert Hello.parse({**hello, "timestamp_embedding_size": 64}).sample_rate == 16000
    with pytest.raises(StreamError, match="timestamp_embedding_size"):
        Hello.parse({**hello, "timestamp_embedding_size": 10**9})
    with pytest.raises(StreamError, match="expected the worker's hello"):
        Hello.parse({"op": "clip"})
