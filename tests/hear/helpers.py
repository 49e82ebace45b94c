"""Shared paths and helpers for the HEAR-side tests."""

from __future__ import annotations

import os
from pathlib import Path

from bot.hear import synth

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_MODEL_DIR = REPO / "examples" / "hear_example_model"
FAKE_MODULES_DIR = Path(__file__).resolve().parent / "fake_modules"
SPOKEN_DIGIT_NAME = "hear-2021.0.6-spoken_digit-1.0.9-small-44100.tar.gz"
SPOKEN_DIGIT_CANDIDATES = (
    REPO.parent / "shared" / "data" / SPOKEN_DIGIT_NAME,
    Path("/work/shared/data") / SPOKEN_DIGIT_NAME,
)
TONES = synth.SPECS["synth_tones"].dir_name
MIXTURES = synth.SPECS["synth_mixtures"].dir_name
EVENTS = synth.SPECS["synth_events"].dir_name
VARLEN = synth.SPECS["synth_varlen"].dir_name


def worker_env() -> dict[str, str]:
    """Environment for `python -m bot.hear.worker` subprocesses: the repository, the example
    model and the broken test modules on PYTHONPATH (before whatever it held)."""
    env = dict(os.environ)
    paths = [str(REPO), str(EXAMPLE_MODEL_DIR), str(FAKE_MODULES_DIR)]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env
