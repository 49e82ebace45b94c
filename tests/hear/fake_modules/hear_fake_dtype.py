"""Broken: embeddings in float64."""

from hear_fake_base import get_scene_embeddings as _scene
from hear_fake_base import get_timestamp_embeddings as _timestamps
from hear_fake_base import load_model  # noqa: F401


def get_timestamp_embeddings(audio, model):
    embeddings, timestamps = _timestamps(audio, model)
    return embeddings.double(), timestamps


def get_scene_embeddings(audio, model):
    return _scene(audio, model).double()
