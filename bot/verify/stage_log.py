"""The run's log: every stage's lines, kept in OUT/verify.log, echoed, and cut into tails."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.common.inert import inert_line

LOG_TAIL_LINES = 30
LOG_LINE_CHARS = 1000
LOG_TAIL_CHARS = 7900  # the result schema allows 8000


@dataclass
class StageLog:
    """Everything the stages say, kept in OUT/verify.log and echoed to stderr."""

    path: Path
    echo: bool = True
    lines: list[str] = field(default_factory=list)
    peaks: dict[str, float] = field(default_factory=dict)

    def __call__(self, line: str) -> None:
        """One line, stamped. It is made inert first (bot/common/untrusted.py): a line break
        inside it (an untrusted file name or message quoted by hearbot) shows as an escape, so
        every line in the log, on stderr and in a tail starts with hearbot's stamp."""
        stamped = f"{time.strftime('%H:%M:%S')} {inert_line(line)}"
        self.lines.append(stamped)
        if self.echo:
            print(stamped, file=sys.stderr, flush=True)
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(stamped + "\n")

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
