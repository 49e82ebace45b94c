"""Progress lines: at least one per interval even while a batch is slow, with clips/s and ETA."""

from __future__ import annotations

import io
import time

from bot.hear.progress import Progress


def test_a_slow_batch_still_gets_a_line_per_interval_with_rate_and_eta() -> None:
    stream = io.StringIO()  # not a terminal: plain lines, never a tqdm bar
    bar = Progress(10, "esc50 fold01", stream=stream, interval=0.05)
    bar.update(2)
    time.sleep(0.3)  # no update: the timer writes the lines
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) >= 3, lines
    assert lines[0].startswith("progress: esc50 fold01: 2/10 clips, ")
    assert "clips/s" in lines[0] and "ETA " in lines[0]
    assert lines[-1].startswith("progress: esc50 fold01: 2/10 clips") and "done in" in lines[-1]


def test_disabled_progress_writes_nothing() -> None:
    stream = io.StringIO()
    bar = Progress(3, "x", stream=stream, enabled=False, interval=0.01)
    bar.update(3)
    time.sleep(0.05)
    bar.close()
    assert stream.getvalue() == ""
