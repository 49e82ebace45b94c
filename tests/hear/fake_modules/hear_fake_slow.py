"""The tiny model, slowed down per call by HEAR_FAKE_SLOW_S seconds (to be killed mid-split)."""

from __future__ import annotations

import os
import time

import torch
from hear_fake_base import TinyModel, features, frames, load_model

__all__ = ["get_scene_embeddings", "get_timestamp_embeddings", "load_model"]


def _pause() -> None:
    time.sleep(float(os.environ.get("HEAR_FAKE_SLOW_S", "0")))


def get_timestamp_embeddings(
    audio: torch.Tensor, model: TinyModel
) -> tuple[torch.Tensor, torch.Tensor]:
    _pause()
    timestamps = frames(audio, model)
    return features(audio, timestamps.shape[1]), timestamps


def get_scene_embeddings(audio: torch.Tensor, model: TinyModel) -> torch.Tensor:
    _pause()
    return features(audio, 1)[:, 0, :]
