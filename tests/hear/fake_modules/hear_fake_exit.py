"""Hostile: calls sys.exit(0) from get_scene_embeddings (must not look like success)."""

import sys

from hear_fake_base import (
    get_timestamp_embeddings,  # noqa: F401
    load_model,  # noqa: F401
)


def get_scene_embeddings(audio, model):
    sys.exit(0)
