"""A HEAR-sized workload on one device, and the projected wall time of all 19 columns.

Generates two synthetic HEAR tasks (real WAV files at 16 kHz): a scene task of --scene-clips
clips of --scene-seconds s (default 20,000 × 4 s, like NSynth or Speech Commands) and an
event task of --event-clips clips of --event-seconds s (default 40 × 120 s, like DCASE 2016
or MAESTRO), embeds both with the reference model (benchmarks/models/hear_reference_model.py,
94 M parameters, random weights) and evaluates both with hearbot's downstream protocol in each
of --modes (exact, batched). Prints per-stage times, clips/s and audio real-time factors, the
peak GPU memory, and a projection for the whole leaderboard (schemas/tasks.json), per mode:

- embedding: each column's audio hours at the measured real-time factor of its embedding
  type (scene or event);
- evaluation: the protocol's trainings per column (per task directory, 8 grid points, plus one
  per further fold for k-fold tasks) times the measured seconds per training and per clip
  (scene: one row per clip) or per audio hour (event: rows are frames) of its type. Trainings
  stop early, after as many epochs as the measured ones did on average. Two more figures:
  `at_floor_epochs`, where every training runs at least as long as early stopping lets a
  training with finite validation scores run ((patience + 1) validations: 63 epochs, 210 on
  DCASE 2016, which validates every 10), since a synthetic task's trainings can stop sooner
  than a real task's; and `at_max_epochs`, the bound where every training runs the protocol's
  500 epochs.

Every finished stage is printed and saved to --out at once, so a run cut short still reports;
--scene-from takes the scene stage from an earlier record of the same device and measures the
event stage alone.
Embedding runs in this process (`bot.hear.embed.embed_task`, as the sandboxed worker runs it;
the sandbox adds a process start per task). Usage, on a GPU:
    .venv/bin/python benchmarks/gpu_projection.py
and a small check anywhere:
    .venv/bin/python benchmarks/gpu_projection.py --tiny
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "models"))

from bot.common.fileio import write_atomic  # noqa: E402
from bot.common.schemas import leaderboard_facts  # noqa: E402
from bot.evaluation import evaluate_task  # noqa: E402
from bot.evaluation.protocol import PARAM_GRID, kit_grid  # noqa: E402
from bot.hear import api, embed  # noqa: E402
from bot.hear.synth import SPECS, write_task  # noqa: E402

GRID_POINTS = 8
PROTOCOL_MAX_EPOCHS = PARAM_GRID["max_epochs"][0]
TRAINED = re.compile(r"^(grid point|split) .*epochs_trained=(\d+) validation_s=([0-9.]+)")


def gpu_peak(device: torch.device) -> int:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0


def tasks(root: Path, args: argparse.Namespace) -> dict[str, Path]:
    """The synthetic tasks to measure: scene and event, or the event task alone when the scene
    stage comes from an earlier record (--scene-from)."""
    scene = dataclasses.replace(
        SPECS["synth_tones"],
        task_name="projection_scene",
        clips_per_split=(max(1, args.scene_clips // 4),) * 4,
        sample_duration=args.scene_seconds,
    )
    event_clips = max(3, args.event_clips)
    train = event_clips - 2 * max(1, event_clips // 5)
    event = dataclasses.replace(
        SPECS["synth_events"],
        task_name="projection_event",
        clips_per_split=(train, max(1, event_clips // 5), max(1, event_clips // 5)),
        sample_duration=args.event_seconds,
    )
    generated = {} if args.scene_from else {"scene": write_task(scene, root, [16000], seed=0)}
    generated["event"] = write_task(event, root, [16000], seed=1)
    return generated


def earlier_scene_stage(path: Path, device: str, modes: list[str]) -> tuple[dict[str, Any], float]:
    """The scene stage and peak GPU memory (GB) of a record this script wrote on `device`, with
    every mode in `modes` evaluated."""
    record = json.loads(path.read_text())
    if record.get("device") != device:
        raise SystemExit(f"--scene-from {path}: measured on {record.get('device')}, not {device}")
    stage = record["stages"]["scene"]
    missing = [mode for mode in modes if mode not in stage["evaluate"]]
    if missing:
        raise SystemExit(f"--scene-from {path}: the scene stage has no {', '.join(missing)} mode")
    return stage, float(record["peak_gpu_memory_gb"])


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def save(document: dict[str, Any], out: Path | None) -> None:
    """Write what is measured so far (to a temp file, then renamed): a run stopped by its time
    limit still leaves every finished stage behind."""
    if out is None:
        return
    write_atomic(out, (json.dumps(document, indent=2) + "\n").encode())


def column_trainings(column: Any) -> int:
    """Trainings the protocol runs for a column: per task directory, the grid points on the
    first split and, for k-fold tasks, the winner once on each further split."""
    per_dir = GRID_POINTS + ((column.folds or 1) - 1)
    return per_dir * len(column.task_dirs)


def floor_epochs(column: Any) -> int:
    """The fewest epochs a training of the column's task runs when its validation scores are
    finite: early stopping ends it after patience + 1 validations at the soonest. A task
    directory is named <task_name>-<version>-<mode>."""
    grids = [kit_grid(task_dir.split("-", 1)[0]) for task_dir in column.task_dirs]
    return max((g["patience"][0] + 1) * g["check_val_every_n_epoch"][0] for g in grids)


def evaluate_stage(
    args: argparse.Namespace, embeddings: Path, out: Path, mode: str, clips: int, hours: float
) -> dict[str, Any]:
    """Evaluate one embedded task in `mode`; its time, trainings, epochs per training and the
    share of the time spent validating (eval-mode outputs and scoring) rather than training."""
    epochs: list[int] = []
    validation_s: list[float] = []

    def log(line: str) -> None:
        match = TRAINED.match(line)
        if match:
            epochs.append(int(match.group(2)))
            validation_s.append(float(match.group(3)))

    start = time.perf_counter()
    evaluate_task(embeddings, device=args.device, max_epochs=args.max_epochs, out_dir=out,
                  mode=mode, log=log)  # fmt: skip
    seconds = time.perf_counter() - start
    trainings = max(1, len(epochs))
    mean_epochs = sum(epochs) / trainings if epochs else float(args.max_epochs or 1)
    return {
        "s": round(seconds, 2),
        "trainings": len(epochs),
        "mean_epochs_trained": round(mean_epochs, 1),
        "validation_share": round(sum(validation_s) / seconds, 3),
        "s_per_training_and_clip": float(f"{seconds / trainings / clips:.4g}"),
        "s_per_training_and_audio_hour": float(f"{seconds / trainings / hours:.4g}"),
    }


def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Embed both tasks, then evaluate both in every mode; each finished stage is printed and
    saved at once."""
    generated = tasks(root / "tasks", args)
    model = api.load("hear_reference_model", options={"size": args.size}, device=args.device)
    tf32 = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    if model.device.type == "cuda":  # for the model only: evaluation keeps torch's defaults
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.cuda.reset_peak_memory_stats(model.device)
    stages: dict[str, dict[str, Any]] = {}
    seconds_of: dict[str, float] = {}
    peaks: list[int] = []
    measured: dict[str, Any] = {
        "device": str(model.device)
        + (f" ({torch.cuda.get_device_name(model.device)})" if model.device.type == "cuda" else ""),
        "model": f"hear_reference_model ({args.size})",
        "parameters_m": round(sum(p.numel() for p in model.model.parameters()) / 1e6, 1),
        "max_epochs": args.max_epochs,
        "stages": stages,
        "peak_gpu_memory_gb": 0.0,
    }

    if args.scene_from:
        stages["scene"], peak_gb = earlier_scene_stage(
            args.scene_from, measured["device"], args.modes
        )
        measured["scene_from"] = str(args.scene_from)
        peaks.append(int(peak_gb * 1e9))

    def finished(kind: str, step: str, what: dict[str, Any]) -> None:
        measured["peak_gpu_memory_gb"] = round(max(peaks) / 1e9, 2)
        print(f"{kind} {step}: {json.dumps(what)}", flush=True)
        save(measured, args.out)

    for kind, task_dir in generated.items():
        synchronize(model.device)
        start = time.perf_counter()
        done = embed.embed_task(
            model, task_dir, root / "embeddings", max_batch_size=args.batch_size, progress=False
        )
        synchronize(model.device)
        embed_s = time.perf_counter() - start
        # embed_task resets the peak statistics when it measures its first batch: read now.
        peaks.append(gpu_peak(model.device))
        seconds_of[kind] = done["audio_seconds"]
        stages[kind] = {
            "clips": done["clips"],
            "audio_hours": round(done["audio_seconds"] / 3600, 3),
            "batch_size": done["batch_size"],
            "largest_batch": done["batch_sizing"]["largest_batch"],
            "bytes_per_audio_second": done["batch_sizing"]["bytes_per_audio_second"],
            "embed_s": round(embed_s, 2),
            "embed_clips_per_s": round(done["clips"] / embed_s, 1),
            "embed_realtime_factor": round(done["audio_seconds"] / embed_s, 1),
            "evaluate": {},
        }
        finished(kind, "embedded", stages[kind])
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = tf32
    for mode in args.modes:
        for kind, task_dir in generated.items():
            result = evaluate_stage(
                args,
                root / "embeddings" / task_dir.name,
                root / "scores" / mode / task_dir.name,
                mode,
                stages[kind]["clips"],
                seconds_of[kind] / 3600,
            )
            stages[kind]["evaluate"][mode] = result
            peaks.append(gpu_peak(model.device))
            finished(kind, f"evaluated ({mode})", result)
    return measured


def project(
    measured: dict[str, Any], mode: str, seeds: int = 1, ensemble_ratio: float | None = None
) -> dict[str, Any]:
    """Minutes per column and in all, for evaluation `mode` (see the module's docstring), with
    a seed ensemble of `seeds` members: embedding once, evaluation `ensemble_ratio` times the
    measured single run (default `seeds`: members one after another, each the same work; on a
    GPU members 1..K-1 are trained together, and a measured ratio of
    `hearbot evaluate --seeds K` to `--seeds 1` replaces it)."""
    stages = measured["stages"]
    rows = []
    total = total_at_floor = total_at_max = 0.0
    for column in leaderboard_facts().columns:
        stage = stages[column.embedding_type]
        rate = stage["evaluate"][mode]
        embed_s = column.audio_hours * 3600 / stage["embed_realtime_factor"]
        trainings = column_trainings(column)
        if column.embedding_type == "event":
            evaluate_s = trainings * column.audio_hours * rate["s_per_training_and_audio_hour"]
        else:
            evaluate_s = trainings * column.clips * rate["s_per_training_and_clip"]
        evaluate_s *= seeds if ensemble_ratio is None else ensemble_ratio
        epochs = rate.get("mean_epochs_trained")  # unknown in records of older runs
        per_epoch = evaluate_s / max(epochs, 1.0) if epochs else math.nan
        at_floor = per_epoch * max(epochs or 0.0, floor_epochs(column))
        at_max = per_epoch * PROTOCOL_MAX_EPOCHS
        total += embed_s + evaluate_s
        total_at_floor += embed_s + at_floor
        total_at_max += embed_s + at_max
        rows.append(
            {
                "column": column.name,
                "audio_hours": column.audio_hours,
                "clips": column.clips,
                "trainings": trainings,
                "embed_min": round(embed_s / 60, 2),
                "evaluate_min": round(evaluate_s / 60, 2),
                "evaluate_min_at_floor_epochs": minutes(at_floor, 2),
                "evaluate_min_at_max_epochs": minutes(at_max, 2),
            }
        )
    one_member_evaluate_s = (
        sum(r["evaluate_min"] for r in rows)
        * 60
        / (seeds if ensemble_ratio is None else ensemble_ratio)
    )
    embed_total_s = sum(r["embed_min"] for r in rows) * 60
    return {
        "seeds": seeds,
        "ensemble_ratio": seeds if ensemble_ratio is None else ensemble_ratio,
        "ratio_for_30_min": round((30 * 60 - embed_total_s) / one_member_evaluate_s, 2)
        if one_member_evaluate_s
        else None,
        "columns": rows,
        "total_min": round(total / 60, 1),
        "total_min_at_floor_epochs": minutes(total_at_floor, 1),
        "total_min_at_max_epochs": minutes(total_at_max, 1),
    }


def minutes(seconds: float, digits: int) -> float | None:
    """Rounded minutes; None where the epochs were not recorded (NaN)."""
    return None if math.isnan(seconds) else round(seconds / 60, digits)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scene-clips", type=int, default=20000)
    parser.add_argument("--scene-seconds", type=float, default=4.0)
    parser.add_argument("--event-clips", type=int, default=40)
    parser.add_argument("--event-seconds", type=float, default=120.0)
    parser.add_argument("--size", choices=("base", "small"), default="base")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=embed.DEFAULT_MAX_BATCH_SIZE,
        help="the most clips per batch; on a GPU batches grow to the free memory up to this",
    )
    parser.add_argument("--max-epochs", type=int, default=None, help="default: the protocol's")
    parser.add_argument(
        "--modes", nargs="+", choices=("exact", "batched"), default=["exact", "batched"]
    )
    parser.add_argument(
        "--scene-from",
        type=Path,
        help="measure the event stage only: take the scene stage from a record this script "
        "wrote on the same device",
    )
    parser.add_argument("--tiny", action="store_true", help="a small check of the script")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--from-json",
        type=Path,
        help="measure nothing: project again from a JSON this script wrote (for instance "
        "after schemas/tasks.json changed), in every mode both stages were evaluated in",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="project a seed ensemble of K members per task (hearbot verify --seeds K)",
    )
    parser.add_argument(
        "--ensemble-ratio",
        type=float,
        help="evaluation time of K members over one member's (default K, one after another; "
        "give the ratio measured by benchmarks/evaluate_floor.py --seeds K on the device)",
    )
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    if args.tiny:
        args.scene_clips, args.event_clips, args.event_seconds = 80, 5, 20.0
        args.size, args.max_epochs = "small", 5
    if args.from_json:
        measured = json.loads(args.from_json.read_text())
        evaluated = [set(stage["evaluate"]) for stage in measured["stages"].values()]
        args.modes = [mode for mode in ("exact", "batched") if all(mode in e for e in evaluated)]
    else:
        root = Path(tempfile.mkdtemp(prefix="hearbot-projection-"))
        try:
            measured = measure(args, root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    measured["projection"] = {
        mode: project(measured, mode, args.seeds, args.ensemble_ratio) for mode in args.modes
    }
    print(json.dumps(measured, indent=2))
    save(measured, args.out)
    for mode, projection in measured["projection"].items():
        at_floor, at_max = (projection[f"total_min_at_{k}_epochs"] for k in ("floor", "max"))
        bounds = (
            f"every training at least until early stopping could end it: {at_floor} min; "
            f"every training to {PROTOCOL_MAX_EPOCHS} epochs: {at_max} min"
            if at_max is not None
            else "no epoch counts recorded"
        )
        print(
            f"projected full verification of all {len(projection['columns'])} columns on "
            f"{measured['device']}, evaluation {mode}, K = {args.seeds} (members cost "
            f"{projection['ensemble_ratio']:g}x one; 30 min needs at most "
            f"{projection['ratio_for_30_min']}x): {projection['total_min']} min ({bounds})"
            + (" (a --tiny check: not a projection)" if args.tiny else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
