"""Broken: get_timestamp_embeddings raises; get_scene_embeddings works."""

from hear_fake_base import (
    get_scene_embeddings,  # noqa: F401
    load_model,  # noqa: F401
)


def get_timestamp_embeddings(audio, model):
    raise ValueError("cannot frame this audio")
