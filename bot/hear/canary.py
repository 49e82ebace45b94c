"""The memorisation canary: perturbed copies of test clips, embedded alongside the originals.

A public test set can always be memorised offline (a table from audio to label). To make that
visible, `plan` picks some of a task's test clips (at most `DEFAULT_FRACTION` of all its
clips, so embedding costs at most that much more) and gives each a perturbation below
audibility: a gain change of 0.1 to 0.5 dB and a delay of 0.2 to 0.8 of a sample (a
band-limited fractional shift, `perturb`). The copies go into the same stream as every other
clip, under opaque ids, in random order: the model cannot tell them from the originals by
anything but their audio. Their embeddings are written under ``<task>/canary/<split>/``, and
bot/evaluation/canary.py scores them with the very classifiers that scored the test clips.

A genuine model's score barely moves; a model that looks clips up by their exact samples
loses what it memorised. A model that matches audio approximately (a robust fingerprint) is
not caught by this: the canary shows naive memorisation, it does not prove its absence.
"""

from __future__ import annotations

import json
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CANARY_DIR = "canary"
PLAN_FILE = "canary.json"
PLAN_FORMAT = "hearbot.canary/1"
DEFAULT_FRACTION = 0.25
MIN_CLIPS = 8
MAX_FRACTION = 0.3
"""Never more copies than this share of the task's clips, whatever MIN_CLIPS asks: the
canary costs at most 30 % more embedding."""
GAIN_DB = (0.1, 0.5)
SHIFT_SAMPLES = (0.2, 0.8)


@dataclass(frozen=True)
class Perturbation:
    gain_db: float
    shift_samples: float

    def apply(self, audio: np.ndarray) -> np.ndarray:
        return perturb(audio, self.gain_db, self.shift_samples)


def perturb(audio: np.ndarray, gain_db: float, shift_samples: float) -> np.ndarray:
    """``audio`` (float32, 1-D) delayed by ``shift_samples`` (a fraction of a sample: a linear
    phase in the frequency domain, the band-limited delay) and scaled by ``gain_db``."""
    n = audio.shape[-1]
    spectrum = np.fft.rfft(audio.astype(np.float64))
    frequencies = np.fft.rfftfreq(n)
    shifted = np.fft.irfft(spectrum * np.exp(-2j * np.pi * frequencies * shift_samples), n)
    return (shifted * 10 ** (gain_db / 20)).astype(np.float32)


def scored_splits(split_mode: str, splits: Sequence[str]) -> list[str]:
    """The splits whose clips are scored as test clips: `test`, or every fold."""
    return ["test"] if split_mode == "trainvaltest" else list(splits)


def plan(
    split_files: Mapping[str, Sequence[str]],
    test_splits: Sequence[str],
    rng: random.Random,
    fraction: float = DEFAULT_FRACTION,
) -> dict[str, dict[str, Perturbation]]:
    """split -> file -> its perturbation: a random sample of the test clips, ``fraction`` of
    all clips (at least `MIN_CLIPS` where the test splits have them, never more than
    `MAX_FRACTION` of all clips)."""
    total = sum(len(files) for files in split_files.values())
    candidates = [(split, file) for split in test_splits for file in split_files[split]]
    count = min(len(candidates), max(MIN_CLIPS, int(fraction * total)), int(MAX_FRACTION * total))
    if fraction <= 0:
        count = 0
    chosen = rng.sample(candidates, count)
    out: dict[str, dict[str, Perturbation]] = {}
    for split, file in sorted(chosen):
        sign = rng.choice((-1.0, 1.0))
        out.setdefault(split, {})[file] = Perturbation(
            gain_db=round(sign * rng.uniform(*GAIN_DB), 4),
            shift_samples=round(rng.uniform(*SHIFT_SAMPLES), 4),
        )
    return out


def plan_json(chosen: Mapping[str, Mapping[str, Perturbation]]) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "splits": {
            split: {
                file: {"gain_db": p.gain_db, "shift_samples": p.shift_samples}
                for file, p in files.items()
            }
            for split, files in chosen.items()
        },
    }


def read_plan(out_task: Path) -> dict[str, dict[str, Perturbation]] | None:
    """The plan trusted code wrote beside a task's embeddings; None when there is none."""
    path = out_task / PLAN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        return None
    return {
        split: {
            file: Perturbation(float(p["gain_db"]), float(p["shift_samples"]))
            for file, p in files.items()
        }
        for split, files in data["splits"].items()
    }
