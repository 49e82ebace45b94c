#!/usr/bin/env python3
"""Cross-check `hearbot evaluate` against the official HEAR kit (heareval==2021.1.3).

    python3 scripts/crosscheck.py TASK_DIR [TASK_DIR ...]

Each TASK_DIR is an embedding task directory in the official per-file layout, as the official
embeddings runner writes it (`embeddings/<module>/<task>/`):

    task_metadata.json  labelvocabulary.csv  <split>.json            (one per split)
    <split>/<file>.embedding.npy  <split>/<file>.target-labels.json
    <split>/<file>.timestamps.json                                   (event tasks)

For each task it
  1. copies the per-file layout twice into a scratch directory (the inputs are never written);
  2. official side, in the reference environment (.refenv, scripts/make-reference-env.sh):
     builds the kit's memmap files with heareval's own `memmap_embeddings` (one
     `random.Random(0)` per task, used for the splits in metadata order, as the embeddings
     runner does), then runs `python -m heareval.predictions.runner` on the copy;
  3. hearbot side: runs `.venv/bin/hearbot evaluate DIR` on the other copy and reads
     DIR/test.predicted-scores.json (or, failing that, JSON printed on stdout);
  4. prints, per task, metric | official | hearbot | |delta| for the primary score and every
     secondary metric (k-fold: the aggregated `_mean` values; train/valid/test: `test`), the
     per-split primary scores and chosen hyper-parameters (not gated), and the time of each
     side with their ratio.

Exit status: 0 every |delta| <= --tolerance (default 0.02), or skipped because the reference
environment is absent; 1 some |delta| > tolerance or a metric missing on one side; 2 bad usage
or a malformed task directory; 3 a side could not run (the official kit failed, the reference
environment is broken, or `hearbot evaluate` is missing or failed).

Standard library only: run it with any Python 3.11.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_DIFF, EXIT_USAGE, EXIT_BROKEN = 0, 1, 2, 3
PER_FILE_SUFFIXES = (".embedding.npy", ".target-labels.json", ".timestamps.json")

# Runs inside the reference environment: heareval's own memmap_embeddings, exactly as
# heareval.embeddings.task_embeddings.task_embeddings calls it after embedding each split.
MEMMAP_HELPER = r"""
import json, random, sys
from pathlib import Path
from heareval.embeddings.task_embeddings import memmap_embeddings

for task in sys.argv[1:]:
    task_dir = Path(task)
    metadata = json.load(task_dir.joinpath("task_metadata.json").open())
    prng = random.Random()
    prng.seed(0)
    for split in metadata["splits"]:
        split_data = json.load(task_dir.joinpath(f"{split}.json").open())
        memmap_embeddings(task_dir.joinpath(split), prng, metadata, split, task_dir, split_data)
        dims = json.load(task_dir.joinpath(f"{split}.embedding-dimensions.json").open())
        print(f"memmap {task_dir.name}/{split}: {dims[0]} rows x {dims[1]}", flush=True)
"""


class UsageError(Exception):
    pass


class SideError(Exception):
    pass


@dataclass
class SideResult:
    scores: dict[str, Any] | None = None
    seconds: float = 0.0
    detail: str = ""
    error: str | None = None


@dataclass
class TaskOutcome:
    name: str
    rows: list[tuple[str, float | None, float | None, float | None, bool]] = field(
        default_factory=list
    )
    failed: bool = False
    broken: bool = False


# --- input -------------------------------------------------------------------------------------


def read_json(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise UsageError(f"{path}: missing") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: unreadable JSON ({exc})") from None


def check_task_dir(task_dir: Path) -> dict[str, Any]:
    """Checks the per-file layout; returns task_metadata.json."""
    if not task_dir.is_dir():
        raise UsageError(f"{task_dir}: not a directory")
    metadata = read_json(task_dir / "task_metadata.json")
    for key in ("task_name", "embedding_type", "splits", "evaluation"):
        if key not in metadata:
            raise UsageError(f"{task_dir}/task_metadata.json: no {key!r}")
    if not (task_dir / "labelvocabulary.csv").is_file():
        raise UsageError(f"{task_dir}/labelvocabulary.csv: missing")
    needed = [".embedding.npy", ".target-labels.json"]
    if metadata["embedding_type"] == "event":
        needed.append(".timestamps.json")
    for split in metadata["splits"]:
        files = read_json(task_dir / f"{split}.json")
        split_dir = task_dir / split
        if not split_dir.is_dir():
            raise UsageError(f"{split_dir}: missing (the per-file embeddings of split {split})")
        for name in files:
            for suffix in needed:
                if not (split_dir / f"{name}{suffix}").is_file():
                    raise UsageError(f"{split_dir / (name + suffix)}: missing")
    return metadata


def copy_per_file_layout(src: Path, dst: Path, metadata: dict[str, Any]) -> None:
    """Copies only what the embeddings runner writes per file, plus the task files; never the
    memmaps, predictions or done-markers a previous run may have left (the official runner
    skips a directory holding prediction-done.json)."""
    dst.mkdir(parents=True)
    for name in ("task_metadata.json", "labelvocabulary.csv"):
        shutil.copy2(src / name, dst / name)
    for split in metadata["splits"]:
        shutil.copy2(src / f"{split}.json", dst / f"{split}.json")
        (dst / split).mkdir()
        for item in (src / split).iterdir():
            if item.name.endswith(PER_FILE_SUFFIXES):
                shutil.copy2(item, dst / split / item.name)


# --- the two sides -----------------------------------------------------------------------------


def tail(text: str, lines: int = 25) -> str:
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


def run_logged(cmd: list[str], cwd: Path, env: dict[str, str], log: Path, timeout: float | None):
    start = time.monotonic()
    with log.open("w", encoding="utf-8") as fh:
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout
            )
        except subprocess.TimeoutExpired:
            raise SideError(f"timed out after {timeout} s: {' '.join(cmd)} (log: {log})") from None
    seconds = time.monotonic() - start
    if proc.returncode != 0:
        text = log.read_text(encoding="utf-8", errors="replace")
        raise SideError(
            f"exit {proc.returncode}: {' '.join(cmd)}\n{tail(text)}\n    (full log: {log})"
        )
    return seconds


def reference_env_ok(refpy: Path) -> str | None:
    proc = subprocess.run(
        [str(refpy), "-c", "import heareval.predictions.task_predictions"],
        capture_output=True,
        text=True,
        env=official_env(),
    )
    if proc.returncode != 0:
        return proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "import failed"
    return None


def official_env() -> dict[str, str]:
    env = dict(os.environ)
    # torch >= 2.6 loads checkpoints with weights_only=True by default; the kit's checkpoints
    # pickle torch classes (its hparams), so the kit needs the old behaviour.
    env["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def run_official(refpy: Path, work: Path, rel_task: str, timeout: float | None) -> SideResult:
    helper = work / "memmap_helper.py"
    if not helper.exists():
        helper.write_text(MEMMAP_HELPER, encoding="utf-8")
    env = official_env()
    tag = rel_task.replace("/", "_")
    memmap_seconds = run_logged(
        [str(refpy), str(helper), rel_task], work, env, work / f"{tag}.memmap.log", timeout
    )
    predict_seconds = run_logged(
        [str(refpy), "-m", "heareval.predictions.runner", rel_task],
        work,
        env,
        work / f"{tag}.predictions.log",
        timeout,
    )
    scores_path = work / rel_task / "test.predicted-scores.json"
    scores = load_scores(scores_path.read_text(encoding="utf-8"))
    return SideResult(
        scores=scores,
        seconds=memmap_seconds + predict_seconds,
        detail=f"memmap {memmap_seconds:.1f} s + predictions runner {predict_seconds:.1f} s",
    )


def hearbot_available(hearbot: Path) -> str | None:
    """None when `hearbot evaluate` exists, else why not."""
    if not hearbot.exists():
        return f"{hearbot} does not exist (run scripts/setup.sh)"
    proc = subprocess.run(
        [str(hearbot), "evaluate", "--help"], capture_output=True, text=True, timeout=120
    )
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        return f"`{hearbot} evaluate --help` exited {proc.returncode}" + (
            f": {last[-1]}" if last else ""
        )
    return None


def run_hearbot(
    hearbot: Path, task_copy: Path, extra: list[str], timeout: float | None
) -> SideResult:
    cmd = [str(hearbot), "evaluate", str(task_copy), *extra]
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SideError(f"timed out after {timeout} s: {' '.join(cmd)}") from None
    seconds = time.monotonic() - start
    log = task_copy.parent / f"{task_copy.name}.hearbot.log"
    log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        raise SideError(
            f"exit {proc.returncode}: {' '.join(cmd)}\n{tail(proc.stderr or proc.stdout)}"
            f"\n    (full log: {log})"
        )
    scores_path = task_copy / "test.predicted-scores.json"
    if scores_path.is_file():
        scores = load_scores(scores_path.read_text(encoding="utf-8"))
    else:
        try:
            scores = load_scores(proc.stdout)
        except ValueError:
            raise SideError(
                f"{' '.join(cmd)} wrote no {scores_path} and printed no JSON on stdout"
            ) from None
    return SideResult(scores=scores, seconds=seconds, detail="hearbot evaluate")


# --- scores ------------------------------------------------------------------------------------


def load_scores(text: str) -> dict[str, Any]:
    data = json.loads(text)  # Python's json reads the kit's bare NaN / Infinity
    if not isinstance(data, dict):
        raise ValueError("scores JSON is not an object")
    return data


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):  # non-finite values written as strings
        try:
            return float(value)
        except ValueError:
            return None
    return None


def metric_values(scores: dict[str, Any]) -> dict[str, float | None]:
    """Primary score and every test metric: k-fold -> aggregated means; else -> `test`."""
    out: dict[str, float | None] = {}
    if isinstance(scores.get("aggregated_scores"), dict):
        agg = scores["aggregated_scores"]
        out["test_score (primary)"] = as_number(agg.get("test_score_mean"))
        for key, value in agg.items():
            primary_or_loss = key in ("test_score_mean", "test_loss_mean")
            if key.startswith("test_") and key.endswith("_mean") and not primary_or_loss:
                out[key[: -len("_mean")] + " (mean)"] = as_number(value)
    elif isinstance(scores.get("test"), dict):
        test = scores["test"]
        out["test_score (primary)"] = as_number(test.get("test_score"))
        for key, value in test.items():
            if key.startswith("test_") and key not in ("test_score", "test_loss"):
                out[key] = as_number(value)
    return out


def delta(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    if math.isnan(a) or math.isnan(b):
        return 0.0 if math.isnan(a) and math.isnan(b) else math.inf
    if math.isinf(a) or math.isinf(b):
        return 0.0 if a == b else math.inf
    return abs(a - b)


def fmt(value: float | None, width: int = 12) -> str:
    if value is None:
        return "—".rjust(width)
    if math.isnan(value) or math.isinf(value):
        return str(value).rjust(width)
    return f"{value:.6f}".rjust(width)


def split_summary(scores: dict[str, Any] | None) -> dict[str, str]:
    if not scores:
        return {}
    skip = {"aggregated_scores", "hparams", "postprocessing", "score_mode", "embedding_path"}
    out = {}
    for key, value in scores.items():
        if key in skip or not isinstance(value, dict):
            continue
        score = as_number(value.get("test_score"))
        epoch = value.get("epoch")
        out[key] = f"{fmt(score, 0)} (epoch {epoch})"
    return out


def hparams_summary(scores: dict[str, Any] | None) -> str:
    hp = (scores or {}).get("hparams") or {}
    init = re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"\1", str(hp.get("initialization", "?")))
    return (
        f"hidden_layers={hp.get('hidden_layers', '?')} lr={hp.get('lr', '?')} init={init} "
        f"postprocessing={(scores or {}).get('postprocessing', '?')}"
    )


def report_task(
    name: str, official: SideResult, hearbot: SideResult | None, tolerance: float
) -> TaskOutcome:
    outcome = TaskOutcome(name)
    print(f"\n=== {name}")
    off = metric_values(official.scores or {})
    hb = metric_values(hearbot.scores or {}) if hearbot and hearbot.scores else {}
    names = list(off) + [k for k in hb if k not in off]
    width = max([len("metric"), *(len(n) for n in names)])
    print(f"{'metric'.ljust(width)} | {'official':>12} | {'hearbot':>12} | {'|delta|':>12} |")
    print(f"{'-' * width}-|-{'-' * 12}-|-{'-' * 12}-|-{'-' * 12}-|")
    for metric in names:
        a, b = off.get(metric), hb.get(metric) if hearbot else None
        d = delta(a, b)
        if hearbot is None or hearbot.scores is None:
            verdict = "n/a"
            ok = True
        elif d is None:
            verdict = "MISSING"
            ok = False
        else:
            ok = d <= tolerance
            verdict = "ok" if ok else f"DIFF > {tolerance}"
        outcome.rows.append((metric, a, b, d, ok))
        outcome.failed |= not ok
        print(f"{metric.ljust(width)} | {fmt(a)} | {fmt(b)} | {fmt(d)} | {verdict}")
    off_splits = split_summary(official.scores)
    hb_splits = split_summary(hearbot.scores if hearbot else None)
    if off_splits:
        print("per split, primary test_score (not gated):")
        for split, text in off_splits.items():
            print(f"  {split}: official {text} | hearbot {hb_splits.get(split, '—')}")
    print(f"chosen (official): {hparams_summary(official.scores)}")
    if hearbot and hearbot.scores:
        print(f"chosen (hearbot):  {hparams_summary(hearbot.scores)}")
    line = f"time: official {official.seconds:.1f} s ({official.detail})"
    if hearbot and hearbot.scores:
        ratio = hearbot.seconds / official.seconds if official.seconds else math.inf
        line += f"; hearbot {hearbot.seconds:.1f} s; hearbot/official = {ratio:.3g}x"
    print(line)
    return outcome


# --- main --------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crosscheck.py",
        description="Compare `hearbot evaluate` with the official heareval predictions runner "
        "on embedding task directories (official per-file layout).",
        epilog="Exit: 0 agree (or reference environment absent); 1 a |delta| over tolerance; "
        "2 usage or bad input; 3 a side could not run.",
    )
    parser.add_argument("task_dirs", nargs="+", type=Path, metavar="TASK_DIR")
    parser.add_argument(
        "--refenv",
        type=Path,
        default=Path(os.environ.get("HEAR_REFENV", ROOT / ".refenv")),
        help="reference virtualenv (default: .refenv; env HEAR_REFENV)",
    )
    parser.add_argument(
        "--hearbot",
        type=Path,
        default=ROOT / ".venv" / "bin" / "hearbot",
        help="hearbot executable (default: .venv/bin/hearbot)",
    )
    parser.add_argument(
        "--hearbot-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `hearbot evaluate` (repeatable), e.g. --hearbot-arg=--device=cpu",
    )
    parser.add_argument("--tolerance", type=float, default=0.02, help="max |delta| (0.02)")
    parser.add_argument(
        "--official-only",
        action="store_true",
        help="run only the official side and print its scores (exit 0 if it ran)",
    )
    parser.add_argument("--scratch", type=Path, help="parent of the scratch dir (default: TMP)")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the scratch dir (kept anyway when a side fails; the kit's checkpoints are big)",
    )
    parser.add_argument("--timeout", type=float, help="seconds allowed per side per task")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    refpy = args.refenv / "bin" / "python"
    if not refpy.exists():
        print(
            f"crosscheck: reference environment absent ({args.refenv}); skipping. "
            "Build it with: bash scripts/make-reference-env.sh"
        )
        return EXIT_OK
    try:
        metas = [(Path(t).resolve(), check_task_dir(Path(t))) for t in args.task_dirs]
    except UsageError as exc:
        print(f"crosscheck: {exc}", file=sys.stderr)
        return EXIT_USAGE
    problem = reference_env_ok(refpy)
    if problem:
        print(
            f"crosscheck: reference environment {args.refenv} is broken ({problem}); "
            "rebuild it with: bash scripts/make-reference-env.sh --force",
            file=sys.stderr,
        )
        return EXIT_BROKEN
    hearbot_problem = None if args.official_only else hearbot_available(args.hearbot)
    if hearbot_problem:
        print(f"crosscheck: hearbot evaluate is not available: {hearbot_problem}")
        print("crosscheck: running the official side only; nothing will be compared")

    if args.scratch:
        args.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="hear-crosscheck-", dir=args.scratch))
    print(f"crosscheck: scratch {scratch}; reference env {args.refenv}")
    outcomes: list[TaskOutcome] = []
    totals = [0.0, 0.0]
    broken = False
    try:
        official_root = scratch / "official"
        hearbot_root = scratch / "hearbot"
        for i, (src, meta) in enumerate(metas):
            rel = f"embeddings/{i:02d}/{src.name}"
            copy_per_file_layout(src, official_root / rel, meta)
            name = f"[{i:02d}] {src.name} ({meta['task_name']}, {meta['embedding_type']}, {src})"
            try:
                official = run_official(refpy, official_root, rel, args.timeout)
            except (SideError, OSError, ValueError) as exc:
                print(f"\n=== {name}\ncrosscheck: the official kit failed: {exc}")
                outcomes.append(TaskOutcome(name, broken=True))
                broken = True
                continue
            hearbot = None
            if not args.official_only and not hearbot_problem:
                copy = hearbot_root / f"{i:02d}" / src.name
                copy_per_file_layout(src, copy, meta)
                try:
                    hearbot = run_hearbot(args.hearbot, copy, args.hearbot_arg, args.timeout)
                except (SideError, OSError, ValueError) as exc:
                    print(f"\ncrosscheck: hearbot evaluate failed on {src}: {exc}")
                    hearbot = SideResult(error=str(exc))
                    broken = True
            outcome = report_task(name, official, hearbot, args.tolerance)
            outcomes.append(outcome)
            totals[0] += official.seconds
            if hearbot and hearbot.scores:
                totals[1] += hearbot.seconds
    finally:
        if args.keep or broken:
            du = subprocess.run(["du", "-sh", str(scratch)], capture_output=True, text=True)
            size = du.stdout.split()[0] if du.stdout else "?"
            print(f"\ncrosscheck: kept {scratch} ({size})")
        else:
            shutil.rmtree(scratch, ignore_errors=True)

    compared = [o for o in outcomes if o.rows and not o.broken]
    failed = [o for o in outcomes if o.failed]
    print()
    if totals[1]:
        print(
            f"crosscheck: total time official {totals[0]:.1f} s, hearbot {totals[1]:.1f} s, "
            f"hearbot/official = {totals[1] / totals[0]:.3g}x"
        )
    if failed:
        print(
            f"crosscheck: DISAGREE on {len(failed)} of {len(outcomes)} task(s) "
            f"(tolerance {args.tolerance})"
        )
        return EXIT_DIFF
    if broken or hearbot_problem:
        print("crosscheck: INCOMPLETE: a side could not run (see above)")
        return EXIT_BROKEN
    if args.official_only:
        print(f"crosscheck: official side ran on {len(compared)} task(s); nothing compared")
        return EXIT_OK
    print(f"crosscheck: AGREE on {len(compared)} task(s) within {args.tolerance}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
