"""examples/hear_example_model: deterministic, variant-able, learnable, and a reproducible wheel."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from bot.hear import api, embed

from .helpers import EVENTS, EXAMPLE_MODEL_DIR, TONES

pytestmark = pytest.mark.usefixtures("module_path")


def _noise(n: int, seconds: float, rate: int = 16000) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    return torch.rand((n, int(seconds * rate)), generator=generator) * 2 - 1


def test_outputs_are_deterministic_and_scaled() -> None:
    import hear_example_model as m

    audio = _noise(2, 1.5)
    a, ts_a = m.get_timestamp_embeddings(audio, m.load_model())
    b, ts_b = m.get_timestamp_embeddings(audio, m.load_model())
    assert torch.equal(a, b) and torch.equal(ts_a, ts_b)
    scaled, _ = m.get_timestamp_embeddings(audio, m.load_model(scale=2.0))
    assert torch.allclose(scaled, 2 * a)
    other, _ = m.get_timestamp_embeddings(audio, m.load_model(seed=1))
    assert torch.equal(other[..., :64], a[..., :64]) and not torch.equal(other, a)
    scene = m.get_scene_embeddings(audio, m.load_model())
    assert torch.allclose(scene, a.mean(dim=1))


def test_projection_is_fixed_across_versions() -> None:
    import hear_example_model as m

    values = m.splitmix64_uniform(0, 3)
    assert values == pytest.approx([0.7666216164, -0.1369440059, -0.9471324568], abs=1e-9)


def test_timestamps_are_frame_centres_every_50_ms() -> None:
    import hear_example_model as m

    model = m.load_model()
    _, ts = m.get_timestamp_embeddings(_noise(1, 1.07), model)
    assert ts.shape == (1, 22) and ts[0, -1].item() == 1050.0
    assert torch.equal(ts[0], torch.arange(22, dtype=torch.float32) * 50)
    model = m.load_model(sample_rate=22050)
    emb, ts = m.get_timestamp_embeddings(_noise(1, 4.0, 22050), model)
    assert ts.shape == (1, 81) and ts[0, -1].item() == 4000.0 and emb.dtype == torch.float32


def test_weights_file_round_trip(tmp_path: Path) -> None:
    import hear_example_model as m

    model = m.load_model(seed=7, n_mels=32, projection_dim=16)
    m.save_weights(model, str(tmp_path / "w.json"))
    assert json.loads((tmp_path / "w.json").read_text())["format"] == m.WEIGHTS_FORMAT
    again = m.load_model(str(tmp_path / "w.json"))
    assert again.scene_embedding_size == 48
    audio = _noise(1, 1.0)
    assert torch.allclose(
        m.get_scene_embeddings(audio, again), m.get_scene_embeddings(audio, model)
    )


def test_bad_options_are_refused() -> None:
    import hear_example_model as m

    with pytest.raises(TypeError, match="unknown model option"):
        m.load_model(scal=2.0)
    with pytest.raises(ValueError, match="sample_rate"):
        m.load_model(sample_rate=8000)
    with pytest.raises(ValueError, match="fault"):
        m.load_model(fault="segfault")


def _fit_ridge(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Least-squares linear probe with a bias, on standardised features."""
    design = np.hstack([x, np.ones((len(x), 1))])
    return np.linalg.solve(design.T @ design + 1e-2 * np.eye(design.shape[1]), design.T @ y)


def _predict(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.hstack([x, np.ones((len(x), 1))]) @ weights


def _load_split(out_task: Path, split: str) -> tuple[np.ndarray, list]:
    names = list(json.loads((out_task / f"{split}.json").read_text()))
    x = [np.load(out_task / split / f"{n}.embedding.npy") for n in names]
    y = [json.loads((out_task / split / f"{n}.target-labels.json").read_text()) for n in names]
    return np.stack(x) if x[0].ndim == 1 else np.concatenate(x), y


def test_far_above_chance_on_the_synthetic_tasks(synth_tasks: Path, tmp_path: Path) -> None:
    model = api.load("hear_example_model", device="cpu")
    embed.embed_tasks(model, synth_tasks, tmp_path, [TONES, EVENTS], progress=False)
    # Tones, fold00 as test: a linear probe trained on fold02 and fold03 (the kit's split).
    folds = [_load_split(tmp_path / TONES, fold) for fold in ("fold02", "fold03")]
    x_train = np.concatenate([x for x, _ in folds])
    y_train = [labels for _, fold_labels in folds for labels in fold_labels]
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    targets = np.eye(5)[[labels[0] for labels in y_train]]
    weights = _fit_ridge((x_train - mean) / std, targets)
    x_test, y_test = _load_split(tmp_path / TONES, "fold00")
    predicted = _predict(weights, (x_test - mean) / std).argmax(1)
    accuracy = np.mean(predicted == np.array([labels[0] for labels in y_test]))
    assert accuracy >= 0.8  # chance is 0.2
    # Events: frame-level presence of each label.
    vocabulary = ["beep", "buzz", "whistle"]
    x_train, frames_train = _load_split(tmp_path / EVENTS, "train")
    y_frames = np.array(
        [[v in f for v in vocabulary] for clip in frames_train for f in clip], float
    )
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    weights = _fit_ridge((x_train - mean) / std, y_frames)
    x_test, frames_test = _load_split(tmp_path / EVENTS, "test")
    truth = np.array([[v in f for v in vocabulary] for clip in frames_test for f in clip])
    guess = _predict(weights, (x_test - mean) / std) > 0.5
    f1 = 2 * (guess & truth).sum() / (guess.sum() + truth.sum())
    assert f1 >= 0.7  # always-on would score about 2 * 0.2 / 1.2 = 0.33


def test_wheel_builds_reproducibly(tmp_path: Path) -> None:
    pytest.importorskip("build")
    digests = []
    for attempt in ("one", "two"):
        source = tmp_path / attempt / "src"
        shutil.copytree(
            EXAMPLE_MODEL_DIR,
            source,
            ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"),
        )
        command = [sys.executable, "-m", "build", "--wheel", "--no-isolation"]
        command += ["--skip-dependency-check", str(source), "--outdir", str(source.parent)]
        env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        (wheel,) = source.parent.glob("*.whl")
        assert wheel.name == "hear_example_model-1.0.0-py3-none-any.whl"
        digests.append(hashlib.sha256(wheel.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
