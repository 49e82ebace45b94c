"""Broken: an unsupported sample rate, and a float embedding size."""

from hear_fake_base import TinyModel, get_scene_embeddings, get_timestamp_embeddings  # noqa: F401


class OddModel(TinyModel):
    sample_rate = 8000
    scene_embedding_size = 4.0


def load_model(model_file_path: str = "", **options: object):
    return OddModel()
