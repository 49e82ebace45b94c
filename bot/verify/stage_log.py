"""The run's log: every stage's lines, kept in OUT/verify.log, echoed, and cut into tails."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bot.common.inert import inert_line

LOG_TAIL_LINES = 30
LOG_LINE_CHARS = 1000
LOG_TAIL_CHARS = 7900  # the result schema allows 8000
PROGRESS = "progress: "
"""Marks a progress line (bot/hear/progress.py, `StageLog.heartbeat`): echoed even when the
run's other lines are not (`echo_progress`)."""
HEARTBEAT_S = 10.0


@dataclass
class StageLog:
    """Everything the stages say, kept in OUT/verify.log and echoed to stderr."""

    path: Path
    echo: bool = True
    lines: list[str] = field(default_factory=list)
    peaks: dict[str, float] = field(default_factory=dict)
    echo_progress: bool = False
    """Echo progress lines to stderr even when ``echo`` is off (the demo)."""
    interval: float = HEARTBEAT_S
    last_progress: float = field(default_factory=time.monotonic)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, line: str) -> None:
        """One line, stamped. It is made inert first (bot/common/untrusted.py): a line break
        inside it (an untrusted file name or message quoted by hearbot) shows as an escape, so
        every line in the log, on stderr and in a tail starts with hearbot's stamp."""
        stamped = f"{time.strftime('%H:%M:%S')} {inert_line(line)}"
        progress = PROGRESS in line
        with self._lock:
            self.lines.append(stamped)
            if progress:
                self.last_progress = time.monotonic()
            if self.echo or (progress and self.echo_progress):
                print(stamped, file=sys.stderr, flush=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(stamped + "\n")

    @contextmanager
    def heartbeat(self, stage: str, status: Callable[[], str] | None = None) -> Iterator[None]:
        """While the block runs, a progress line at least every ``interval`` seconds: the
        stage, how long it has run, and ``status()`` (what is done, an ETA) when given. A
        progress line from the stage itself (the embedding's clips/s) counts as one."""
        started = time.monotonic()
        self.last_progress = started
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(min(1.0, self.interval)):
                if time.monotonic() - self.last_progress >= self.interval:
                    detail = status() if status else ""
                    elapsed = time.monotonic() - started
                    self(f"{stage}: {PROGRESS}still working, {elapsed:.0f} s{detail}")

        thread = threading.Thread(target=beat, name=f"heartbeat {stage}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def peak(self, stage: str, used: int) -> None:
        """Remember the largest memory a stage used (MB, in `verification.memory_mb`)."""
        megabytes = round(used / (1 << 20), 1)
        self.peaks[stage] = max(self.peaks.get(stage, 0.0), megabytes)

    def tail(self, contains: str = "") -> str:
        """The last lines that contain ``contains``: at most LOG_TAIL_LINES, each cut to
        LOG_LINE_CHARS, and together within LOG_TAIL_CHARS (the result schema's bound)."""
        kept: list[str] = []
        budget = LOG_TAIL_CHARS
        for line in reversed([line for line in self.lines if contains in line]):
            if len(line) > LOG_LINE_CHARS:
                line = line[: LOG_LINE_CHARS - 1] + "…"
            if len(kept) == LOG_TAIL_LINES or len(line) + 1 > budget:
                break
            kept.append(line)
            budget -= len(line) + 1
        return "\n".join(reversed(kept))
