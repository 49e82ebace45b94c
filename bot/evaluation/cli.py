"""`hearbot evaluate TASK_DIR [TASK_DIR ...]`: the official downstream protocol, per task."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.evaluation.errors import EvaluationInputError, EvaluationUsageError

# bot.evaluation.protocol (torch) is imported by the command itself, so that registering
# `hearbot evaluate` costs the other commands nothing at start-up.

EXIT_OK, EXIT_INPUT, EXIT_INFRA = 0, 2, 3


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def _primary_metric(scores: dict[str, Any], task_dir: Path) -> str:
    """The task's primary metric: the first of its task_metadata.json evaluation list."""
    import json

    metadata = json.loads((task_dir / "task_metadata.json").read_text(encoding="utf-8"))
    return str(metadata["evaluation"][0])


def primary_score(scores: dict[str, Any]) -> float:
    """The number a leaderboard cell holds: test_score_mean over folds, else test.test_score."""
    if "aggregated_scores" in scores:
        return float(scores["aggregated_scores"]["test_score_mean"])
    return float(scores["test"]["test_score"])


def ensemble_summary(out_dir: Path, metric: str) -> str:
    """The tab-separated tail of a task's stdout line: the members' mean, sd and range (with
    more than one member), their per-clip sd (a metric that is a share of clips) and the
    bootstrap 95% interval over test clips of member 0's score (clip-level tasks)."""
    import math

    from bot.evaluation.bootstrap import bootstrap_ci
    from bot.evaluation.clip_spread import clip_sd_of_files
    from bot.evaluation.scores import MEMBERS_FILE, PREDICTIONS_FILE, load_members

    parts = []
    members = [primary_score(m) for m in load_members(out_dir / MEMBERS_FILE)]
    if len(members) > 1:
        mean = math.fsum(members) / len(members)
        sd = math.sqrt(math.fsum((m - mean) ** 2 for m in members) / (len(members) - 1))
        parts.append(
            f"members={len(members)} mean={mean:.4f} sd={sd:.4f} "
            f"range=[{min(members):.4f}, {max(members):.4f}]"
        )
    if (out_dir / PREDICTIONS_FILE).is_file():
        clip_sd = clip_sd_of_files([out_dir / PREDICTIONS_FILE], metric)
        if clip_sd is not None:
            parts.append(f"clip_sd={clip_sd:.4f}")
        ci = bootstrap_ci([out_dir / PREDICTIONS_FILE], metric)
        parts.append("ci95=undefined" if ci is None else f"ci95=[{ci[0]:.4f}, {ci[1]:.4f}]")
    return "".join("\t" + part for part in parts)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate each task in turn; one task's failure neither stops nor loses the others.
    Exit 2 if any task had an input (or usage) error, else 3 if any failed otherwise, else 0."""
    from bot.evaluation.protocol import evaluate_task

    status = EXIT_OK
    for task_dir in args.task_dirs:
        try:
            scores = evaluate_task(
                task_dir,
                device=args.device,
                grid_points=args.grid_points,
                max_epochs=args.max_epochs,
                mode=args.mode,
                in_memory=args.in_memory,
                seeds=args.seeds,
                together=args.together,
                log=lambda line, name=task_dir.name: print(f"{name}: {line}", file=sys.stderr),
            )
            summary = ensemble_summary(task_dir, _primary_metric(scores, task_dir))
        except (EvaluationInputError, EvaluationUsageError) as exc:
            print(f"hearbot: error: {exc}", file=sys.stderr)
            status = EXIT_INPUT
            continue
        except Exception as exc:  # one task's crash must not lose the other tasks
            print(f"hearbot: error: {task_dir}: {type(exc).__name__}: {exc}", file=sys.stderr)
            status = EXIT_INPUT if status == EXIT_INPUT else EXIT_INFRA
            continue
        print(f"{task_dir}\t{primary_score(scores)}{summary}")
    return status


def register_evaluate_command(subparsers: Any) -> argparse.ArgumentParser:
    """Add `evaluate` to a `parser.add_subparsers()` object; `args.func(args)` returns the exit
    code: 0 all tasks done, 2 an input error (the message names task, file and check), 3 an
    unexpected failure. Scores go to TASK_DIR/test.predicted-scores.json; stdout gets one
    `TASK_DIR<TAB>primary score` line per finished task (member 0's), followed, tab-separated,
    by the members' summary (with --seeds K > 1) and the bootstrap 95% interval over test clips
    (clip-level tasks)."""
    parser = subparsers.add_parser(
        "evaluate",
        help="run the official HEAR downstream protocol on embedding task directories",
        description=(
            "Train and test the HEAR downstream classifiers exactly as heareval 2021.1.3's "
            "predictions runner does, and write TASK_DIR/test.predicted-scores.json."
        ),
    )
    parser.add_argument("task_dirs", nargs="+", type=Path, metavar="TASK_DIR")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument(
        "--grid-points", type=_positive_int, default=8, help="grid points tried (default: 8)"
    )
    parser.add_argument(
        "--max-epochs",
        type=_positive_int,
        default=None,
        help="DEVIATES FROM THE PROTOCOL: cap every max_epochs (default: the protocol's 500 or "
        "the task's own value); for tests and demonstrations only",
    )
    parser.add_argument(
        "--mode",
        choices=("exact", "batched"),
        default="exact",
        help="exact (default): the official kit's numbers bit for bit on CPU, one grid point "
        "after another; batched: grid points (and retrained folds) trained together, much "
        "faster, with other random draws, so the numbers differ slightly",
    )
    parser.add_argument(
        "--exact",
        dest="mode",
        action="store_const",
        const="exact",
        help="the same as --mode exact",
    )
    parser.add_argument(
        "--seeds",
        type=_positive_int,
        default=1,
        metavar="K",
        help="a seed ensemble of K members (default 1): member 0 is the kit's run, members "
        "1..K-1 the same protocol with other training draws; prints the members' mean, sd "
        "and range; all members' scores go to TASK_DIR/test.members.json",
    )
    members = parser.add_mutually_exclusive_group()
    members.add_argument(
        "--together",
        dest="together",
        action="store_true",
        default=None,
        help="train members 1..K-1 together, one stacked training per layer shape (the "
        "default on a GPU)",
    )
    members.add_argument(
        "--one-by-one",
        dest="together",
        action="store_false",
        help="train members 1..K-1 one after another in --mode, member k with torch seeded "
        "42+k (the default on a CPU)",
    )
    parser.add_argument(
        "--in-memory",
        action="store_true",
        help="hold the embeddings in RAM; by default they are streamed into unnamed spill "
        "files in TASK_DIR and memory-mapped for training (same numbers, bounded memory)",
    )
    parser.set_defaults(func=cmd_evaluate)
    return parser
