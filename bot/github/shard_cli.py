"""``hearbot github plan-shards|merge-results``: the fan-out of verify.yml's GPU work.

- ``plan-shards`` (the read-only plan job, after ``fetch-submission``): which columns each GPU
  shard verifies, balanced by audio hours, as a matrix file (and the ``matrix`` job output);
- ``merge-results`` (the report job, before ``report-verification``): the shards' downloaded
  artifacts (untrusted) merged into one result folder that ``report-verification --merged``
  reads.

Neither needs a token. Exit codes: 0 done (shards without a result are part of the merged
result, or of its absence, never a crash); 2 bad arguments, plan or columns.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from bot.common import strict_json
from bot.common.fileio import write_atomic
from bot.github.artifact import RESULT_FILE, STALE_FILE
from bot.github.verify_cli import EXIT_CONFIG, EXIT_OK, _columns, _pr_number, _sha

MAX_PLAN_BYTES = 64 * 1024


class ShardArgumentError(ValueError):
    """An argument or input file of plan-shards or merge-results is unusable."""


def register_shard_commands(commands: Any) -> None:
    plan = commands.add_parser(
        "plan-shards",
        help="split the columns to verify into GPU shards balanced by audio hours",
        description=(
            "Reads the submission fetch-submission wrote (DIR/base.csv, head.csv, "
            "manifest.json; absent when stale) to learn which columns the row claims, and "
            'writes the matrix {"include": [{"shard", "columns", "hours"}]} to --output '
            "(and, with --github-output, as the job output `matrix`, with `stale` true when "
            "fetch-submission found the PR had moved on: then no GPU shard needs to run)."
        ),
    )
    plan.add_argument("--submission", required=True, type=Path, metavar="DIR")
    plan.add_argument("--columns", default="[]", help="JSON list of columns (default: all)")
    plan.add_argument("--max-shards", required=True, type=_count, metavar="N")
    plan.add_argument(
        "--hours-per-shard",
        type=_hours,
        default=None,
        metavar="H",
        help="use fewer shards when they would hold less than H audio hours (empty: no target)",
    )
    plan.add_argument("--output", required=True, type=Path, metavar="FILE")
    plan.add_argument(
        "--github-output", action="store_true", help="also append matrix=... to $GITHUB_OUTPUT"
    )
    plan.set_defaults(func=cmd_plan_shards)

    merge = commands.add_parser(
        "merge-results",
        help="merge the GPU shards' results (untrusted) into one result folder",
    )
    merge.add_argument("--shards", required=True, type=Path, metavar="DIR")
    merge.add_argument("--planned", required=True, type=Path, metavar="FILE")
    merge.add_argument("--columns", default="[]", help="JSON list of columns (default: all)")
    merge.add_argument("--pr", required=True, type=_pr_number, metavar="N")
    merge.add_argument("--sha", required=True, type=_sha, metavar="SHA")
    merge.add_argument("--out", required=True, type=Path, metavar="DIR")
    merge.set_defaults(func=cmd_merge_results)


def cmd_plan_shards(args: argparse.Namespace) -> int:
    from bot.github.shards import PlanError, columns_to_plan, matrix, plan_shards

    try:
        requested = _requested(args.columns)
        columns, spread = columns_to_plan(requested, _claimed(args.submission))
        shards = plan_shards(columns, args.max_shards if spread else 1, args.hours_per_shard)
        document = matrix(shards)
        compact = json.dumps(document, separators=(",", ":"))
        output = os.environ.get("GITHUB_OUTPUT", "") if args.github_output else ""
        if args.github_output and not output:
            raise ShardArgumentError("--github-output: GITHUB_OUTPUT is not set")
        stale = (args.submission / STALE_FILE).is_file()
        write_atomic(args.output, json.dumps(document, indent=2).encode() + b"\n")
        if output:
            with open(output, "a", encoding="utf-8") as handle:
                handle.write(f"matrix={compact}\nstale={'true' if stale else 'false'}\n")
    except (PlanError, ShardArgumentError) as exc:
        return _fail("plan-shards", str(exc))
    if stale:
        print("stale: the pull request moved on; no GPU shard needs to run")
    for shard in shards:
        print(f"shard {shard.number}: {shard.hours:.1f} h: {', '.join(shard.columns)}")
    return EXIT_OK


def cmd_merge_results(args: argparse.Namespace) -> int:
    from bot.common.schemas import leaderboard_facts
    from bot.github.shard_artifacts import read_shard_inputs
    from bot.github.shard_merge import merge_shards
    from bot.github.shards import PlanError, parse_plan

    try:
        plan = parse_plan(_read_plan(args.planned))
        listed = _requested(args.columns) or leaderboard_facts().score_columns
        inputs, notes = read_shard_inputs(args.shards, plan, args.pr, args.sha)
        merged = merge_shards(plan, listed, inputs)
    except (PlanError, ShardArgumentError) as exc:
        return _fail("merge-results", str(exc))
    for name in (RESULT_FILE, STALE_FILE):
        (args.out / name).unlink(missing_ok=True)
    for note in [*notes, *merged.notes]:
        print(note)
    if merged.stale is not None:
        write_atomic(args.out / STALE_FILE, json.dumps(merged.stale, indent=2).encode() + b"\n")
        print(f"stale: the head moved to {merged.stale['current_head_sha']}")
    elif merged.result is not None:
        data = json.dumps(merged.result, indent=2, allow_nan=False).encode() + b"\n"
        write_atomic(args.out / RESULT_FILE, data)
        verification = merged.result["verification"]
        print(f"merged {len(plan)} shard(s): {verification['verdict']}")
    else:
        print("no shard left a result; nothing to merge")
    return EXIT_OK


def _requested(text: str) -> tuple[str, ...]:
    from bot.github.commands import Malformed, parse_columns
    from bot.github.env import ConfigError

    try:
        return tuple(_columns(text, parse_columns, Malformed))
    except ConfigError as exc:
        raise ShardArgumentError(str(exc)) from None


def _claimed(submission: Path) -> frozenset[str] | None:
    """The columns the submission's row claims, or None when the files are absent (stale) or
    the submission does not pass validation (``hearbot verify`` then runs nothing)."""
    from bot.common.schemas import leaderboard_facts
    from bot.submission.validate import BaseFileError, Submission, validate

    paths = [submission / name for name in ("base.csv", "head.csv", "manifest.json")]
    if not all(path.is_file() for path in paths):
        return None
    base, head, manifest = (path.read_bytes() for path in paths)
    try:
        result = validate(Submission(base, head, named_manifest=(str(paths[2]), manifest)))
    except BaseFileError:
        return None
    if result["errors"] or result["submission"] is None:
        return None
    row = result["submission"]["row"]
    return frozenset(name for name in leaderboard_facts().score_columns if row.get(name))


def _read_plan(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ShardArgumentError(f"--planned {path}: {exc.strerror}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise ShardArgumentError(f"--planned {path} is larger than {MAX_PLAN_BYTES} bytes")
    try:
        return strict_json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ShardArgumentError(f"--planned {path} is not strict JSON: {exc}") from None


def _count(text: str) -> int:
    from bot.github.shards import MAX_SHARDS

    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_SHARDS:
        message = f"{text[:20]!r} is not a shard count from 1 to {MAX_SHARDS}"
        raise argparse.ArgumentTypeError(message)
    return int(text)


def _hours(text: str) -> float | None:
    if text == "":
        return None
    try:
        hours = float(text)
    except ValueError:
        hours = math.nan
    if not (hours > 0 and math.isfinite(hours)):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a positive number of hours")
    return hours


def _fail(command: str, message: str) -> int:
    print(f"hearbot github {command}: error: {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        one_line = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=hearbot github::{one_line}", file=sys.stderr)
    return EXIT_CONFIG
