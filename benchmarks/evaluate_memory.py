"""Memory of `hearbot evaluate` with the rows memory-mapped (the default) against held in RAM
(`--in-memory`), measured in one run on the same embeddings.

A scene task in the official per-file layout (--folds folds of --files files, --dim floats
each: by default 5 x 2,000 x 6,144, about 250 MB of embeddings, the size of an OpenL3-sized
model's k-fold task) is evaluated twice, each time in a fresh process, with the protocol's
k-fold schedule but a short training (one grid point, --epochs epochs: training length does
not change what is held). In each process a thread samples /proc/self/status every 2 ms and
reports:

- peak anonymous memory (RssAnon): what the process holds and the kernel cannot drop;
- peak resident memory (VmHWM): the same plus file pages mapped in (the memory-mapped rows
  are clean pages of unnamed spill files, which the kernel drops under pressure and reads
  back when touched).

Both minus the process's footprint before the task is loaded (Python, torch, the bot) give
the task's share. Prints both runs, the ratio of the task's anonymous memory (memory-mapped /
in RAM; lower is better), what memory-mapping saved as a multiple of the embeddings' size,
and checks that both runs gave the same scores.
Usage: .venv/bin/python benchmarks/evaluate_memory.py [--folds 5] [--files 2000] [--dim 6144]
       [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MIB = 1 << 20


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(task: Path, in_memory: bool, epochs: int) -> None:
    """One evaluation in this process; prints a JSON line with its memory and scores."""
    import torch

    from bot.evaluation import evaluate_task

    torch.set_num_threads(1)
    before_anon, before_rss = _status_kib("RssAnon"), _status_kib("VmRSS")
    peak = {"anon": before_anon}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak["anon"] = max(peak["anon"], _status_kib("RssAnon"))
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.monotonic()
    scores = evaluate_task(
        task, device="cpu", grid_points=1, max_epochs=epochs, in_memory=in_memory
    )
    seconds = time.monotonic() - started
    done.set()
    sampler.join()
    aggregated = scores["aggregated_scores"]
    print(
        json.dumps(
            {
                "anon_mib": (peak["anon"] - before_anon) / 1024,
                "rss_mib": (_status_kib("VmHWM") - before_rss) / 1024,
                "seconds": seconds,
                "score": aggregated["test_score_mean"],
                "loss": aggregated["test_loss_mean"],
            }
        )
    )


def make_task(root: Path, folds: int, files: int, dim: int) -> tuple[Path, float]:
    """A k-fold multiclass scene task written file by file; returns it and its size in MiB."""
    import numpy as np

    rng = np.random.default_rng(0)
    labels = [f"lab{i}" for i in range(10)]
    protos = rng.normal(size=(len(labels), dim)).astype(np.float32)
    task = root / "memory_task"
    splits = [f"fold{k:02d}" for k in range(folds)]
    metadata = {
        "task_name": "memory_task",
        "embedding_type": "scene",
        "prediction_type": "multiclass",
        "split_mode": "new_split_kfold",
        "splits": splits,
        "evaluation": ["top1_acc"],
        "use_scoring_for_early_stopping": True,
        "evaluation_params": {"task_specific_param_grid": {"check_val_every_n_epoch": [1]}},
    }
    task.mkdir()
    (task / "task_metadata.json").write_text(json.dumps(metadata))
    vocabulary = "idx,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    (task / "labelvocabulary.csv").write_text(vocabulary)
    for split in splits:
        (task / split).mkdir()
        split_json = {}
        for j in range(files):
            name = f"{split}_{j:05d}.wav"
            k = int(rng.integers(len(labels)))
            emb = protos[k] + rng.normal(size=dim).astype(np.float32)
            np.save(task / split / f"{name}.embedding.npy", emb.astype(np.float32))
            (task / split / f"{name}.target-labels.json").write_text(json.dumps([labels[k]]))
            split_json[name] = [labels[k]]
        (task / f"{split}.json").write_text(json.dumps(split_json))
    return task, folds * files * dim * 4 / MIB


def run(task: Path, in_memory: bool, epochs: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(task), "--epochs", str(epochs)]
    if in_memory:
        command.append("--in-memory")
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--dim", type=int, default=6144)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--in-memory", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.in_memory, args.epochs)
        return
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        task, size = make_task(Path(tmp), args.folds, args.files, args.dim)
        print(
            f"task: {args.folds} folds x {args.files} files x {args.dim} floats = {size:.0f} MiB "
            f"of embeddings (written in {time.monotonic() - started:.0f} s)"
        )
        results = {
            "in RAM (--in-memory)": run(task, True, args.epochs),
            "memory-mapped (default)": run(task, False, args.epochs),
        }
    print(f"{'rows':<24} {'anon MiB':>9} {'RSS MiB':>8} {'seconds':>8}  score")
    for name, r in results.items():
        print(
            f"{name:<24} {r['anon_mib']:>9.0f} {r['rss_mib']:>8.0f} {r['seconds']:>8.1f}  "
            f"{r['score']:.6f}"
        )
    ram, mapped = results.values()
    same = (ram["score"], ram["loss"]) == (mapped["score"], mapped["loss"])
    print(f"same scores: {'yes' if same else 'NO'}")
    saved = ram["anon_mib"] - mapped["anon_mib"]
    print(
        f"ratio of the task's anonymous memory, memory-mapped / in RAM: "
        f"{mapped['anon_mib'] / ram['anon_mib']:.2f}; memory-mapping saved {saved:.0f} MiB, "
        f"{saved / size:.2f}x the embeddings (what remains is the classifiers: the protocol "
        f"keeps every fold's model and best state, {args.dim} x 1024 weights each)"
    )
    if not same:
        raise SystemExit("the two runs gave different scores")


if __name__ == "__main__":
    main()
