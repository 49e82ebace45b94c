"""Broken: NaN in the embeddings of every clip whose mean is above 0.5 (else correct)."""

import torch
from hear_fake_base import get_scene_embeddings as _scene
from hear_fake_base import get_timestamp_embeddings as _timestamps
from hear_fake_base import load_model  # noqa: F401


def _poison(audio, embeddings):
    loud = audio.mean(dim=1) > 0.5
    embeddings = embeddings.clone()
    embeddings[loud] = float("nan")
    return embeddings


def get_timestamp_embeddings(audio, model):
    embeddings, timestamps = _timestamps(audio, model)
    if audio.shape[1] > 30000:  # the validator's white noise (mean ~0) gets NaN too
        embeddings = embeddings.clone()
        embeddings[:, -1] = torch.inf
    return _poison(audio, embeddings), timestamps


def get_scene_embeddings(audio, model):
    return _poison(audio, _scene(audio, model))
