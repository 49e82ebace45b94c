"""Re-verifying an unchanged submission (a push that changed only the claimed numbers) against
verifying it cold, measured in one run on the same machine.

Synthesises the demo's three stand-in tasks, builds the example model's wheel, and runs
`hearbot verify` (sandboxed, installing the pinned wheel) three times:

1. cold: an empty work directory (install, check-model, embed, evaluate);
2. cached: the same work directory, the same model, other claimed numbers;
3. resumed: the same model after its embeddings of one task were half deleted (a run killed
   mid-split): only the missing clips are embedded again.

Prints per-run wall times and the ratios cold / cached and cold / resumed.
Usage: .venv/bin/python benchmarks/reverify_speed.py [--max-epochs 20] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.common.schemas import leaderboard_facts  # noqa: E402
from bot.demo import STAND_INS, build_example_wheel, manifest, row  # noqa: E402
from bot.hear.synth import write_tasks  # noqa: E402
from bot.submission.leaderboard.names import slug  # noqa: E402
from bot.submission.validate import Submission  # noqa: E402
from bot.verify.options import VerifyOptions  # noqa: E402
from bot.verify.pipeline import verify  # noqa: E402

MODEL = "HEAR benchmark re-verify"


def submission(folder: Path, wheel: Path, claim: str) -> Submission:
    not_run = [c for c in leaderboard_facts().score_columns if c not in STAND_INS]
    document = json.dumps(manifest(MODEL, wheel, not_run)).encode()
    base = (REPO / "leaderboard.csv").read_bytes()
    head = base + b"\n" + row(MODEL, {c: Decimal(claim) for c in STAND_INS}).encode()
    return Submission(base, head, named_manifest=(f"submissions/{slug(MODEL)}.json", document))


def timed(sub: Submission, options: VerifyOptions) -> tuple[float, dict]:
    start = time.perf_counter()
    result = verify(sub, options, echo=False)
    return time.perf_counter() - start, result["verification"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-epochs", type=int, default=20)
    parser.add_argument("--out", type=Path, help="keep the work here (default: a temp dir)")
    args = parser.parse_args()
    root = args.out or Path(tempfile.mkdtemp(prefix="hearbot-reverify-"))
    tasks = root / "tasks"
    write_tasks(tasks, (16000,), 0, ("synth_tones", "synth_mixtures", "synth_events"))
    wheel = build_example_wheel(root / "dist")

    def options(name: str) -> VerifyOptions:
        return VerifyOptions(
            tasks_dir=tasks,
            out=root / name,
            device="cpu",
            work=root / "work",
            max_epochs=args.max_epochs,
            stand_ins=dict(STAND_INS),
            find_links=[wheel.parent],
        )

    cold, first = timed(submission(root, wheel, "0.5"), options("cold"))
    cached, second = timed(submission(root, wheel, "0.6"), options("cached"))
    events = next((root / "work" / "embeddings").glob(f"*/{STAND_INS['DCASE 2016']}"))
    done = sorted(events.glob("*/*.target-labels.json"))
    for labels in done[: len(done) // 2]:
        labels.unlink()
    (events / "embeddings.done.json").unlink()
    resumed, third = timed(submission(root, wheel, "0.7"), options("resumed"))

    same = [c["reproduced"] for c in first["columns"]] == [
        c["reproduced"] for c in second["columns"]
    ]
    report = {
        "cold_s": round(cold, 2),
        "cached_s": round(cached, 2),
        "resumed_s": round(resumed, 2),
        "cold_timings": first["timings"],
        "cached_timings": second["timings"],
        "resumed_timings": third["timings"],
        "same_scores": same,
        "ratio_cold_over_cached": round(cold / cached, 1),
        "ratio_cold_over_resumed": round(cold / resumed, 1),
    }
    print(json.dumps(report, indent=2))
    print(
        f"re-verify of an unchanged submission: {report['ratio_cold_over_cached']}x faster "
        f"than cold ({cached:.1f} s vs {cold:.1f} s); after half of one task's embeddings were "
        f"lost: {report['ratio_cold_over_resumed']}x ({resumed:.1f} s)"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
