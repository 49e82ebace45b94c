"""Broken: timestamps at irregular intervals (every other step 10 ms early)."""

from hear_fake_base import (
    get_scene_embeddings,  # noqa: F401
    load_model,  # noqa: F401
)
from hear_fake_base import get_timestamp_embeddings as _timestamps


def get_timestamp_embeddings(audio, model):
    embeddings, timestamps = _timestamps(audio, model)
    timestamps = timestamps.clone()
    timestamps[:, 1::2] -= 10.0
    return embeddings, timestamps
