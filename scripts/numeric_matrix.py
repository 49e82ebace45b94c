#!/usr/bin/env python3
"""Run the numeric tests under other CPU kernel choices and thread counts.

    python3 scripts/numeric_matrix.py [--variant NAME ...] [-- PYTEST_ARGS ...]

A float computed here depends on the CPU, on the kernel a shape selects and on the thread
count; CI runs on whichever machine of the project's kind a change was made on. This runs
`pytest -m numeric` (tests/numeric.py) once per variant, each in a fresh process (torch reads
ATEN_CPU_CAPABILITY and MKL reads MKL_CBWR at start-up), and prints:
  1. per variant, how many numeric tests passed and which failed;
  2. per comparison made through `tests.numeric.within`, the largest difference seen over all
     variants against its tolerance, so a contributor sees which expectations depend on the
     machine and how close each comes to its bound.
A variant whose kernel path this CPU lacks still runs (torch falls back to what it has) and is
marked as such. Extra arguments after `--` go to pytest, e.g. `-- -k "not hearbaseline"` to
leave out the slowest test (it installs hearbaseline from the package index).

Exit status: 0 every variant passed; 1 some variant failed; 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

VARIANTS: dict[str, dict[str, str]] = {
    "as-is": {},
    "scalar": {"ATEN_CPU_CAPABILITY": "default"},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "avx512": {"ATEN_CPU_CAPABILITY": "avx512"},
    "mkl-compatible": {"MKL_CBWR": "COMPATIBLE"},
    "1-thread": {"HEARBOT_TEST_THREADS": "1", "OMP_NUM_THREADS": "1"},
    "2-threads": {"HEARBOT_TEST_THREADS": "2", "OMP_NUM_THREADS": "2"},
}


def variant_env(name: str) -> dict[str, str]:
    """This process's environment with the variant's settings instead of any inherited ones."""
    env = {k: v for k, v in os.environ.items() if k not in ("ATEN_CPU_CAPABILITY", "MKL_CBWR")}
    env.update(VARIANTS[name])
    return env


@dataclass
class Outcome:
    variant: str
    passed: int
    failed: list[str]
    seconds: float
    summary: str


def run_variant(
    name: str, python: str, pytest_args: list[str], log: Path, verbose: bool
) -> Outcome:
    env = variant_env(name)
    env["HEARBOT_NUMERIC_LOG"] = str(log)
    command = [python, "-m", "pytest", "-m", "numeric", "-q", "-p", "no:cacheprovider", "-rf"]
    start = time.monotonic()
    completed = subprocess.run(
        [*command, *pytest_args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.monotonic() - start
    if verbose:
        print(completed.stdout[-6000:], completed.stderr[-2000:], sep="\n")
    failed = re.findall(r"^FAILED (\S+)", completed.stdout, flags=re.MULTILINE)
    passed = re.search(r"(\d+) passed", completed.stdout)
    lines = completed.stdout.strip().splitlines()
    summary = lines[-1] if lines else completed.stderr.strip()[-300:]
    if completed.returncode not in (0, 1) and not failed:
        failed = [f"pytest exit {completed.returncode}: {summary}"]
    return Outcome(name, int(passed.group(1)) if passed else 0, failed, seconds, summary)


def capability(python: str, variant: str) -> str:
    """The kernel path torch picks under this variant (it caps a request at what the CPU has)."""
    env = variant_env(variant)
    probe = subprocess.run(
        [python, "-c", "import torch; print(torch.backends.cpu.get_cpu_capability())"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() or "?"


def margins(log: Path) -> list[tuple[str, float | None, float, int, list[str]]]:
    """(comparison, worst |delta|, tolerance, times compared, variants over tolerance)."""
    worst: dict[str, tuple[float | None, float, int, list[str]]] = {}
    if not log.exists():
        return []
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        key = f"{record['test'].split('::')[-1]}: {record['what']}"
        delta = record["delta"]
        delta = None if isinstance(delta, str) else float(delta)
        before = worst.get(key, (0.0, float(record["tolerance"]), 0, []))
        over = before[3] + ([record["variant"]] if not record["ok"] else [])
        largest = None if delta is None or before[0] is None else max(before[0], delta)
        worst[key] = (largest, before[1], before[2] + 1, over)
    return [(key, *value) for key, value in sorted(worst.items())]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, pytest_args = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    parser = argparse.ArgumentParser(prog="numeric_matrix.py", description=__doc__.split("\n")[1])
    parser.add_argument(
        "--variant",
        action="append",
        choices=list(VARIANTS),
        help="run only these variants (repeatable; default: all)",
    )
    parser.add_argument(
        "--python",
        default=str(ROOT / ".venv" / "bin" / "python"),
        help="the interpreter with hearbot and its test tools (default: .venv/bin/python)",
    )
    parser.add_argument("--verbose", action="store_true", help="print each run's pytest output")
    args = parser.parse_args(ours)
    if not Path(args.python).exists():
        print(f"numeric_matrix: {args.python} not found; run bash scripts/setup.sh --dev first")
        return 2
    variants = args.variant or list(VARIANTS)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="numeric-matrix-") as scratch:
        log = Path(scratch) / "comparisons.jsonl"
        for name in variants:
            part = Path(scratch) / f"{name}.jsonl"
            path = capability(args.python, name)
            print(f"== {name} {VARIANTS[name] or ''} (torch kernel path: {path})", flush=True)
            outcome = run_variant(name, args.python, pytest_args, part, args.verbose)
            print(f"   {outcome.summary} ({outcome.seconds:.0f} s)", flush=True)
            outcomes.append(outcome)
            if part.exists():
                with log.open("a", encoding="utf-8") as merged:
                    for line in part.read_text(encoding="utf-8").splitlines():
                        merged.write(json.dumps({**json.loads(line), "variant": name}) + "\n")
        rows = margins(log)
    print("\nvariant         passed  failed")
    for outcome in outcomes:
        print(f"{outcome.variant:<15} {outcome.passed:>6}  {len(outcome.failed):>6}")
        for test in outcome.failed:
            print(f"                  FAILED {test}")
    if rows:
        print(
            "\nlargest difference over all variants against each tolerance (tests.numeric.within)"
        )
        for key, delta, tolerance, count, over in rows:
            shown = "non-finite" if delta is None else f"{delta:.3g}"
            share = "" if delta is None or not tolerance else f" ({delta / tolerance:.0%})"
            flag = f"  OVER in {', '.join(sorted(set(over)))}" if over else ""
            print(f"  {key}: {shown} of {tolerance:g}{share}, {count} runs{flag}")
    return 1 if any(o.failed for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
