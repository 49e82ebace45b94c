"""A stand-in for a GPU model on machines without one (`benchmarks/embed_speed.py --model
standin`).

From the host's side a GPU model does two things per batch: Python launches its kernels,
holding the GIL, and then the host waits for the device without holding it. This model does
the same on a CPU: `launches` small tensor operations, then a sleep of `compute_ms` (default:
what the 94 M-parameter reference model took per batch of 21 clips of 4 s on an H100, 24 ms).
Its embeddings are zeros; only the timing matters. It shows whether `hearbot embed`'s reading
and writing overlap the model or take its time, which a real model on a CPU (busy on every
core) cannot show.
"""

from __future__ import annotations

import time

import torch

HOP_MS = 20.0
WIDTH = 768


class StandIn(torch.nn.Module):
    sample_rate = 16000
    scene_embedding_size = WIDTH
    timestamp_embedding_size = WIDTH

    def __init__(self, launches: int, compute_ms: float) -> None:
        super().__init__()
        self.launches = launches
        self.compute_s = compute_ms / 1000
        self.state = torch.nn.Parameter(torch.zeros(8))

    def run(self, n_sounds: int, frames: int) -> torch.Tensor:
        x = self.state
        for _ in range(self.launches):  # the host launching kernels
            x = x + 1
        time.sleep(self.compute_s)  # the host waiting for the device
        return torch.zeros(n_sounds, frames, WIDTH) + x[0] * 0


def load_model(model_file_path: str = "", launches: int = 300, compute_ms: float = 24.0) -> StandIn:
    return StandIn(int(launches), float(compute_ms))


def get_timestamp_embeddings(
    audio: torch.Tensor, model: StandIn
) -> tuple[torch.Tensor, torch.Tensor]:
    frames = max(1, audio.shape[1] // int(model.sample_rate * HOP_MS / 1000))
    timestamps = (torch.arange(frames) + 0.5) * HOP_MS
    return model.run(audio.shape[0], frames), timestamps.expand(audio.shape[0], -1)


def get_scene_embeddings(audio: torch.Tensor, model: StandIn) -> torch.Tensor:
    return model.run(audio.shape[0], 1)[:, 0]
