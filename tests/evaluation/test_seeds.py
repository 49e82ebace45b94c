"""Seed ensembles (`evaluate_task(seeds=K)`, `hearbot evaluate --seeds K`), the per-clip test
predictions they save, and the bootstrap interval over test clips (bot/evaluation/bootstrap.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from bot.evaluation import EvaluationUsageError, evaluate_task
from bot.evaluation.bootstrap import bootstrap_ci, split_predictions
from bot.evaluation.cli import primary_score, register_evaluate_command
from bot.evaluation.clip_spread import clip_sd_of_files
from bot.evaluation.metrics import top1_acc
from bot.evaluation.scores import MEMBERS_FILE, PREDICTIONS_FILE, SCORES_FILE, load_members
from tests.evaluation.synth import make_event_task, make_scene_task


def _timeless(scores: dict) -> str:
    """The scores without the wall-clock times (time_in_min and its aggregates)."""

    def strip(node: object) -> object:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if not k.startswith("time_in_min")}
        return node

    return json.dumps(strip(scores))


def _kfold_task(root: Path) -> Path:
    return make_scene_task(
        root / "kfold",
        split_mode="new_split_kfold",
        splits=("fold00", "fold01", "fold02"),
        n_labels=4,
        files_per_split=16,
        noise=2.0,
        seed=3,
    )


def test_member_zero_is_the_single_run_and_the_others_reseed_torch(tmp_path: Path) -> None:
    task = _kfold_task(tmp_path)
    single = evaluate_task(task, device="cpu", grid_points=2, out_dir=tmp_path / "one")
    ensemble = evaluate_task(task, device="cpu", grid_points=2, seeds=3, out_dir=tmp_path / "3")
    # Member 0 is the kit's run bit for bit (same machine, same process), in both files.
    assert _timeless(ensemble) == _timeless(single)
    written = json.loads((tmp_path / "3" / SCORES_FILE).read_text())
    assert _timeless(written) == _timeless(json.loads((tmp_path / "one" / SCORES_FILE).read_text()))
    document = json.loads((tmp_path / "3" / MEMBERS_FILE).read_text())
    # On a CPU, members run one after another by default, member k seeded 42 + k.
    assert document["seeds"] == [42, 43, 44] and document["mode"] == "exact"
    assert document["together"] is False
    members = load_members(tmp_path / "3" / MEMBERS_FILE)
    assert _timeless(members[0]) == _timeless(single)
    # The grid tried is the kit's for every member: the same configurations, in the same order.
    assert {json.dumps(m["hparams"], sort_keys=True) for m in members} >= {
        json.dumps(single["hparams"], sort_keys=True)
    }
    # Another seed is another draw: on this noisy task some member's scores differ.
    assert len({json.dumps(m["aggregated_scores"]) for m in members}) > 1
    log = (tmp_path / "3" / "hearbot-evaluate.log").read_text()
    assert "seeds 3" in log and "member 2 (seed 44): test fold02" in log


def test_members_trained_together_are_draws_of_their_own_and_alone_the_batched_run(
    tmp_path: Path,
) -> None:
    """Trained together (the default on a GPU), members 1..K-1 share torch seed 43 and still
    differ from one another; a lone member 1 is exactly the batched protocol seeded 43
    (stacking adds no other change)."""
    task = _kfold_task(tmp_path)
    ensemble = evaluate_task(
        task, device="cpu", grid_points=2, seeds=4, together=True, out_dir=tmp_path / "four"
    )
    document = json.loads((tmp_path / "four" / MEMBERS_FILE).read_text())
    assert document["seeds"] == [42, 43, 43, 43] and document["together"] is True
    log = (tmp_path / "four" / "hearbot-evaluate.log").read_text()
    assert "member 3 (trained together): test fold02" in log
    members = load_members(tmp_path / "four" / MEMBERS_FILE)
    assert _timeless(members[0]) == _timeless(ensemble)
    others = {json.dumps(m["aggregated_scores"]) + json.dumps(m["hparams"]) for m in members[1:]}
    assert len(others) > 1
    evaluate_task(
        task, device="cpu", grid_points=2, seeds=2, together=True, out_dir=tmp_path / "together"
    )
    evaluate_task(
        task,
        device="cpu",
        grid_points=2,
        seeds=2,
        together=False,
        mode="batched",
        out_dir=tmp_path / "batched",
    )
    together = load_members(tmp_path / "together" / MEMBERS_FILE)[1]
    batched = load_members(tmp_path / "batched" / MEMBERS_FILE)[1]
    assert _timeless(together) == _timeless(batched)


def test_per_clip_predictions_reproduce_the_scores(tmp_path: Path) -> None:
    task = _kfold_task(tmp_path)
    evaluate_task(task, device="cpu", grid_points=1, seeds=2, out_dir=tmp_path / "out")
    members = load_members(tmp_path / "out" / MEMBERS_FILE)
    with np.load(tmp_path / "out" / PREDICTIONS_FILE) as archive:
        names = set(archive.files)
    assert names == {f"m{m}/fold0{f}/{k}" for m in (0, 1) for f in (0, 1, 2)
                     for k in ("probs", "target")}  # fmt: skip
    for member in (0, 1):
        splits = split_predictions(tmp_path / "out" / PREDICTIONS_FILE, member)
        for (probs, target), fold in zip(splits, ("fold00", "fold01", "fold02"), strict=True):
            assert probs.shape == target.shape == (16, 4)
            # What the file holds is what was scored: top1 recomputed equals the logged one.
            assert top1_acc(probs, target) == pytest.approx(
                members[member][fold]["test_top1_acc"], abs=1e-6
            )


def test_the_bootstrap_interval_brackets_the_score_and_is_reproducible(tmp_path: Path) -> None:
    task = _kfold_task(tmp_path)
    scores = evaluate_task(task, device="cpu", grid_points=1, out_dir=tmp_path / "out")
    path = tmp_path / "out" / PREDICTIONS_FILE
    low, high = bootstrap_ci([path], "top1_acc")
    assert low <= primary_score(scores) <= high and high - low > 0
    assert bootstrap_ci([path], "top1_acc") == (low, high)  # seeded: the same interval
    # Two task directories (a Beehive-like column): the interval of their mean.
    both = bootstrap_ci([path, path], "top1_acc")
    assert both is not None and both[0] <= primary_score(scores) <= both[1]


def test_a_perfect_and_a_coin_flip_classifier(tmp_path: Path) -> None:
    target = np.eye(2, dtype=np.uint8)[np.arange(200) % 2]
    perfect = target.astype(np.float32)
    coin = np.eye(2, dtype=np.float32)[np.random.default_rng(0).integers(0, 2, 200)]
    for name, probs in (("perfect", perfect), ("coin", coin)):
        np.savez_compressed(tmp_path / f"{name}.npz", **{"m0/test/probs": probs,
                                                          "m0/test/target": target})  # fmt: skip
    assert bootstrap_ci([tmp_path / "perfect.npz"], "top1_acc") == (1.0, 1.0)
    low, high = bootstrap_ci([tmp_path / "coin.npz"], "top1_acc")
    score = top1_acc(coin, target)
    # A binomial proportion over 200 clips: the 95 % interval is about ± 1.96·√(p(1-p)/200).
    half = 1.96 * np.sqrt(score * (1 - score) / 200)
    assert low == pytest.approx(score - half, abs=0.02)
    assert high == pytest.approx(score + half, abs=0.02)


def test_event_tasks_save_no_clip_predictions(tmp_path: Path) -> None:
    task = make_event_task(tmp_path / "events")
    evaluate_task(task, device="cpu", seeds=2, grid_points=1, out_dir=tmp_path / "out")
    assert len(load_members(tmp_path / "out" / MEMBERS_FILE)) == 2
    assert not (tmp_path / "out" / PREDICTIONS_FILE).exists()


def test_bad_seed_counts_are_refused(tmp_path: Path) -> None:
    task = _kfold_task(tmp_path)
    for seeds in (0, 65):
        with pytest.raises(EvaluationUsageError, match="seeds must be from 1 to 64"):
            evaluate_task(task, device="cpu", seeds=seeds)


def test_hearbot_evaluate_prints_the_members_and_the_interval(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    task = _kfold_task(tmp_path)
    parser = argparse.ArgumentParser()
    register_evaluate_command(parser.add_subparsers())
    args = parser.parse_args(
        ["evaluate", str(task), "--device", "cpu", "--grid-points", "1", "--seeds", "2"]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out.strip()
    fields = out.split("\t")
    assert fields[0] == str(task)
    member0 = primary_score(json.loads((task / SCORES_FILE).read_text()))
    assert float(fields[1]) == member0
    assert fields[2].startswith("members=2 mean=") and " sd=" in fields[2]
    # top1_acc is a share of clips: the members' per-clip sd, recomputed from their predictions
    assert fields[3] == f"clip_sd={clip_sd_of_files([task / PREDICTIONS_FILE], 'top1_acc'):.4f}"
    assert fields[4].startswith("ci95=[")
    with pytest.raises(SystemExit):
        parser.parse_args(["evaluate", str(task), "--seeds", "0"])
