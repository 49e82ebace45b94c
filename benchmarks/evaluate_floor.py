"""`hearbot evaluate` (whole process) against the physical floor of its training on the device.

The floor is a bare PyTorch process that trains the same layer shapes for the same number of
optimizer steps as hearbot actually took: for every training hearbot ran (each grid point on
the first split, then the winner retrained on every other split), the kit's classifier shape
([Linear -> BatchNorm1d -> Dropout -> ReLU] x hidden_layers -> Linear, bot/evaluation/model.py),
torch.optim.Adam with the grid point's lr, batches of batch_size rows of the same embeddings
in order, and exactly the epochs that training ran before early stopping or max_epochs, parsed
from hearbot's own log (`epochs_trained=` of each "grid point" and "split" line). No
validation, checkpoints, metrics, test or output files: hearbot/floor is the price of the
protocol's bookkeeping on top of the arithmetic it cannot avoid.

A synthetic scene task (tests/evaluation/synth.py make_scene_task: --rows rows in each of
train/valid/test, --dim features, --labels labels) with the protocol's grid (hidden 1024,
batch 1024, validation every 3 epochs, patience 20) except max_epochs (--epochs, set through the
task's own task_specific_param_grid as a real task would) is evaluated by
`.venv/bin/hearbot evaluate TASK --mode exact|batched --device D --grid-points G` and by the
floor (this script run again with --floor-child), each as a whole process (start-up and loading
included), with OMP_NUM_THREADS and torch.set_num_threads = --threads. Each is timed --repeat
times, interleaved; medians are reported. Each mode gets its own floor (its own log's epochs);
when both modes trained the same epochs, one floor serves both.

With --seeds K (default 5), `hearbot evaluate --seeds K` is timed too (members 1..K-1
trained together): its ratio to one member is what benchmarks/gpu_projection.py projects a
K-member verification with where no GPU measured it.

Usage: .venv/bin/python benchmarks/evaluate_floor.py [--devices cpu cuda] [--rows 4096]
       [--dim 1024] [--epochs 15] [--grid-points 8] [--threads 1] [--repeat 3] [--seeds 5]
       [--out FILE]
Prints one JSON object (also written atomically to --out) and a one-line summary.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

REPO = Path(__file__).resolve().parent.parent
HEARBOT = REPO / ".venv" / "bin" / "hearbot"
MODES = ("exact", "batched")
# One training in hearbot's log: "grid point 3/8: ..." or "split 2/5 (test ['fold01']): ...".
TRAINING_LINE = re.compile(
    r"(?P<what>grid point|split) (?P<index>\d+)/(?P<total>\d+)(?: \(test [^)]*\))?: "
    r".*?epochs_trained=(?P<epochs>\d+) validation_s=(?P<validation_s>[0-9.]+) "
    r"conf=(?P<conf>\{.*\})\s*$"
)


@dataclass(frozen=True)
class Training:
    """One training as hearbot logged it."""

    what: str  # "grid point" or "split"
    index: int
    hidden_layers: int
    lr: float
    epochs: int
    validation_s: float


@dataclass(frozen=True)
class FloorRun:
    """One training of the floor: the layer shape, Adam's lr, the rows and the epochs."""

    hidden_layers: int
    hidden_dim: int
    dropout: float
    lr: float
    batch_size: int
    epochs: int
    train_splits: tuple[str, ...]
    rows: int

    @property
    def steps(self) -> int:
        return self.epochs * math.ceil(self.rows / self.batch_size)


def parse_trainings(log_text: str) -> list[Training]:
    """The trainings of member 0 in hearbot's log: grid points in grid order, then splits
    (batched mode logs the grid points one layer shape after another)."""
    out = []
    for line in log_text.splitlines():
        if " member " in line:  # seed-ensemble members other than 0
            continue
        match = TRAINING_LINE.search(line)
        if match is None:
            continue
        conf = ast.literal_eval(match["conf"])
        out.append(
            Training(
                what=match["what"],
                index=int(match["index"]),
                hidden_layers=int(conf["hidden_layers"]),
                lr=float(conf["lr"]),
                epochs=int(match["epochs"]),
                validation_s=float(match["validation_s"]),
            )
        )
    return sorted(out, key=lambda t: (t.what == "split", t.index))


def floor_plan(
    trainings: list[Training],
    confs: list[dict[str, Any]],
    best_conf: dict[str, Any],
    splits: list[dict[str, list[str]]],
    rows: dict[str, int],
) -> list[FloorRun]:
    """hearbot's trainings as floor runs: grid point i is confs[i-1] on splits[0]; split i is
    the selected configuration on splits[i-1]. The log's hidden_layers and lr must agree."""
    runs = []
    for training in trainings:
        if training.what == "grid point":
            conf, split = confs[training.index - 1], splits[0]
        else:
            conf, split = best_conf, splits[training.index - 1]
        if (int(conf["hidden_layers"]), float(conf["lr"])) != (training.hidden_layers, training.lr):
            raise ValueError(f"log and grid disagree on {training}")
        names = tuple(split["train"])
        runs.append(
            FloorRun(
                hidden_layers=int(conf["hidden_layers"]),
                hidden_dim=int(conf["hidden_dim"]),
                dropout=float(conf["dropout"]),
                lr=float(conf["lr"]),
                batch_size=int(conf["batch_size"]),
                epochs=training.epochs,
                train_splits=names,
                rows=sum(rows[n] for n in names),
            )
        )
    return runs


def floor_model(
    n_features: int, n_labels: int, hidden_layers: int, hidden_dim: int, dropout: float
) -> nn.Sequential:
    """The kit's classifier shape (bot/evaluation/model.py Classifier), torch's default init:
    [Linear(d, h) -> BatchNorm1d(h) -> Dropout(p) -> ReLU] x hidden_layers -> Linear(., L)."""
    layers: list[nn.Module] = []
    width = n_features
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, hidden_dim), nn.BatchNorm1d(hidden_dim)]
        layers += [nn.Dropout(dropout), nn.ReLU()]
        width = hidden_dim
    return nn.Sequential(*layers, nn.Linear(width, n_labels))


def floor_train(run: FloorRun, x: torch.Tensor, y: torch.Tensor, multilabel: bool) -> int:
    """Train one floor run on (x, y) (already on the device); returns the steps taken."""
    model = floor_model(x.shape[1], y.shape[1], run.hidden_layers, run.hidden_dim, run.dropout)
    model = model.to(x.device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=run.lr)
    steps = 0
    for _ in range(run.epochs):
        for start in range(0, len(x), run.batch_size):
            xb, yb = x[start : start + run.batch_size], y[start : start + run.batch_size]
            optimizer.zero_grad()
            logits = model(xb)
            if multilabel:
                loss = nn.functional.binary_cross_entropy_with_logits(logits, yb)
            else:
                loss = nn.functional.cross_entropy(logits, yb.argmax(dim=1))
            loss.backward()
            optimizer.step()
            steps += 1
    return steps


def floor_child(plan_path: Path) -> int:
    """The floor process: load the plan and the stacked embeddings, train every run, print
    {"steps", "train_s"} as JSON."""
    plan = json.loads(plan_path.read_text())
    torch.set_num_threads(plan["threads"])
    device = torch.device(plan["device"])
    arrays = np.load(plan["data"])
    started = time.perf_counter()
    steps = 0
    for fields in plan["runs"]:
        run = FloorRun(**{**fields, "train_splits": tuple(fields["train_splits"])})
        x = torch.from_numpy(np.concatenate([arrays[f"x_{n}"] for n in run.train_splits]))
        y = torch.from_numpy(np.concatenate([arrays[f"y_{n}"] for n in run.train_splits]))
        steps += floor_train(run, x.to(device), y.to(device), plan["multilabel"])
    if device.type == "cuda":
        torch.cuda.synchronize()
    print(json.dumps({"steps": steps, "train_s": round(time.perf_counter() - started, 3)}))
    return 0


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds of a whole process and its stdout; exits with its output if it fails."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-4000:]}")
    return seconds, done.stdout


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w") as out:
        out.write(text)
    os.replace(temp, path)


def measure(args: argparse.Namespace, device: str, root: Path) -> dict[str, Any]:
    """hearbot exact, hearbot batched and their floors on one device, --repeat times each."""
    from bot.evaluation.embeddings import load_task
    from bot.evaluation.protocol import data_splits, sampled_grid, task_grid
    from bot.evaluation.scores import LOG_FILE
    from tests.evaluation.synth import make_scene_task

    task = make_scene_task(
        root / f"scene_{device}",
        n_labels=args.labels,
        dim=args.dim,
        files_per_split=args.rows,
        noise=1.5,
        grid={"max_epochs": [args.epochs]},
    )
    data = load_task(task)
    np.savez(
        root / "floor-data.npz",
        **{f"x_{n}": rows.x for n, rows in data.splits.items()},
        **{f"y_{n}": rows.y for n, rows in data.splits.items()},
    )
    confs = sampled_grid(task_grid(data, None), args.grid_points)
    splits = data_splits(data.metadata.split_mode, data.metadata.splits)
    n_rows = {n: len(rows.x) for n, rows in data.splits.items()}
    multilabel = data.metadata.prediction_type == "multilabel"
    del data
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "PYTHONPATH": str(REPO)}
    seconds: dict[str, list[float]] = {m: [] for m in MODES}
    plans: dict[str, list[FloorRun]] = {}
    validation_s: dict[str, list[float]] = {m: [] for m in MODES}
    floor_s: dict[str, list[float]] = {}
    floor_train_s: dict[str, list[float]] = {}
    for repeat in range(args.repeat):
        for mode in MODES:
            command = [str(HEARBOT), "evaluate", str(task), "--mode", mode, "--device", device]
            s, _ = timed([*command, "--grid-points", str(args.grid_points)], env)
            seconds[mode].append(s)
            log = (task / LOG_FILE).read_text()
            if f"{args.threads} threads" not in log:
                sys.exit(f"hearbot did not run on {args.threads} threads:\n{log[:400]}")
            trainings = parse_trainings(log)
            validation_s[mode].append(sum(t.validation_s for t in trainings))
            selected = re.search(r"selected: .*conf=(\{.*\})", log)
            assert selected is not None, log
            winner = ast.literal_eval(selected[1])
            best = next(
                c
                for c in confs
                if (c["hidden_layers"], c["lr"], c["initialization"].__name__)
                == (winner["hidden_layers"], winner["lr"], winner["initialization"])
            )
            plan = floor_plan(trainings, confs, best, splits, n_rows)
            if repeat == 0:
                plans[mode] = plan
            elif plan != plans[mode]:
                print(f"warning: {mode} trained other epochs in repeat {repeat}", file=sys.stderr)
        for mode in MODES:
            key = next(m for m in MODES if plans[m] == plans[mode])  # one floor per plan
            if mode != key:
                continue
            plan_file = root / f"floor-plan-{device}-{mode}.json"
            plan_file.write_text(
                json.dumps(
                    {
                        "threads": args.threads,
                        "device": device,
                        "data": str(root / "floor-data.npz"),
                        "multilabel": multilabel,
                        "runs": [asdict(r) for r in plans[mode]],
                    }
                )
            )
            command = [sys.executable, str(Path(__file__).resolve()), "--floor-child"]
            s, out = timed([*command, str(plan_file)], env)
            child = json.loads(out.strip().splitlines()[-1])
            if child["steps"] != sum(r.steps for r in plans[mode]):
                sys.exit(f"floor took {child['steps']} steps, planned {plans[mode]}")
            floor_s.setdefault(mode, []).append(s)
            floor_train_s.setdefault(mode, []).append(child["train_s"])
        print(
            f"{device} repeat {repeat + 1}: "
            + ", ".join(f"hearbot {m} {seconds[m][-1]:.1f} s" for m in MODES)
            + ", "
            + ", ".join(f"floor[{m}] {v[-1]:.1f} s" for m, v in floor_s.items()),
            file=sys.stderr,
            flush=True,
        )
    ensemble_s: list[float] = []
    for repeat in range(args.repeat if args.seeds > 1 else 0):
        command = [str(HEARBOT), "evaluate", str(task), "--mode", "exact", "--device", device]
        command += ["--grid-points", str(args.grid_points), "--seeds", str(args.seeds)]
        ensemble_s.append(timed(command, env)[0])
        print(
            f"{device} repeat {repeat + 1}: hearbot exact --seeds {args.seeds} "
            f"{ensemble_s[-1]:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    report: dict[str, Any] = {}
    if ensemble_s:
        one, k_s = statistics.median(seconds["exact"]), statistics.median(ensemble_s)
        floor = statistics.median(floor_s[next(m for m in MODES if plans[m] == plans["exact"])])
        report["ensemble"] = {
            "seeds": args.seeds,
            "hearbot_s": round(k_s, 2),
            "hearbot_runs_s": [round(s, 2) for s in ensemble_s],
            "ratio_to_one_member": round(k_s / one, 2),
            "ratio_to_k_floors": round(k_s / (args.seeds * floor), 2),
        }
    for mode in MODES:
        key = next(m for m in MODES if plans[m] == plans[mode])
        hearbot_s, floor = statistics.median(seconds[mode]), statistics.median(floor_s[key])
        report[mode] = {
            "hearbot_s": round(hearbot_s, 2),
            "hearbot_runs_s": [round(s, 2) for s in seconds[mode]],
            "hearbot_validation_s": round(statistics.median(validation_s[mode]), 2),
            "floor_s": round(floor, 2),
            "floor_runs_s": [round(s, 2) for s in floor_s[key]],
            "floor_train_s": round(statistics.median(floor_train_s[key]), 2),
            "floor_shared_with": key if key != mode else None,
            "trainings": len(plans[mode]),
            "epochs_per_training": [r.epochs for r in plans[mode]],
            "steps": sum(r.steps for r in plans[mode]),
            "ratio": round(hearbot_s / floor, 2),
        }
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", nargs="+", default=["cpu"], choices=["cpu", "cuda"])
    parser.add_argument("--rows", type=int, default=4096, help="rows per split (train/valid/test)")
    parser.add_argument("--dim", type=int, default=1024)
    parser.add_argument("--labels", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=15, help="the task's max_epochs")
    parser.add_argument("--grid-points", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--seeds",
        type=int,
        default=5,
        help="also time `hearbot evaluate --seeds K` (members 1..K-1 trained together) and "
        "print its ratio to one member and to K floors; 1 skips it",
    )
    parser.add_argument("--out", type=Path)
    parser.add_argument("--floor-child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_child:
        return floor_child(args.floor_child)
    sys.path.insert(0, str(REPO))
    report: dict[str, Any] = {
        "what": "hearbot evaluate (whole process) / bare-PyTorch floor (whole process), medians",
        "torch": torch.__version__,
        "threads": args.threads,
        "repeat": args.repeat,
        "task": {
            "kind": "scene multiclass, trainvaltest",
            "rows_per_split": args.rows,
            "dim": args.dim,
            "labels": args.labels,
            "max_epochs": args.epochs,
            "grid_points": args.grid_points,
        },
        "devices": {},
    }
    summary = []
    for device in args.devices:
        if device == "cuda" and not torch.cuda.is_available():
            report["devices"]["cuda"] = "skipped: CUDA not available"
            continue
        with tempfile.TemporaryDirectory() as tmp:
            result = measure(args, device, Path(tmp))
        report["devices"][device] = result
        summary.append(
            f"{device}: hearbot exact {result['exact']['hearbot_s']} s = "
            f"{result['exact']['ratio']}x floor {result['exact']['floor_s']} s, batched "
            f"{result['batched']['hearbot_s']} s = {result['batched']['ratio']}x floor "
            f"{result['batched']['floor_s']} s ({result['exact']['steps']} steps)"
        )
        if "ensemble" in result:
            ensemble = result["ensemble"]
            summary.append(
                f"{device}: --seeds {ensemble['seeds']} {ensemble['hearbot_s']} s = "
                f"{ensemble['ratio_to_one_member']}x one member = "
                f"{ensemble['ratio_to_k_floors']}x {ensemble['seeds']} floors"
            )
    text = json.dumps(report, indent=2)
    print(text)
    print("; ".join(summary) or "no device measured")
    if args.out:
        write_atomically(args.out, text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
