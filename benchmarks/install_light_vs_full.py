"""The light install (what validate.yml and report.yml run) against the full one (the GPU
job's `.[verify]`): wall time and size on disk of each, into a fresh virtualenv.

For each set, in alternating order (light, full, light, full, ...): a new virtualenv (not
timed), then `pip install --no-cache-dir -e <repo>[extras]` (timed: the whole pip process, as
the workflow step runs it), then the size of the virtualenv. pip resolves from whatever index
and --find-links this machine's pip configuration names (here: local wheel directories, so
no network time is measured: on a GitHub-hosted runner, downloading the full set's ~1 GB of
wheels comes on top). `--no-cache-dir` keeps pip's HTTP/wheel cache from favouring the
second run. Prints each run, the medians, and the ratio full / light.

Usage: .venv/bin/python benchmarks/install_light_vs_full.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETS = {"light": "", "full": "[verify]"}


def tree_bytes(root: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total


def install_once(extras: str, work: Path) -> tuple[float, int]:
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    command = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-cache-dir",
        "-e",
        f"{REPO}{extras}",
    ]
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{completed.stderr[-2000:]}")
    return seconds, tree_bytes(venv)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in SETS}
    sizes: dict[str, int] = {}
    for run in range(args.runs):
        for name, extras in SETS.items():
            with tempfile.TemporaryDirectory(prefix=f"hearbot-install-{name}-") as tmp:
                seconds, size = install_once(extras, Path(tmp))
            times[name].append(seconds)
            sizes[name] = size
            print(f"run {run + 1}: {name:<5} {seconds:7.1f} s  {size / 1e9:6.2f} GB", flush=True)
    light, full = (statistics.median(times[n]) for n in SETS)
    print(f"median light: {light:.1f} s, {sizes['light'] / 1e6:.0f} MB (pip install -e .)")
    print(f"median full:  {full:.1f} s, {sizes['full'] / 1e6:.0f} MB (pip install -e '.[verify]')")
    print(f"full / light: {full / light:.1f}x time, {sizes['full'] / sizes['light']:.1f}x disk")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
