"""The tiny model, which "runs out of memory" (as CUDA says it) on batches of more than 3."""

from __future__ import annotations

import torch
from hear_fake_base import TinyModel, features, frames, load_model

__all__ = ["get_scene_embeddings", "get_timestamp_embeddings", "load_model"]
MAX_BATCH = 3


def _fits(audio: torch.Tensor) -> None:
    if audio.shape[0] > MAX_BATCH:
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")


def get_timestamp_embeddings(
    audio: torch.Tensor, model: TinyModel
) -> tuple[torch.Tensor, torch.Tensor]:
    _fits(audio)
    timestamps = frames(audio, model)
    return features(audio, timestamps.shape[1]), timestamps


def get_scene_embeddings(audio: torch.Tensor, model: TinyModel) -> torch.Tensor:
    _fits(audio)
    return features(audio, 1)[:, 0, :]
