"""A HEAR-sized workload on one device, and the projected wall time of all 19 columns.

Generates two synthetic HEAR tasks (real WAV files at 16 kHz): a scene task of --scene-clips
clips of --scene-seconds s (default 20,000 × 4 s, like NSynth or Speech Commands) and an
event task of --event-clips clips of --event-seconds s (default 40 × 120 s, like DCASE 2016
or MAESTRO), embeds both with the reference model (benchmarks/models/hear_reference_model.py,
94 M parameters, random weights) and evaluates both with hearbot's downstream protocol.
Prints per-stage times, clips/s and audio real-time factors, the peak GPU memory, and a
projection for the whole leaderboard:

- embedding: each column's audio hours (schemas/tasks.json) at the measured real-time factor
  of its embedding type (scene or event);
- evaluation: each column's audio hours at the measured evaluation seconds per audio hour of
  its type, times the trainings its split mode needs (8 grid points + one per further fold;
  5-fold tasks 12, train/valid/test tasks 8). Linear in audio hours: an upper bound for tasks
  of long clips (Beehive's 10-minute clips make few rows).

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

from bot.evaluation import evaluate_task  # noqa: E402
from bot.hear import api, embed  # noqa: E402
from bot.hear.synth import SPECS, write_task  # noqa: E402
from bot.schemas import leaderboard_facts  # noqa: E402

TRAININGS = {"trainvaltest": 8, "presplit_kfold": 12, "new_split_kfold": 12}


def gpu_peak(device: torch.device) -> int:
    return torch.cuda.max_memory_allocated(device) if device.type == "cuda" else 0


def tasks(root: Path, args: argparse.Namespace) -> dict[str, Path]:
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
    return {
        "scene": write_task(scene, root, [16000], seed=0),
        "event": write_task(event, root, [16000], seed=1),
    }


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def save(document: dict[str, Any], out: Path | None) -> None:
    """Write what is measured so far (to a temp file, then renamed): a run stopped by its time
    limit still leaves every finished stage behind."""
    if out is None:
        return
    partial = out.with_name(out.name + ".tmp")
    partial.write_text(json.dumps(document, indent=2) + "\n")
    partial.replace(out)


def measure(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Embed both tasks, then evaluate both; each finished stage is printed and saved at once."""
    generated = tasks(root / "tasks", args)
    model = api.load("hear_reference_model", options={"size": args.size}, device=args.device)
    if model.device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.cuda.reset_peak_memory_stats(model.device)
    stages: dict[str, dict[str, Any]] = {}
    done_seconds: dict[str, float] = {}
    peaks: list[int] = []
    measured: dict[str, Any] = {
        "device": str(model.device)
        + (f" ({torch.cuda.get_device_name(model.device)})" if model.device.type == "cuda" else ""),
        "model": f"hear_reference_model ({args.size})",
        "parameters_m": round(sum(p.numel() for p in model.model.parameters()) / 1e6, 1),
        "evaluate_mode": args.mode or "default",
        "max_epochs": args.max_epochs,
        "stages": stages,
        "peak_gpu_memory_gb": 0.0,
    }

    def finished(kind: str, step: str) -> None:
        measured["peak_gpu_memory_gb"] = round(max(peaks) / 1e9, 2)
        print(f"{kind} {step}: {json.dumps(stages[kind])}", flush=True)
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
        done_seconds[kind] = done["audio_seconds"]
        stages[kind] = {
            "clips": done["clips"],
            "audio_hours": round(done["audio_seconds"] / 3600, 3),
            "batch_size": done["batch_size"],
            "largest_batch": done["batch_sizing"]["largest_batch"],
            "bytes_per_audio_second": done["batch_sizing"]["bytes_per_audio_second"],
            "embed_s": round(embed_s, 2),
            "embed_clips_per_s": round(done["clips"] / embed_s, 1),
            "embed_realtime_factor": round(done["audio_seconds"] / embed_s, 1),
        }
        finished(kind, "embedded")
    for kind, task_dir in generated.items():
        start = time.perf_counter()
        evaluate_task(
            root / "embeddings" / task_dir.name,
            device=args.device,
            max_epochs=args.max_epochs,
            out_dir=root / "scores" / task_dir.name,
            **({"mode": args.mode} if args.mode else {}),
        )
        evaluate_s = time.perf_counter() - start
        peaks.append(gpu_peak(model.device))
        hours = done_seconds[kind] / 3600
        stages[kind]["evaluate_s"] = round(evaluate_s, 2)
        stages[kind]["evaluate_s_per_audio_hour"] = round(evaluate_s / hours, 2)
        finished(kind, "evaluated")
    return measured


def project(measured: dict[str, Any]) -> dict[str, Any]:
    rows = []
    for column in leaderboard_facts().columns:
        rates = measured["stages"][column.embedding_type]
        embed_s = column.audio_hours * 3600 / rates["embed_realtime_factor"]
        trainings = TRAININGS.get(column.split_mode, 12) / 8
        evaluate_s = column.audio_hours * rates["evaluate_s_per_audio_hour"] * trainings
        rows.append(
            {
                "column": column.name,
                "audio_hours": column.audio_hours,
                "embed_min": round(embed_s / 60, 2),
                "evaluate_min": round(evaluate_s / 60, 2),
            }
        )
    total = sum(row["embed_min"] + row["evaluate_min"] for row in rows)
    return {"columns": rows, "total_min": round(total, 1)}


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
    parser.add_argument("--mode", default=None, help="evaluate mode, when hearbot has several")
    parser.add_argument("--tiny", action="store_true", help="a small check of the script")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    if args.tiny:
        args.scene_clips, args.event_clips, args.event_seconds = 80, 5, 20.0
        args.size, args.max_epochs = "small", 5
    root = Path(tempfile.mkdtemp(prefix="hearbot-projection-"))
    try:
        measured = measure(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    measured["projection"] = project(measured)
    print(json.dumps(measured, indent=2))
    save(measured, args.out)
    print(
        f"projected full verification of all 19 columns on {measured['device']}: "
        f"{measured['projection']['total_min']} min"
        + (" (a --tiny check: not a projection)" if args.tiny else "")
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
