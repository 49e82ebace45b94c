"""Broken: load_model raises."""


def load_model(model_file_path: str = "", **options: object):
    raise FileNotFoundError(f"weights {model_file_path!r} not found")
