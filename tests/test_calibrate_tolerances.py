"""benchmarks/calibrate_tolerances.py re-renders docs/tolerances.md from its stored
measurements, and keeps the hand-written part of the file below its marker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "calibrate_tolerances.py"
MEASUREMENTS = REPO / "benchmarks" / "results" / "calibrate_tolerances.json"
MARKER = "<!-- written by hand below this line: calibrate_tolerances.py keeps it -->"


def test_render_only_rewrites_the_table_and_keeps_the_hand_written_tail(tmp_path: Path) -> None:
    out = tmp_path / "tolerances.md"
    out.write_text(f"# an old table\n\nstale\n\n{MARKER}\n\n## By hand\n\nkept as it is\n")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--render-only", "--measurements", str(MEASUREMENTS),
         "--trials", "200", "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    text = out.read_text()
    assert "stale" not in text and text.startswith("# The verdict's tolerances")
    for section in ("## The rule", "## Choosing K", "## Per column shape"):
        assert section in text
    assert text.count(MARKER) == 1 and text.endswith("## By hand\n\nkept as it is\n")
    # The repository's own file has the same generated part and its hand-written tail.
    published = (REPO / "docs" / "tolerances.md").read_text()
    assert MARKER in published and "## Per column shape" in published
