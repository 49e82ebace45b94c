"""Exact mode's training steps on CUDA: eager against replayed from a CUDA graph (same run).

One grid point of the kit's classifier (2 hidden layers of 1024, Dropout 0.1, BatchNorm, Adam)
on a MAESTRO-shaped split held on the device (--rows rows of 768 features, 88 labels,
multilabel), trained for --epochs epochs of batches of 1024 both ways from the same seed:
prints seconds per epoch and steps per second of each, the ratio, and whether both end with
the same bits (weights, BatchNorm statistics, optimizer state, CUDA generator).
Usage, on a GPU:  python benchmarks/exact_training_graph.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.evaluation.model import build_classifier  # noqa: E402
from bot.evaluation.protocol import deterministic_torch  # noqa: E402
from bot.evaluation.step_graph import capture_step  # noqa: E402
from bot.evaluation.train import _train_epoch  # noqa: E402

BATCH = 1024


def run(
    device: torch.device, x: torch.Tensor, y: torch.Tensor, epochs: int, graphs: bool
) -> tuple[float, list[torch.Tensor]]:
    """Seconds per epoch (after a first, untimed epoch) and every bit of the final state."""
    with deterministic_torch(device):
        model = build_classifier(
            x.shape[1], y.shape[1], multilabel=True, hidden_layers=2, hidden_dim=1024,
            dropout=0.1, initialization=torch.nn.init.xavier_normal_,
        ).to(device)  # fmt: skip
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        graphed = capture_step(model, model.loss, x[:BATCH], y[:BATCH]) if graphs else None
        if graphs and graphed is None:
            raise SystemExit("CUDA graph capture failed (see the warning above)")
        _train_epoch(model, optimizer, x, y, BATCH, graphed)
        torch.cuda.synchronize(device)
        start = time.perf_counter()
        for _ in range(epochs - 1):
            _train_epoch(model, optimizer, x, y, BATCH, graphed)
        torch.cuda.synchronize(device)
        seconds = (time.perf_counter() - start) / (epochs - 1)
        state = [t.detach().clone() for t in model.state_dict().values()]
        for per_param in optimizer.state.values():
            state += [t.clone() for t in per_param.values()]
        state.append(torch.cuda.get_rng_state(device))
    return seconds, state


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=6)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("CUDA graphs need a CUDA device: nothing to compare here")
        return 0
    if args.epochs < 2:
        parser.error("--epochs must be at least 2 (the first is not timed)")
    device = torch.device("cuda")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(args.rows, 768, generator=generator).to(device)
    y = (torch.rand(args.rows, 88, generator=generator) < 0.05).float().to(device)
    steps = -(-args.rows // BATCH)
    eager_s, eager_state = run(device, x, y, args.epochs, graphs=False)
    graph_s, graph_state = run(device, x, y, args.epochs, graphs=True)
    same = len(eager_state) == len(graph_state) and all(
        torch.equal(a, b) for a, b in zip(eager_state, graph_state, strict=True)
    )
    print(f"{torch.cuda.get_device_name(device)}, {args.rows} rows, {steps} steps per epoch")
    print(f"eager:  {eager_s:.4f} s per epoch ({steps / eager_s:.0f} steps/s)")
    print(f"graphs: {graph_s:.4f} s per epoch ({steps / graph_s:.0f} steps/s)")
    print(
        f"exact training steps replayed from a CUDA graph run {eager_s / graph_s:.2f}x as fast "
        f"as eager ones; same bits at the end: {same}"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
