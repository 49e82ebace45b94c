"""Validating the real leaderboard plus one row takes under 1 s, start-up included.

Runs `hearbot validate --base-file ... --head-file ... --manifest ...` as a fresh process
(what a submitter or the workflow runs), and, as the baseline measured in the same run,
`python -c pass` (bare interpreter start-up). Prints the wall times, their ratio, and
whether the 1 s target holds. Usage: .venv/bin/python benchmarks/validate_speed.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 1.0


def wall_times(command: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        completed = subprocess.run(command, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if completed.returncode not in (0, 1):
            sys.exit(f"{command} failed ({completed.returncode}): {completed.stderr.decode()}")
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    example = REPO / "examples" / "submission"
    base = REPO / "leaderboard.csv"
    with tempfile.TemporaryDirectory() as tmp:
        head = Path(tmp) / "head.csv"
        head.write_bytes(base.read_bytes() + b"\n" + (example / "row.csv").read_bytes().rstrip())
        manifest = next((example / "submissions").glob("*.json"))
        validate = [
            sys.executable,
            "-m",
            "bot",
            "validate",
            "--base-file",
            str(base),
            "--head-file",
            str(head),
            "--manifest",
            str(manifest),
            "--format",
            "json",
        ]
        baseline = [sys.executable, "-c", "pass"]
        wall_times(validate, 1)  # warm the file cache and .pyc files
        validate_times = wall_times(validate, args.runs)
        baseline_times = wall_times(baseline, args.runs)
    validate_median = statistics.median(validate_times)
    baseline_median = statistics.median(baseline_times)
    print(
        f"hearbot validate (real leaderboard + 1 row + manifest): "
        f"median {validate_median:.3f} s, max {max(validate_times):.3f} s over {args.runs} runs"
    )
    print(f"baseline: bare `python -c pass`: median {baseline_median:.3f} s")
    print(f"ratio validate / bare interpreter start-up: {validate_median / baseline_median:.1f}x")
    verdict = "meets" if max(validate_times) < TARGET_SECONDS else "MISSES"
    print(f"target: every run under {TARGET_SECONDS:.1f} s including start-up: {verdict}")
    return 0 if verdict == "meets" else 1


if __name__ == "__main__":
    raise SystemExit(main())
