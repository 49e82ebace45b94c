"""The members' per-clip sd (bot/evaluation/clip_spread.py): exact on hand-made cases, unbiased
for the variance of one more run's score when clips flip independently, None where the metric
is not a share of clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bot.evaluation.clip_spread import (
    clip_sd,
    clip_sd_of_files,
    hits_as_text,
    hits_from_text,
    member_count,
    split_variance,
    task_variance,
)
from bot.evaluation.metrics import top1_acc

LABELS = 4


def _rows(labels: np.ndarray) -> np.ndarray:
    """One-hot rows (float32) of label indices: as probabilities or as targets."""
    out = np.zeros((len(labels), LABELS), dtype=np.float32)
    out[np.arange(len(labels)), labels] = 1.0
    return out


def _member(hits: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(probs, target) of a member that gets exactly the clips in `hits` right."""
    predicted = np.where(hits, truth, (truth + 1) % LABELS)
    return _rows(predicted), _rows(truth)


def test_members_that_agree_on_every_clip_have_no_per_clip_spread() -> None:
    hits = np.array([[True, False, True]] * 5)
    assert split_variance(hits) == 0.0


def test_one_disputed_clip_gives_the_unbiased_bernoulli_variance() -> None:
    # Two members of four clips disagree on one: q = 1/2, K/(K-1)·q(1-q) = 2·1/4, over n².
    hits = np.array([[True, True, False, True], [True, False, False, True]])
    assert split_variance(hits) == pytest.approx(0.5 / 16)


def test_folds_and_task_directories_are_averaged_as_the_column_score_is() -> None:
    truth = np.arange(8) % LABELS
    split_a = np.array([[1, 1, 0, 0, 1, 1, 1, 1], [1, 0, 0, 0, 1, 1, 1, 1]], dtype=bool)
    split_b = np.array([[1, 1, 1, 1, 1, 1, 1, 1], [0, 0, 1, 1, 1, 1, 1, 1]], dtype=bool)
    task = [[_member(split_a[m], truth), _member(split_b[m], truth)] for m in range(2)]
    var_a, var_b = split_variance(split_a), split_variance(split_b)
    one_task = clip_sd([task], "top1_acc")
    assert one_task == pytest.approx(np.sqrt((var_a + var_b) / 4))
    # two task directories of the same column: their scores are averaged
    assert clip_sd([task, task], "top1_acc") == pytest.approx(np.sqrt(2 * (var_a + var_b) / 16))


def test_unbiased_for_the_variance_of_one_more_run_when_clips_flip_independently() -> None:
    """Each clip i is right with its own probability p_i in every run, independently. Over many
    draws of K = 5 members, the mean of clip_sd² equals the variance of a sixth run's accuracy
    (within the Monte Carlo error), while the members' own sample sd scatters widely."""
    rng = np.random.default_rng(7)
    n = 40
    p = rng.choice([0.0, 1.0, 0.3, 0.5, 0.8], size=n)
    truth = np.arange(n) % LABELS
    true_variance = float(np.sum(p * (1 - p)) / n**2)
    estimates = []
    for _ in range(4000):
        runs = rng.random((5, n)) < p
        estimates.append(clip_sd([[[_member(hits, truth)] for hits in runs]], "top1_acc") ** 2)
    assert np.mean(estimates) == pytest.approx(true_variance, rel=0.03)
    # and the accuracy it describes is the metric's own
    hits = rng.random(n) < p
    assert top1_acc(*_member(hits, truth)) == pytest.approx(hits.mean())


def test_no_per_clip_sd_for_a_ranking_metric_or_a_single_member() -> None:
    truth = np.arange(6) % LABELS
    member = _member(np.ones(6, dtype=bool), truth)
    assert clip_sd([[[member], [member]]], "mAP") is None
    assert clip_sd([[[member]]], "top1_acc") is None


def test_members_with_different_splits_are_refused() -> None:
    truth = np.arange(6) % LABELS
    member = _member(np.ones(6, dtype=bool), truth)
    with pytest.raises(ValueError, match="different test splits"):
        clip_sd([[[member], [member, member]]], "top1_acc")
    short = _member(np.ones(4, dtype=bool), truth[:4])
    with pytest.raises(ValueError, match="differ in shape"):
        clip_sd([[[member], [short]]], "top1_acc")


def test_hits_survive_their_text_form() -> None:
    hits = [
        [np.array([True, False, True]), np.array([False])],
        [np.array([1, 1, 0], bool), np.array([True])],
    ]
    text = hits_as_text(hits)
    assert text == [["101", "0"], ["110", "1"]]
    back = hits_from_text(text)
    assert all(
        np.array_equal(a, b)
        for m, n in zip(hits, back, strict=True)
        for a, b in zip(m, n, strict=True)
    )
    assert task_variance(back) == pytest.approx(
        (
            split_variance(np.array([[1, 0, 1], [1, 1, 0]], bool))
            + split_variance(np.array([[0], [1]], bool))
        )
        / 4
    )


def test_read_from_the_prediction_file_of_every_member(tmp_path: Path) -> None:
    truth = np.arange(10) % LABELS
    hits = np.array([[1] * 10, [1] * 5 + [0] * 5, [0] * 5 + [1] * 5], dtype=bool)
    arrays = {}
    for m, member_hits in enumerate(hits):
        for split in ("fold00", "fold01"):
            probs, target = _member(member_hits, truth)
            arrays[f"m{m}/{split}/probs"] = probs
            arrays[f"m{m}/{split}/target"] = target.astype(np.uint8)
    path = tmp_path / "test.predictions.npz"
    np.savez_compressed(path, **arrays)
    assert member_count(path) == 3
    expected = np.sqrt(2 * split_variance(hits) / 4)
    assert clip_sd_of_files([path], "top1_acc") == pytest.approx(expected)
    assert clip_sd_of_files([path], "aucroc") is None
