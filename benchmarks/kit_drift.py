"""Real drift, judged: the official kit's own result under other torch versions, judged as an
honest claim against hearbot's seed ensemble on the same embeddings.

The official kit is deterministic per torch version but not across versions. A submitter who
ran it under another torch than the project's makes an honest claim that differs from hearbot's
member 0 (the kit's run under the project's torch). For each embedding task directory
(official per-file layout, e.g. the kit's embeddings of the real spoken_digit task), this
script runs

- `evaluate_task(seeds=K)` here (or reuses what `hearbot evaluate --seeds K TASK_DIR` left in
  the directory, with the same threads): member 0 (the kit's run, bit for bit) and K-1 more members,
  and their per-clip sd (bot/evaluation/clip_spread.py);
- the official kit in every `--kit-env` (scripts/make-reference-env.sh with REFENV and
  TORCH_SPEC, e.g. torch==2.6.0), on a copy;

and judges each kit result, as the claimed score, under the rule of `--column` (default
ESC-50, a 5-fold top1 column like spoken_digit). It prints one line per claim and writes the
measurements (members, per-clip hits, kit results) and the outcomes to `--out` as JSON;
tests/verify/test_real_drift.py re-judges them under the current rule.

    .venv/bin/python benchmarks/kit_drift.py \\
        EMBEDDINGS/hearbaseline.naive/spoken_digit-1.0.9-small \\
        --kit-env ../refenv-torch26 --kit-env .refenv --seeds 5 \\
        --out benchmarks/results/spoken-digit-kit-drift.json

Exit status: 0 no kit result was judged `mismatch`; 1 one was (the rule would fail an honest
submitter); 2 usage (a task directory or an environment is missing).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from bot.common.fileio import write_atomic  # noqa: E402
from bot.common.schemas import leaderboard_facts  # noqa: E402
from bot.evaluation import evaluate_task  # noqa: E402
from bot.evaluation.cli import primary_score  # noqa: E402
from bot.evaluation.clip_spread import column_clip_sd, hits_as_text, member_hits  # noqa: E402
from bot.evaluation.scores import (  # noqa: E402
    LOG_FILE,
    MEMBERS_FILE,
    PREDICTIONS_FILE,
    load_members,
)
from bot.hear.tasks import read_metadata  # noqa: E402
from bot.verify.verdict import ColumnEvidence, judge_column  # noqa: E402
from tests import official_kit  # noqa: E402


def measure_task(
    task: Path, kits: list[official_kit.Env], seeds: int, threads: int, scratch: Path
) -> dict[str, object]:
    """hearbot's K members (scores, per-clip hits, per-clip sd) and each kit's result."""
    metric = read_metadata(task).primary_metric
    out = scratch / task.name
    start = time.monotonic()
    if evaluated_in_place(task, seeds, threads):
        out = task
        print(f"{task}: reusing its `hearbot evaluate --seeds {seeds}` ({threads} threads)")
    else:
        torch.set_num_threads(threads)
        evaluate_task(task, device="cpu", seeds=seeds, out_dir=out)
    hearbot_s = time.monotonic() - start
    members = [primary_score(m) for m in load_members(out / MEMBERS_FILE)]
    predictions = out / PREDICTIONS_FILE
    hits = member_hits(predictions, metric) if predictions.is_file() else None
    kit_results: dict[str, float] = {}
    kit_seconds: dict[str, float] = {}
    for kit in kits:
        start = time.monotonic()
        kit_results[kit.torch] = primary_score(official_kit.run(task, threads, kit.python))
        kit_seconds[kit.torch] = round(time.monotonic() - start, 1)
    return {
        "task": task.name,
        # the kit's embeddings layout is embeddings/<module>[-<options>]/<task>
        "model": task.parent.name.split("-", 1)[0],
        "embeddings": f"{task.parent.name}/{task.name}",
        "metric": metric,
        "members": members,
        "clip_sd": None if hits is None else column_clip_sd([hits]),
        "hits": None if hits is None else hits_as_text(hits),
        "kit": kit_results,
        "seconds": {"hearbot": round(hearbot_s, 1), "kit": kit_seconds},
    }


def evaluated_in_place(task: Path, seeds: int, threads: int) -> bool:
    """Whether `hearbot evaluate --seeds K TASK_DIR` already ran on this task directory with
    these seeds and torch threads (its log's first line says both), leaving the members and
    their per-clip predictions there: the same numbers as running it again on this machine."""
    log, members = task / LOG_FILE, task / MEMBERS_FILE
    if not (log.is_file() and members.is_file() and (task / PREDICTIONS_FILE).is_file()):
        return False
    first = log.read_text(encoding="utf-8", errors="replace").partition("\n")[0]
    return (
        f", {threads} threads," in first
        and f", seeds {seeds}," in first
        and ", mode exact," in first
        and len(load_members(members)) == seeds
    )


def cpu_name() -> str:
    """The CPU's model name (results differ across CPUs: say which one gave them)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def judge(column_name: str, measured: dict) -> dict[str, dict[str, object]]:
    """Each kit result judged as a claim against the members under the column's rule."""
    column = leaderboard_facts().column(column_name)
    members = tuple(measured["members"])
    judged = {}
    for version, claim in measured["kit"].items():
        evidence = ColumnEvidence(
            column,
            f"{claim:.9f}",
            reproduced=members[0],
            members=members,
            clip_sd=measured["clip_sd"],
        )
        result = judge_column(evidence)
        judged[version] = {"outcome": str(result["outcome"]), "detail": result["detail"]}
    return judged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task_dirs", nargs="+", type=Path, metavar="TASK_DIR")
    parser.add_argument("--kit-env", type=Path, action="append", required=True, help="repeatable")
    parser.add_argument("--seeds", type=int, default=5, help="K, hearbot's members (5)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, both sides")
    parser.add_argument("--column", default="ESC-50", help="whose rule judges the claims")
    parser.add_argument("--out", type=Path, help="write the measurements and outcomes (JSON)")
    args = parser.parse_args(argv)
    for task in args.task_dirs:
        if not (task / "task_metadata.json").is_file():
            parser.error(f"{task} is not an embedding task directory (no task_metadata.json)")
    if args.column not in {c.name for c in leaderboard_facts().columns}:
        parser.error(f"--column {args.column!r} is not a leaderboard column")
    kits = [official_kit.Env.at(path) for path in args.kit_env]
    scratch = Path(tempfile.mkdtemp(prefix="kit-drift-"))
    tasks = []
    mismatch = False
    try:
        for task in args.task_dirs:
            measured = measure_task(task.absolute(), kits, args.seeds, args.threads, scratch)
            measured["judged"] = judge(args.column, measured)
            tasks.append(measured)
            members = ", ".join(f"{m:.3f}" for m in measured["members"])
            print(f"{task}: hearbot (torch {torch.__version__}) members {members}, per-clip sd "
                  f"{measured['clip_sd']}")  # fmt: skip
            for version, claim in measured["kit"].items():
                outcome = measured["judged"][version]
                mismatch |= outcome["outcome"] == "mismatch"
                print(f"  kit under torch {version}: {claim:.4f} -> {outcome['outcome']}: "
                      f"{outcome['detail']}")  # fmt: skip
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.out:
        document = {
            "column": args.column,
            "threads": args.threads,
            "hearbot_torch": torch.__version__,
            "machine": cpu_name(),
            "tasks": tasks,
        }
        write_atomic(args.out, (json.dumps(document, indent=1) + "\n").encode("utf-8"))
        print(f"wrote {args.out}")
    return 1 if mismatch else 0


if __name__ == "__main__":
    raise SystemExit(main())
