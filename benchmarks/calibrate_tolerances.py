"""Calibrate the verdict's rule (bot/verify/verdict.py): measure the protocol's own spread per
column shape and simulate how often honest claims fail and inflated claims pass; write the
table to docs/tolerances.md.

Column shapes come from schemas/tasks.json (embedding type, prediction type, split mode and
folds, primary metric). For each shape a synthetic task of that shape is evaluated (tests/
evaluation/synth.py: embeddings drawn around class prototypes, so no model has to run) with
`--runs` N seeds (member 0 is the kit's run, member k torch seed 42 + k), and twice more as an
honest submitter on other hardware would: `--mode batched` (other random draws) and another
torch thread count. Optionally the real spoken_digit task (`--spoken-digit DIR`: its
embeddings, e.g. from the example model) is measured the same way.

Then, per shape, with K members (the published K) and the rule of tasks.json:
- empirical false fail: every K-subset of the N seeds is an ensemble, and every measured run
  outside it (the other seeds, batched, other threads) an honest claim; the share judged
  `mismatch`;
- empirical false pass: the same claims inflated by 3 sd (the N seeds' sd); the share judged
  `reproduced`;
- the same two rates by simulation (normal draws with the measured sd, `--trials` each), and
  the share `inconclusive`.

Scale: the real column sizes are too slow for a shared 2-core machine, so clips per split are
capped (`--clips`) and training uses a short schedule (`--epochs`); the doc says which. Usage:
    .venv/bin/python benchmarks/calibrate_tolerances.py [--runs 8] [--clips 60] [--epochs 12]
        [--spoken-digit EMBEDDINGS/spoken_digit-1.0.9-small] [--out docs/tolerances.md]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from bot.common.fileio import write_atomic  # noqa: E402
from bot.common.schemas import Column, leaderboard_facts  # noqa: E402
from bot.evaluation import evaluate_task  # noqa: E402
from bot.evaluation.cli import primary_score  # noqa: E402
from bot.evaluation.clip_spread import (  # noqa: E402
    column_clip_sd,
    hits_as_text,
    hits_from_text,
    member_hits,
)
from bot.evaluation.scores import MEMBERS_FILE, PREDICTIONS_FILE, load_members  # noqa: E402
from bot.hear.tasks import read_metadata  # noqa: E402
from bot.verify.verdict import (  # noqa: E402
    ColumnEvidence,
    Interval,
    judge_column,
    prediction_interval,
)
from tests import official_kit  # noqa: E402
from tests.evaluation.synth import make_event_task, make_scene_task  # noqa: E402

K = 5  # the published K (bot/cli.py DEFAULT_VERIFY_SEEDS); chosen from the K table below
INFLATION_SD = 3.0
KIT_CLAIM = "kit under torch "  # an honest claim by the official kit: KIT_CLAIM + version


@dataclass(frozen=True)
class Shape:
    embedding_type: str
    prediction_type: str
    split_mode: str
    folds: int | None
    metric: str

    def describe(self) -> str:
        split = f"{self.folds}-fold" if self.folds else "train/valid/test"
        return f"{self.embedding_type} {self.prediction_type} {split}, {self.metric}"


@dataclass
class Measured:
    shape: Shape
    columns: list[Column]
    clips_per_split: int
    seeds: list[float]  # member k of an N-member ensemble, member 0 first
    others: dict[str, float]  # honest runs under other conditions
    seconds: float
    # Per member, per test split: which clips it got right ("0"/"1" per clip), for a metric
    # that is a share of clips (bot/evaluation/clip_spread.py); None for other metrics.
    hits: list[list[str]] | None = None

    def clip_sd(self, subset: Sequence[int]) -> float | None:
        """The per-clip sd of the ensemble made of the members in `subset`."""
        if self.hits is None:
            return None
        return column_clip_sd([hits_from_text([self.hits[i] for i in subset])])


def shape_of(column: Column) -> Shape:
    return Shape(
        column.embedding_type,
        column.prediction_type,
        column.split_mode,
        column.folds,
        column.primary_metric,
    )


def synthetic_task(root: Path, shape: Shape, clips: int, epochs: int, seed: int) -> Path:
    splits = (
        tuple(f"fold{i:02d}" for i in range(shape.folds))
        if shape.folds
        else ("train", "valid", "test")
    )
    split_mode = "new_split_kfold" if shape.folds else "trainvaltest"
    grid = {"max_epochs": [epochs], "check_val_every_n_epoch": [3], "hidden_dim": [64]}
    name = "_".join(str(p) for p in (shape.embedding_type, shape.prediction_type, shape.folds or 0))
    task_dir = root / f"{name}_{shape.metric}"
    if shape.embedding_type == "event":
        return make_event_task(
            task_dir,
            split_mode=split_mode,
            splits=splits,
            evaluation=(shape.metric, "segment_1s_er"),
            files_per_split=max(4, clips // 10),
            noise=1.0,
            seed=seed,
            grid=grid,
        )
    extra = ("d_prime", "aucroc") if shape.prediction_type == "multilabel" else ()
    return make_scene_task(
        task_dir,
        split_mode=split_mode,
        splits=splits,
        prediction_type=shape.prediction_type,
        evaluation=(shape.metric, *[m for m in extra if m != shape.metric]),
        n_labels=2 if shape.metric == "aucroc" else max(2, min(10, clips // 4)),
        dim=32,
        files_per_split=clips,
        noise=6.0 if shape.metric == "aucroc" else 2.5,
        seed=seed,
        grid=grid,
    )


def measure(
    task: Path, out: Path, runs: int, threads: int, kits: Sequence[official_kit.Env] = ()
) -> tuple[list[float], dict[str, float], list[list[str]] | None]:
    """The N seeds' scores, the honest others' (batched, another thread count, the official
    kit in each of `kits`) and the seeds' per-clip hits."""
    torch.set_num_threads(threads)
    evaluate_task(task, device="cpu", seeds=runs, out_dir=out / "exact")
    seeds = [primary_score(m) for m in load_members(out / "exact" / MEMBERS_FILE)]
    others = {
        "batched": primary_score(
            evaluate_task(task, device="cpu", mode="batched", out_dir=out / "b")
        )
    }
    torch.set_num_threads(threads + 1)
    others[f"{threads + 1} threads"] = primary_score(
        evaluate_task(task, device="cpu", out_dir=out / "t")
    )
    torch.set_num_threads(threads)
    for kit in kits:
        others[f"{KIT_CLAIM}{kit.torch}"] = primary_score(
            official_kit.run(task, threads, kit.python)
        )
    return seeds, others, hit_strings(out / "exact" / PREDICTIONS_FILE, task)


def hit_strings(path: Path, task: Path) -> list[list[str]] | None:
    """Per member, per test split, its hits as a string of 0/1 (bot/evaluation/clip_spread.py);
    None when the task's metric is not a share of clips or it left no per-clip predictions."""
    hits = member_hits(path, read_metadata(task).primary_metric) if path.is_file() else None
    return None if hits is None else hits_as_text(hits)


def judged(
    column: Column, claim: float, members: Sequence[float], clip_sd: float | None = None
) -> str:
    evidence = ColumnEvidence(
        column, f"{claim:.9f}", reproduced=members[0], members=tuple(members), clip_sd=clip_sd
    )
    return judge_column(evidence)["outcome"]


def empirical(
    column: Column, m: Measured, k: int, per_clip: bool = True
) -> tuple[float, float, int]:
    """(false fail, false pass, judgments) over every k-subset of the seeds; `per_clip`: the
    rule as published (the larger of sd and per-clip sd), else the members' sd alone."""
    sd = statistics.stdev(m.seeds)
    fails = passes = count = 0
    if len(m.seeds) <= k and not m.others:
        return math.nan, math.nan, 0
    for subset in itertools.combinations(range(len(m.seeds)), k):
        members = [m.seeds[i] for i in subset]
        clip_sd = m.clip_sd(subset) if per_clip else None
        claims = [m.seeds[i] for i in range(len(m.seeds)) if i not in subset]
        claims += list(m.others.values())
        for claim in claims:
            count += 1
            fails += judged(column, claim, members, clip_sd) == "mismatch"
            inflated = claim + INFLATION_SD * sd if column.higher_is_better else claim - 3 * sd
            passes += judged(column, inflated, members, clip_sd) == "reproduced"
    return fails / count, passes / count, count


def simulated(
    column: Column, sd: float, k: int, trials: int, seed: int = 0
) -> tuple[float, float, float]:
    """(false fail, false pass, inconclusive) for normal draws with standard deviation `sd`."""
    rng = np.random.default_rng(seed)
    fails = passes = noisy = 0
    for _ in range(trials):
        members = (0.5 + sd * rng.standard_normal(k)).tolist()
        claim = 0.5 + sd * float(rng.standard_normal())
        interval = prediction_interval(
            members, floor=column.floor, cap=column.cap, confidence=column.confidence
        )
        if interval.too_wide:
            noisy += 1
            continue
        fails += claim > interval.high
        inflated = claim + INFLATION_SD * sd
        passes += interval.low <= inflated <= interval.high
    return fails / trials, passes / trials, noisy / trials


def k_table(confidence: float, trials: int) -> list[str]:
    """Width of the interval in sd and the rates at unit sd, no floor and no cap, per K."""
    unit = Column(
        name="unit",
        domain="none",
        task_dirs=("x",),
        split_mode="trainvaltest",
        folds=None,
        embedding_type="scene",
        prediction_type="multiclass",
        primary_metric="top1_acc",
        score_key="test.test_score",
        aggregation="single",
        floor=1e-12,
        cap=1e9,
        confidence=confidence,
        higher_is_better=True,
        audio_hours=1.0,
        clips=1,
    )
    lines = [
        "| K | t·√(1+1/K) | false fail (honest) | false pass (claim + 3 sd) |",
        "|---:|---:|---:|---:|",
    ]
    from bot.verify.verdict import student_t

    for k in (2, 3, 4, 5, 6, 8, 10, 20):
        width = student_t(confidence, k - 1) * math.sqrt(1 + 1 / k)
        fail, false_pass, _ = simulated(unit, 1.0, k, trials)
        lines.append(f"| {k} | {width:.2f} | {fail:.2%} | {false_pass:.1%} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="seeds measured per shape (N)")
    parser.add_argument("--clips", type=int, default=60, help="cap on clips per split")
    parser.add_argument("--epochs", type=int, default=12, help="max_epochs (short schedule)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--trials", type=int, default=20000)
    parser.add_argument("--spoken-digit", type=Path, help="real spoken_digit embeddings")
    parser.add_argument(
        "--spoken-digit-members",
        type=Path,
        help="instead of --spoken-digit: the test.members.json an earlier `hearbot evaluate "
        "--seeds N` wrote for the real spoken_digit embeddings (N > K)",
    )
    parser.add_argument(
        "--measurements",
        type=Path,
        help="save the measured scores here (JSON); with --render-only, read them instead",
    )
    parser.add_argument(
        "--spoken-digit-model",
        default="the example model",
        help="whose embeddings --spoken-digit / --spoken-digit-members hold (for the table)",
    )
    parser.add_argument(
        "--kit-env",
        type=Path,
        action="append",
        default=[],
        help="a reference environment of the official kit (scripts/make-reference-env.sh, "
        "e.g. with TORCH_SPEC=torch==2.6.0): its result on every task is one more honest "
        "claim (repeatable)",
    )
    parser.add_argument("--render-only", action="store_true", help="no runs: re-render")
    parser.add_argument("--shapes", type=int, default=0, help="only the first N shapes (0: all)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "tolerances.md")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # sklearn's warnings for classes absent from small splits
    if args.runs <= K:
        parser.error(f"--runs must exceed K = {K} (claims outside the ensemble are needed)")
    facts = leaderboard_facts()
    shapes: dict[Shape, list[Column]] = {}
    for column in facts.columns:
        shapes.setdefault(shape_of(column), []).append(column)
    chosen = list(shapes.items())[: args.shapes or None]
    measured: list[Measured] = []
    started = time.monotonic()
    kits = [official_kit.Env.at(path) for path in args.kit_env]
    if args.render_only:
        if args.measurements is None:
            parser.error("--render-only needs --measurements")
        measured, real, elapsed = load_measurements(args.measurements, shapes)
        real = spoken_digit_members(args.spoken_digit_members) or real
        write_atomic(args.out, with_kept_tail(args.out, render(args, measured, real, elapsed)))
        print(f"wrote {args.out}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for i, (shape, columns) in enumerate(chosen):
            real_per_split = min(c.clips for c in columns) // (shape.folds or 3)
            clips = max(8, min(args.clips, real_per_split))
            start = time.monotonic()
            task = synthetic_task(root / "tasks", shape, clips, args.epochs, seed=i)
            out = root / "out" / task.name
            seeds, others, hits = measure(task, out, args.runs, args.threads, kits)
            if not all(math.isfinite(s) for s in [*seeds, *others.values()]):
                print(f"{shape.describe()}: a score is undefined on this task; skipped")
                continue
            m = Measured(shape, columns, clips, seeds, others, time.monotonic() - start, hits)
            measured.append(m)
            print(
                f"{shape.describe()}: {clips} clips/split, seeds {[round(s, 4) for s in seeds]}, "
                f"others {others} ({m.seconds:.0f} s)",
                flush=True,
            )
        real: Measured | None = None
        if args.spoken_digit:
            start = time.monotonic()
            out = root / "out" / "sd"
            seeds, others, hits = measure(args.spoken_digit, out, args.runs, args.threads, kits)
            esc = facts.column("ESC-50")  # 5-fold top1, like spoken_digit
            seconds = time.monotonic() - start
            real = Measured(shape_of(esc), [esc], 20, seeds, others, seconds, hits)
            print(f"spoken_digit: seeds {seeds}, others {others}", flush=True)
    elapsed = time.monotonic() - started
    if real is None:
        real = spoken_digit_members(args.spoken_digit_members)
    if args.measurements is not None:
        save_measurements(args.measurements, measured, real, elapsed)
    write_atomic(args.out, with_kept_tail(args.out, render(args, measured, real, elapsed)))
    print(f"wrote {args.out}")
    return 0


def spoken_digit_members(path: Path | None) -> Measured | None:
    """The real spoken_digit measured by an earlier `hearbot evaluate --seeds N` (its
    test.members.json; the per-clip predictions beside it give the hits)."""
    if path is None:
        return None
    seeds = [primary_score(m) for m in load_members(path)]
    esc = leaderboard_facts().column("ESC-50")  # 5-fold top1, like spoken_digit
    hits = hit_strings(path.parent / PREDICTIONS_FILE, path.parent)
    return Measured(shape_of(esc), [esc], 20, seeds, {}, 0.0, hits)


def _entry(m: Measured) -> dict[str, object]:
    return {
        "shape": asdict(m.shape),
        "clips_per_split": m.clips_per_split,
        "seeds": m.seeds,
        "others": m.others,
        "seconds": m.seconds,
        "hits": m.hits,
    }


def save_measurements(
    path: Path, measured: list[Measured], real: Measured | None, elapsed: float
) -> None:
    document = {
        "elapsed_s": elapsed,
        "shapes": [_entry(m) for m in measured],
        "spoken_digit": _entry(real) if real is not None else None,
    }
    write_atomic(path, json.dumps(document, indent=1).encode("utf-8"))


def load_measurements(
    path: Path, shapes: dict[Shape, list[Column]]
) -> tuple[list[Measured], Measured | None, float]:
    """The shapes, the real spoken_digit (None when the run had none) and the run's time."""
    document = json.loads(path.read_text(encoding="utf-8"))

    def measured(entry: dict, columns: list[Column]) -> Measured:
        return Measured(
            Shape(**entry["shape"]),
            columns,
            entry["clips_per_split"],
            entry["seeds"],
            entry["others"],
            entry["seconds"],
            entry.get("hits"),
        )

    found = [measured(e, shapes[Shape(**e["shape"])]) for e in document["shapes"]]
    real = document.get("spoken_digit")
    esc = leaderboard_facts().column("ESC-50")
    return (
        found,
        measured(real, [esc]) if real else None,
        float(document["elapsed_s"]),
    )


def row(m: Measured, column: Column, trials: int, label: str) -> str:
    sd = statistics.stdev(m.seeds)
    interval = first_k_interval(m, column)
    fail, false_pass, count = empirical(column, m, K)
    fail_members_sd_only = (
        f"{empirical(column, m, K, per_clip=False)[0]:.1%}" if m.hits is not None else "–"
    )
    noisy = sum(
        prediction_interval(
            [m.seeds[i] for i in subset],
            floor=column.floor,
            cap=column.cap,
            confidence=column.confidence,
            clip_sd=m.clip_sd(subset),
        ).too_wide
        for subset in itertools.combinations(range(len(m.seeds)), K)
    ) / math.comb(len(m.seeds), K)
    sim_fail, sim_pass, sim_noisy = simulated(column, sd, K, trials)
    others = ", ".join(f"{name} {value:.3f}" for name, value in m.others.items())
    clip_sd = m.clip_sd(range(K))
    return (
        f"| {label} | {m.clips_per_split} | {m.seeds[0]:.3f} | {statistics.fmean(m.seeds):.3f} "
        f"| {sd:.4f} | {'–' if clip_sd is None else f'{clip_sd:.4f}'} "
        f"| {min(m.seeds):.3f}–{max(m.seeds):.3f} | {others} | {K} "
        f"| ±{interval.half_width:.3f}{' (> cap)' if interval.too_wide else ''} "
        f"| {fail:.1%} / {false_pass:.1%} / {noisy:.0%} ({count}) | {fail_members_sd_only} "
        f"| {sim_fail:.2%} / {sim_pass:.1%} / {sim_noisy:.0%} |"
    )


def first_k_interval(m: Measured, column: Column) -> Interval:
    """The interval of members 0..K-1 under the column's rule."""
    return prediction_interval(
        m.seeds[:K],
        floor=column.floor,
        cap=column.cap,
        confidence=column.confidence,
        clip_sd=m.clip_sd(range(K)),
    )


TABLE_HEAD = (
    "| shape (columns) | clips/split | member 0 | mean | sd | per-clip sd | range "
    "| honest others | K | interval (members 0..K−1) "
    "| empirical false fail / false pass / inconclusive | false fail, members' sd alone "
    "| simulated false fail / false pass / inconclusive |",
    "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|",
)


def kit_torches(measured: list[Measured], real: Measured | None) -> list[str]:
    """The torch versions of the official kit runs among the honest claims (`others`)."""
    names = {n for m in [*measured, *([real] if real else [])] for n in m.others}
    return sorted(n.removeprefix(KIT_CLAIM) for n in names if n.startswith(KIT_CLAIM))


KEPT_MARKER = "<!-- written by hand below this line: calibrate_tolerances.py keeps it -->"


def with_kept_tail(path: Path, generated: str) -> bytes:
    """The generated table, then what the file at `path` holds from `KEPT_MARKER` on."""
    kept = ""
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if KEPT_MARKER in text:
            kept = "\n" + text[text.index(KEPT_MARKER) :]
    return (generated.rstrip("\n") + "\n" + kept).encode("utf-8")


def render(
    args: argparse.Namespace, measured: list[Measured], real: Measured | None, elapsed: float
) -> str:
    facts = leaderboard_facts()
    rules = sorted({(c.floor, c.cap, c.confidence) for c in facts.columns})
    confidence = rules[0][2]
    lines = [
        "# The verdict's tolerances: measured, not assumed",
        "",
        "Written by `benchmarks/calibrate_tolerances.py` (re-run it to regenerate this file; "
        f"this run: {elapsed / 60:.0f} min on {args.threads} torch thread(s), "
        f"torch {torch.__version__}, N = {args.runs} seeds per shape, clips per split capped "
        f"at {args.clips}, max_epochs {args.epochs}).",
        "",
        "## The rule",
        "",
        "Each claimed column is reproduced as a seed ensemble of K members (`hearbot verify "
        "--seeds K`, default 5): member 0 is the official kit's run, bit for bit; members "
        "1..K−1 the same protocol with other training draws (on a CPU member k trains with "
        "torch seeded 42 + k, on a GPU they train together; the grid tried is the same). A "
        "claim is "
        "`reproduced` when it lies in the prediction interval for one more draw, "
        "mean ± t·sd·√(1+1/K) (t: Student, K−1 degrees of freedom, at the column's "
        "confidence; sd is the larger of the members' sample sd and, where the metric is a "
        "share of clips scored right, their per-clip sd: the members' sd and per-clip sd "
        "columns below, and bot/evaluation/clip_spread.py), never narrower than the "
        "column's floor; beyond the interval's better "
        "end it is a `mismatch`, below its worse end `above-claim`; an interval wider than the "
        "cap makes the column `inconclusive` (too noisy to judge; it neither passes nor fails).",
        "",
        "schemas/tasks.json holds, per column: "
        + "; ".join(
            f"floor {f:g}, cap {c:g}, confidence {q:g}"
            + f" ({sum((x.floor, x.cap, x.confidence) == (f, c, q) for x in facts.columns)} "
            "columns)"
            for f, c, q in rules
        )
        + ".",
        "",
        "The floor is one clip of the column's whole set changing its label, at least 0.005: "
        "floor = max(0.005, 1/clips), rounded up to 0.001 ("
        + (
            "tasks.json follows it"
            if all(
                math.isclose(c.floor, max(0.005, math.ceil(1000 / c.clips) / 1000))
                for c in facts.columns
            )
            else "tasks.json DEPARTS from it"
        )
        + "): below that a difference is numeric noise, never evidence, and with zero spread "
        "(or K = 1) the floor is the whole interval. The cap, 0.1, is the widest interval "
        "that still says something about a leaderboard position: wider, the column is "
        "`inconclusive`.",
        "",
        "## Choosing K",
        "",
        "Simulated with unit sd, no floor and no cap (normal draws, "
        f"{args.trials} trials each): the interval's half-width in sd, the share of honest "
        "claims (one more draw) judged `mismatch`, and of claims inflated by 3 sd judged "
        "`reproduced`.",
        "",
        *k_table(confidence, args.trials),
        "",
        "The half-width shrinks fast up to K = 5 (5.0 sd) and slowly after (3.7 at K = 8, "
        "2.6 as K grows without bound), while the cost grows linearly; K = 5 is the default. "
        "No K meets both targets of the issue (honest claims failed ≤ 1 %, claims inflated by "
        "3 sd passed ≤ 5 %): a claim is one draw, so the difference claim − mean has sd "
        "≥ sd·√(1+1/K), and separating a 3 sd shift at 1 % / 5 % needs "
        "(2.33 + 1.64)·sd ≈ 4 sd. The rule keeps honest submitters safe (≤ 0.5 % one-sided "
        "at 99 %) and says so: an inflation of less than about 5 sd of the task's own spread "
        "cannot be told from noise by one claimed number.",
        "",
        "## Per column shape",
        "",
        "Synthetic tasks of each shape (tests/evaluation/synth.py; real fold counts, clips per "
        "split min(real, cap)); honest claims are the runs outside each K-subset of the N "
        "seeds plus a `--mode batched` run, a run with another thread count"
        + (
            ", and the official kit itself under "
            + " and ".join(f"torch {v}" for v in kit_torches(measured, real))
            + " (`scripts/make-reference-env.sh` with `TORCH_SPEC`, `--kit-env`)"
            if kit_torches(measured, real)
            else ""
        )
        + ". sd: the N seeds'; per-clip sd: members 0..K−1's (top1-like metrics). "
        "Empirical: every K-subset as ensemble (judgments in brackets), under the rule as "
        "published, and the false-fail rate the members' sd alone would give. Simulated: "
        "normal draws with the measured sd.",
        "",
        *TABLE_HEAD,
    ]
    wide: list[str] = []
    real_size: list[str] = []
    for m in measured:
        column = m.columns[0]
        label = f"{m.shape.describe()} ({', '.join(c.name for c in m.columns)})"
        lines.append(row(m, column, args.trials, label))
        if first_k_interval(m, column).too_wide:
            wide.append(label)
        if m.clips_per_split >= min(c.clips for c in m.columns) // (m.shape.folds or 3):
            real_size.append(label)
    lines += [
        "",
        f"With K = {K}, {len(wide)} of {len(measured)} shapes have an interval wider than the "
        "cap: there the protocol cannot tell a claim from its own noise, and the verdict says "
        "`inconclusive` instead of passing or failing by chance"
        + (f" ({'; '.join(wide)})" if wide else "")
        + f". {len(real_size)} shapes ran at the real size of their smallest column (clips "
        "per split not capped)"
        + (f": {'; '.join(real_size)}" if real_size else "")
        + "; the others are capped, and their real columns (like the larger columns of every "
        "shape) have more clips and a smaller spread. The share of honest claims judged "
        "`mismatch` is in the empirical column.",
    ]
    if real is not None:
        lines += [
            "",
            "## Real spoken_digit",
            "",
            "The real spoken_digit task (../shared/data, 5 folds of 20 clips) with "
            f"{args.spoken_digit_model}'s embeddings, judged with the ESC-50 rule (5-fold "
            "top1):",
            "",
            *TABLE_HEAD,
            row(real, real.columns[0], args.trials, f"spoken_digit ({args.spoken_digit_model})"),
            "",
            "Members (seed 42, 43, ...): " + ", ".join(f"{s:.3f}" for s in real.seeds) + ".",
        ]
    lines += [
        "",
        "## Files: members, per-clip predictions, bootstrap",
        "",
        "`hearbot evaluate --seeds K` (and verify, where the sandbox cannot write) keeps "
        "beside `test.predicted-scores.json` (member 0, the kit's form):",
        "",
        '- `test.members.json`: `{"seeds": [42, 43, ...], "mode": "exact"|"batched", '
        '"members": [scores of member 0, member 1, ...]}`, each a scores object in the kit\'s '
        "form (bare NaN/Infinity tokens);",
        "- `test.predictions.npz` (numpy `savez_compressed`), clip-level tasks only: for member "
        "m and test split s (`test`, `fold00`, ...), `m<m>/<s>/probs` (clips × labels, float32, "
        "what the metrics scored) and `m<m>/<s>/target` (clips × labels, uint8), in the "
        "split's file order.",
        "",
        "The 95 % interval over test clips (`ci95` in result.json, printed by `hearbot "
        "evaluate`) resamples each test split's clips with replacement 1000 times (seeded), "
        "recomputes the primary metric, averages folds and task directories as the column "
        "does, and takes the 2.5th and 97.5th percentiles (bot/evaluation/bootstrap.py). It "
        "says how much the score depends on which clips happen to be in the test set; the "
        "verdict's interval says how much it depends on the training run.",
        "",
        "## What this run does not cover",
        "",
        f"- Real column sizes above {args.clips} clips per split"
        + (
            f", and the protocol's 500 epochs (this run stops at {args.epochs})"
            if args.epochs < 500
            else ""
        )
        + "; synthetic embeddings drawn around class prototypes stand for a model's, whose "
        "spread can be larger or smaller.",
        (
            "- The official kit under another torch version ran as an honest claim on every "
            "shape above (torch " + ", ".join(kit_torches(measured, real)) + "); its runs on "
            "the real spoken_digit for two models, judged against hearbot's members, are "
            "benchmarks/kit_drift.py's (below)."
            if kit_torches(measured, real)
            else "- The official kit under another torch version was not run (`--kit-env`, "
            "after `scripts/make-reference-env.sh` with `REFENV` and `TORCH_SPEC`)."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
