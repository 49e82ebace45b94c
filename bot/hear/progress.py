"""Progress on stderr: a tqdm bar on a terminal when tqdm is installed, plain lines otherwise
(a log, the sandbox's pipe): one at least every ``interval`` seconds, from a timer thread
while a slow batch runs, each with the clips done, clips/s and an ETA."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

PROGRESS = "progress: "
"""The mark bot/verify/stage_log.py echoes progress lines by."""


class Progress:
    """Counts clips for one task split and shows clips/s.

    ``Progress(total, label)``; ``update(n)``; ``close()`` (prints the final line)."""

    def __init__(
        self,
        total: int,
        label: str,
        *,
        enabled: bool = True,
        stream: TextIO | None = None,
        interval: float = 10.0,
    ) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.interval = interval
        self.started = time.monotonic()
        self._last_line = self.started
        interactive = enabled and getattr(self.stream, "isatty", lambda: False)()
        self._bar: Any = _tqdm(total, label, self.stream) if interactive else None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._ticker: threading.Thread | None = None
        if enabled and self._bar is None:
            self._ticker = threading.Thread(target=self._tick, name=label, daemon=True)
            self._ticker.start()

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def update(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(count)
            return
        if time.monotonic() - self._last_line >= self.interval:
            self._line()

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            return
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self._line(final=True)

    def _tick(self) -> None:
        while not self._stop.wait(min(1.0, self.interval)):
            if time.monotonic() - self._last_line >= self.interval:
                self._line()

    def eta(self) -> str:
        rate = self.rate
        if self.done >= self.total:
            return "done"
        if rate <= 0:
            return "ETA unknown"
        return f"ETA {_duration((self.total - self.done) / rate)}"

    def _line(self, final: bool = False) -> None:
        with self._lock:
            self._last_line = time.monotonic()
            elapsed = _duration(self._last_line - self.started)
            tail = f"done in {elapsed}" if final else f"{elapsed}, {self.eta()}"
            self.stream.write(
                f"{PROGRESS}{self.label}: {self.done}/{self.total} clips, "
                f"{self.rate:.1f} clips/s, {tail}\n"
            )
            self.stream.flush()


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def _tqdm(total: int, label: str, stream: TextIO) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=label, unit="clip", file=stream, dynamic_ncols=True)
