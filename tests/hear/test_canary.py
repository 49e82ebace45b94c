"""The memorisation canary's plan and perturbation (bot/hear/canary.py)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from bot.hear import canary


def files(counts: dict[str, int]) -> dict[str, list[str]]:
    return {split: [f"{split}-{i}.wav" for i in range(n)] for split, n in counts.items()}


def test_the_plan_takes_test_clips_only_a_quarter_of_the_task() -> None:
    split_files = files({"train": 600, "valid": 200, "test": 200})
    chosen = canary.plan(split_files, ["test"], random.Random(1))
    assert set(chosen) == {"test"} and len(chosen["test"]) == 200  # 25 % of 1000 = 250 > 200
    folds = files({f"fold0{i}": 100 for i in range(5)})
    chosen = canary.plan(
        folds, canary.scored_splits("new_split_kfold", list(folds)), random.Random(1)
    )
    assert sum(len(f) for f in chosen.values()) == 125  # every fold is a test split
    for perturbations in chosen.values():
        for p in perturbations.values():
            assert canary.GAIN_DB[0] <= abs(p.gain_db) <= canary.GAIN_DB[1]
            assert canary.SHIFT_SAMPLES[0] <= p.shift_samples <= canary.SHIFT_SAMPLES[1]


def test_small_tasks_get_at_least_eight_copies_but_never_more_than_thirty_percent() -> None:
    assert (
        sum(map(len, canary.plan(files({"test": 40}), ["test"], random.Random(0)).values())) == 10
    )
    assert sum(map(len, canary.plan(files({"test": 32}), ["test"], random.Random(0)).values())) == 8
    assert sum(map(len, canary.plan(files({"test": 20}), ["test"], random.Random(0)).values())) == 6
    assert canary.plan(files({"test": 20}), ["test"], random.Random(0), fraction=0) == {}


def test_the_perturbation_is_a_small_gain_and_a_fraction_of_a_sample_delay() -> None:
    rng = np.random.default_rng(0)
    # band-limited noise: a delay by a whole sample is then exactly a circular shift
    spectrum = np.fft.rfft(rng.standard_normal(16000))
    spectrum[4000:] = 0
    audio = (np.fft.irfft(spectrum, 16000) * 0.1).astype(np.float32)
    whole = canary.perturb(audio, 0.0, 1.0)
    assert np.allclose(whole, np.roll(audio, 1), atol=1e-6)
    copy = canary.perturb(audio, 0.5, 0.5)
    assert copy.dtype == np.float32 and copy.shape == audio.shape
    assert not np.array_equal(copy, audio)
    ratio = np.sqrt(np.mean(copy.astype(np.float64) ** 2) / np.mean(audio.astype(np.float64) ** 2))
    assert ratio == pytest.approx(10 ** (0.5 / 20), rel=1e-3)
    half_way = (audio + np.roll(audio, 1)) / 2
    assert np.corrcoef(copy, half_way)[0, 1] > 0.99


def test_the_plan_is_read_back_as_written(tmp_path: Path) -> None:
    chosen = canary.plan(files({"test": 40}), ["test"], random.Random(3))
    (tmp_path / canary.PLAN_FILE).write_text(json.dumps(canary.plan_json(chosen)))
    assert canary.read_plan(tmp_path) == chosen
    (tmp_path / canary.PLAN_FILE).write_text("{}")
    assert canary.read_plan(tmp_path) is None
