"""The sandboxed model as an embedder: audio in, embeddings out, through two pipes.

`SandboxedEmbedder` starts `python -m bot.hear.worker serve` in the sandbox (bot/verify/
sandboxed.py) with no task mounted, and implements bot/hear/embed.py's `Embedder`: a thread
sends each batch's audio under fresh opaque ids (``secrets.token_hex``), at most
`IN_FLIGHT` batches ahead, while this thread reads the replies, each checked and bounded by
bot/hear/stream.py before it is read. So trusted code decodes the WAVs, chooses the order,
keeps the only map from ids to clips, and writes the kit's layout; the model sees audio and
nothing else. When the worker dies, breaks the protocol or answers the wrong clip, the task
fails with what the sandbox says (exit code or the limit it breached) and what was wrong.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

import numpy as np

from bot.common.inert import inert_lines
from bot.hear.embed import Batch, BatchSizer, EmbedError
from bot.hear.stream import (
    MAX_CLIP_BYTES,
    ClipReply,
    Hello,
    StreamError,
    read_frame,
    write_frame,
)
from bot.runner.sandbox import SandboxError
from bot.verify.options import VerifyOptions
from bot.verify.sandboxed import PreparedModel, run_worker
from bot.verify.stage_log import StageLog

IN_FLIGHT = 2
"""Batches sent ahead of the replies: the worker reads the next while the model computes."""
MAX_MESSAGE_CHARS = 500


class ModelStreamError(RuntimeError):
    """The sandboxed model stopped or broke the stream; says how (and what the sandbox saw)."""


class SandboxedEmbedder:
    """The submitted model in the sandbox, fed audio through a pipe (a context manager)."""

    def __init__(
        self,
        model: PreparedModel,
        options: VerifyOptions,
        log: StageLog,
        stage: str,
        scratch: Path,
        max_batch_size: int,
    ) -> None:
        self.model = model
        self.options = options
        self.log = log
        self.stage = stage
        self.scratch = scratch
        self.max_batch_size = max_batch_size
        self.hello: Hello | None = None
        self.failure: str | None = None
        """What the sandbox reported when the worker ended (None: exit 0)."""
        self._thread: threading.Thread | None = None
        self._to_model: BinaryIO | None = None
        self._from_model: BinaryIO | None = None

    # --- lifetime ----------------------------------------------------------------------------

    def __enter__(self) -> SandboxedEmbedder:
        audio_read, audio_write = os.pipe()
        reply_read, reply_write = os.pipe()
        arguments = ["serve", *self.model.arguments]
        arguments += ["--in-fd", str(audio_read), "--out-fd", str(reply_write)]
        arguments += ["--max-batch-size", str(self.max_batch_size)]

        def run() -> None:
            try:
                self.failure = run_worker(
                    self.model,
                    arguments,
                    self.scratch,
                    self.options,
                    self.log,
                    self.stage,
                    pass_fds=(audio_read, reply_write),
                )
            except SandboxError as exc:
                self.failure = str(exc)

        self._to_model = os.fdopen(audio_write, "wb", buffering=1 << 20)
        self._from_model = os.fdopen(reply_read, "rb", buffering=1 << 20)
        self._thread = threading.Thread(target=run, name="hearbot-sandbox", daemon=True)
        self._thread.start()
        try:
            frame = read_frame(self._from_model, 0)
            assert frame is not None
            self.hello = Hello.parse(frame[0])
        except StreamError as exc:
            raise self._stopped(f"no hello from the worker ({exc})") from None
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close the stream (the worker ends) and wait for the sandbox to finish."""
        self._shutdown()

    def _shutdown(self) -> None:
        # The replies first: a worker blocked writing one gets a broken pipe and ends, which
        # also ends a send blocked on a full pipe.
        for stream in (self._from_model, self._to_model):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if self._thread is not None:
            self._thread.join()

    def _stopped(self, what: str) -> ModelStreamError:
        """The error for a worker that stopped; waits for the sandbox's own account of it."""
        self._shutdown()
        ended = self.failure or "exit 0"
        return ModelStreamError(f"the model's process stopped ({ended}): {what}")

    # --- the Embedder protocol ---------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        assert self.hello is not None, "use SandboxedEmbedder as a context manager"
        return self.hello.sample_rate

    def identity(self) -> dict[str, Any]:
        """The model's key (its environment, module, options, weights, device and the worker's
        code) and the sample rate it asked for."""
        return {"key": self.model.key, "sample_rate": self.sample_rate}

    def environment(self) -> dict[str, Any]:
        return {"device": self.options.device, "fed": "audio stream (no task file in sandbox)"}

    def embed(
        self, kind: str, task_name: str, batches: Iterator[Batch], sizer: BatchSizer
    ) -> Iterator[tuple[Batch, np.ndarray, np.ndarray | None]]:
        assert self.hello is not None and self._to_model is not None
        sent: queue.Queue[tuple[Batch, list[str]] | BaseException | None] = queue.Queue()
        room = threading.Semaphore(IN_FLIGHT)
        stop = threading.Event()
        sender = threading.Thread(
            target=self._send,
            args=(kind, batches, sent, room, stop),
            name="hearbot-audio-sender",
            daemon=True,
        )
        sender.start()
        try:
            while True:
                item = sent.get()
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                batch, ids = item
                embeddings, timestamps, hint = self._replies(kind, task_name, batch, ids)
                room.release()
                sizer.hinted = hint
                yield batch, embeddings, timestamps
        finally:
            stop.set()
            room.release()
            if sender.is_alive() and self._from_model is not None:
                # Stopped early: the worker's next reply breaks its pipe, so it ends, and so
                # does a send blocked on a full pipe.
                self._from_model.close()
            sender.join()

    def _send(
        self,
        kind: str,
        batches: Iterator[Batch],
        sent: queue.Queue[tuple[Batch, list[str]] | BaseException | None],
        room: threading.Semaphore,
        stop: threading.Event,
    ) -> None:
        """Send each batch under new ids, at most `IN_FLIGHT` ahead of the replies; then
        ``end``. A reading error (a broken WAV) is handed to the reader, in order."""
        assert self._to_model is not None
        try:
            for batch in batches:
                room.acquire()
                if stop.is_set():
                    return
                ids = [secrets.token_hex(8) for _ in batch.clips]
                sent.put((batch, ids))
                header = {"op": "batch", "kind": kind, "ids": ids, "samples": batch.audio.shape[1]}
                audio = np.ascontiguousarray(batch.audio, dtype=np.float32)
                write_frame(self._to_model, header, audio.data)
            write_frame(self._to_model, {"op": "end"})
            sent.put(None)
        except (BrokenPipeError, ValueError, OSError) as exc:
            if not stop.is_set():  # the worker is gone: the reader says why
                sent.put(StreamError(f"sending audio failed: {exc}"))
        except BaseException as exc:
            sent.put(exc)

    def _replies(
        self, kind: str, task_name: str, batch: Batch, ids: list[str]
    ) -> tuple[np.ndarray, np.ndarray | None, int]:
        """Each clip's reply, in order, then the batch's ``done``: (embeddings, timestamps,
        the worker's batch-size hint)."""
        assert self.hello is not None and self._from_model is not None
        event = kind == "event"
        dim = self.hello.timestamp_embedding_size if event else self.hello.scene_embedding_size
        samples = batch.audio.shape[1]
        clips: list[ClipReply] = []
        try:
            for position, clip_id in enumerate(ids):
                frame = read_frame(self._from_model, MAX_CLIP_BYTES)
                assert frame is not None
                header, payload = frame
                if header["op"] == "error":
                    raise self._model_error(task_name, batch, ids, header)
                if header["op"] != "clip":
                    raise StreamError(f"expected a clip, got {header['op']!r}")
                reply = ClipReply.parse(header, payload, event=event, dim=dim, max_frames=samples)
                if reply.id != clip_id:
                    where = batch.clips[position].describe()
                    raise StreamError(f"the reply for {where} carries another clip's id")
                clips.append(reply)
            frame = read_frame(self._from_model, 0)
            assert frame is not None
            header = frame[0]
            if header["op"] == "error":
                raise self._model_error(task_name, batch, ids, header)
            hint = header.get("hint")
            if header["op"] != "done" or type(hint) is not int or hint < 1:
                raise StreamError("expected the batch's done with a hint")
        except StreamError as exc:
            raise self._stopped(str(exc)) from None
        if event:
            frames = {reply.embedding.shape[0] for reply in clips}
            if len(frames) > 1:
                where = batch.describe()
                raise EmbedError(
                    task_name, where, "timestamps", "clips of one batch differ in frames"
                )
            timestamps = np.stack([reply.timestamps for reply in clips])  # type: ignore[misc]
            return np.stack([reply.embedding for reply in clips]), timestamps, hint
        return np.stack([reply.embedding for reply in clips]), None, hint

    def _model_error(
        self, task_name: str, batch: Batch, ids: list[str], header: dict[str, Any]
    ) -> EmbedError:
        """The model's own error for a clip of ``batch``, named by trusted code."""
        failed = header.get("id")
        where = batch.describe()
        if failed in ids:
            where = batch.clips[ids.index(failed)].describe()
        check = header.get("check")
        check = check if isinstance(check, str) and check.isidentifier() else "model"
        message = " ".join(inert_lines(str(header.get("message", ""))))[:MAX_MESSAGE_CHARS]
        return EmbedError(task_name, where, check[:40], message)
