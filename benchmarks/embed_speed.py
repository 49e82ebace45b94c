"""`hearbot embed` throughput against a pure forward-pass loop over audio already in memory,
measured in one run on the same machine, model, batches and device.

A synthetic scene task of --clips clips of --seconds s at 16 kHz (real WAV files) is embedded
by the reference model (benchmarks/models/hear_reference_model.py, --size small on a CPU,
base = 94 M parameters on a GPU):

1. pure forward: every clip decoded into one tensor on the device first, then the model's
   get_scene_embeddings over the same batches `hearbot embed` forms, nothing written;
2. hearbot embed: `bot.hear.embed.embed_task` with the model in this process (read and
   decode the WAV files, call the model through the HEAR API checks, write the per-file
   layout), as `hearbot embed` runs it;
3. streamed: as `hearbot verify` runs it: the model in its own process in the sandbox
   (bubblewrap when present), fed the decoded audio through the stream's pipe, its replies
   checked and written by this process (bot/verify/streamed.py). Timed as a whole, the
   worker's start (Python, torch, the model) included.

Prints clips/s of both and the ratio embed / pure (the target is at least 0.7: reading,
checking and writing cost under 30 %). `--model standin` uses benchmarks/models/
hear_gpu_standin.py instead, on the CPU: a model that behaves like a GPU model from the host's
side (launches holding the GIL, then a wait that releases it), so that a machine without a GPU
can see whether reading and writing overlap the model.

Also the audio reader alone (the thread `hearbot embed` decodes with, no model): clips/s and
real-time factor, which is the most any model could be fed. It must stay well above the
model's rate: the issue's H200 figure for a 94 M model is about 8,500x real time, so one
reader thread suffices where it reads faster than that.
Usage: .venv/bin/python benchmarks/embed_speed.py [--clips 400] [--seconds 4] [--size small]
       [--device auto] [--repeat 2] [--model standin]
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

import numpy as np
import soundfile as sf
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks" / "models"))

from bot.hear import api, embed  # noqa: E402
from bot.hear.synth import SPECS, write_task  # noqa: E402
from bot.hear.tasks import read_task  # noqa: E402


def make_task(root: Path, clips: int, seconds: float) -> Path:
    per_fold = max(1, clips // 4)
    spec = dataclasses.replace(
        SPECS["synth_tones"],
        task_name="bench_scene",
        clips_per_split=(per_fold,) * 4,
        sample_duration=seconds,
    )
    return write_task(spec, root, [16000], seed=0)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def pure_forward(model: api.HearModel, task_dir: Path, batch_size: int) -> tuple[float, int]:
    task = read_task(task_dir)
    files = [
        task.wav_path(model.sample_rate, split, item.file)
        for split in task.metadata.splits
        for item in task.splits[split]
    ]
    audio = torch.from_numpy(np.stack([sf.read(str(f), dtype="float32")[0] for f in files]))
    audio = audio.to(model.device)
    function = model.module.get_scene_embeddings
    synchronize(model.device)
    start = time.perf_counter()
    with torch.no_grad():
        for begin in range(0, len(files), batch_size):
            function(audio[begin : begin + batch_size], model.model)
    synchronize(model.device)
    return time.perf_counter() - start, len(files)


def reader_alone(task_dir: Path, sample_rate: int, batch_size: int) -> tuple[float, int]:
    """Seconds for the prefetching reader to decode every clip into batches, and the count."""
    task = read_task(task_dir)
    start = time.perf_counter()
    clips = 0
    for split in task.metadata.splits:
        batches = embed.iter_batches(task, sample_rate, split, batch_size)
        for batch in embed.prefetched(batches, embed.PREFETCH_BATCHES):
            clips += len(batch.items)
    return time.perf_counter() - start, clips


def hearbot_embed(model: api.HearModel, task_dir: Path, out: Path, batch_size: int) -> float:
    shutil.rmtree(out, ignore_errors=True)
    synchronize(model.device)
    start = time.perf_counter()
    embed.embed_task(model, task_dir, out, max_batch_size=batch_size, progress=False)
    synchronize(model.device)
    return time.perf_counter() - start


def streamed_embed(
    module: str, options: dict[str, str], device: str, task_dir: Path, root: Path, batch_size: int
) -> float:
    """Seconds for `hearbot verify`'s way: the model in the sandbox, fed through the stream."""
    from bot.runner.sandbox import Mount, Sandbox, bubblewrap_path
    from bot.verify.model import worker_code
    from bot.verify.options import VerifyOptions
    from bot.verify.sandboxed import SANDBOX_BOT, PreparedModel
    from bot.verify.stage_log import StageLog
    from bot.verify.streamed import SandboxedEmbedder

    try:
        bubblewrap_path()
        sandbox = Sandbox()
    except Exception:  # no bubblewrap here: the same stream, unconfined
        sandbox = Sandbox(enabled=False)
    models = Mount(REPO / "benchmarks" / "models", "/opt/models")
    code = worker_code(root / "worker")
    model = PreparedModel(
        python=Path(sys.executable),
        arguments=[module, "--model-options", json.dumps(options), "--device", device],
        key="benchmark",
        mounts=[Mount(code, SANDBOX_BOT), models],
        python_path=[str(Path(SANDBOX_BOT).parent), models.target],
    )
    verify_options = VerifyOptions(tasks_dir=task_dir.parent, out=root, sandbox=sandbox)
    out = root / "streamed"
    shutil.rmtree(out, ignore_errors=True)
    log = StageLog(root / "streamed.log", echo=False)
    start = time.perf_counter()
    with SandboxedEmbedder(
        model, verify_options, log, "embed", root / "scratch", batch_size
    ) as fed:
        embed.embed_task(fed, task_dir, out, max_batch_size=batch_size, progress=False)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--size", choices=("small", "base"), default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=2, help="best of N runs of each")
    parser.add_argument(
        "--model",
        choices=("reference", "standin"),
        default="reference",
        help="standin: a GPU model's host-side behaviour on the CPU (see above)",
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="hearbot-embed-speed-"))
    try:
        task_dir = make_task(root / "tasks", args.clips, args.seconds)
        device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
        device = "cpu" if device == "auto" else device
        size = args.size or ("base" if device == "cuda" else "small")
        if args.model == "standin":
            device, name = "cpu", "hear_gpu_standin (24 ms per batch)"
            torch.set_num_threads(1)  # the launches are tiny; leave the other core to I/O
            model = api.load("hear_gpu_standin", device=device)
        else:
            name = f"hear_reference_model ({size})"
            model = api.load("hear_reference_model", options={"size": size}, device=device)
        batch = embed.estimated_batch_size(args.seconds, 16000, args.batch_size)
        pure_forward(model, task_dir, batch)  # warm-up (kernels, allocator)
        pure = min(pure_forward(model, task_dir, batch)[0] for _ in range(args.repeat))
        clips = len([p for p in task_dir.rglob("*.wav")])
        ours = min(hearbot_embed(model, task_dir, root / "out", batch) for _ in range(args.repeat))
        reader = min(reader_alone(task_dir, 16000, batch)[0] for _ in range(args.repeat))
        module, options = (
            ("hear_gpu_standin", {}) if args.model == "standin"
            else ("hear_reference_model", {"size": size})
        )  # fmt: skip
        streamed = min(
            streamed_embed(module, options, device, task_dir, root, batch)
            for _ in range(args.repeat)
        )
        report = {
            "device": str(model.device),
            "model": name,
            "clips": clips,
            "seconds_per_clip": args.seconds,
            "batch_size": batch,
            "pure_forward_s": round(pure, 3),
            "hearbot_embed_s": round(ours, 3),
            "pure_clips_per_s": round(clips / pure, 1),
            "embed_clips_per_s": round(clips / ours, 1),
            "ratio_embed_over_pure": round(pure / ours, 3),
            "streamed_embed_s": round(streamed, 3),
            "streamed_clips_per_s": round(clips / streamed, 1),
            "ratio_streamed_over_pure": round(pure / streamed, 3),
            "reader_alone_clips_per_s": round(clips / reader, 1),
            "reader_realtime_factor": round(clips * args.seconds / reader, 1),
            "ratio_reader_over_pure": round(pure / reader, 1),
        }
        print(json.dumps(report, indent=2))
        print(
            f"hearbot embed runs at {report['ratio_embed_over_pure']:.2f} of a pure forward "
            f"loop over audio in memory ({report['embed_clips_per_s']} vs "
            f"{report['pure_clips_per_s']} clips/s, {report['device']}, batch {batch})"
        )
        print(
            f"hearbot verify's way (the model in the sandbox, fed through the stream, its "
            f"start included) runs at {report['ratio_streamed_over_pure']:.2f} of it "
            f"({report['streamed_clips_per_s']} clips/s)"
        )
        print(
            f"the audio reader alone decodes {report['reader_alone_clips_per_s']} clips/s "
            f"({report['reader_realtime_factor']:.0f}x real time), "
            f"{report['ratio_reader_over_pure']}x what the model consumes here"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
