"""benchmarks/evaluate_floor.py's pure parts on tiny tasks: the log parsing against a real
hearbot log, the floor plan, the floor's model shape against the kit's and its step count."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from bot.evaluation import evaluate_task
from bot.evaluation.embeddings import load_task
from bot.evaluation.model import INITIALIZERS, build_classifier
from bot.evaluation.protocol import data_splits, sampled_grid, task_grid
from bot.evaluation.scores import LOG_FILE
from tests.evaluation.synth import make_scene_task
from tests.scripts import load_script

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "evaluate_floor.py"


@pytest.fixture(scope="module")
def floor() -> ModuleType:
    return load_script(SCRIPT)


def test_parses_a_logged_line(floor: ModuleType) -> None:
    line = (
        "2026-12-06 05:00:00 split 3/5 (test ['fold02']): validation_score=0.5 epoch=8 "
        "epochs_trained=27 validation_s=1.250 "
        "conf={'hidden_layers': 2, 'lr': 0.00032, 'initialization': 'xavier_normal_'}"
    )
    selected = line.replace("split 3/5 (test ['fold02'])", "selected")
    member = line.replace("split 3/5", "member 1 (seed 43): split 3/5")
    assert floor.parse_trainings("\n".join([line, selected, member])) == [
        floor.Training("split", 3, 2, 0.00032, 27, 1.25)
    ]
    # batched mode logs grid points one layer shape after another: the plan is in grid order
    point = line.replace("split 3/5 (test ['fold02'])", "grid point N/8")
    shuffled = [point.replace("N", "2"), line, point.replace("N", "1")]
    assert [t.index for t in floor.parse_trainings("\n".join(shuffled))] == [1, 2, 3]


def test_plan_from_a_real_log(floor: ModuleType, tmp_path: Path) -> None:
    task = make_scene_task(
        tmp_path / "kfold",
        split_mode="new_split_kfold",
        splits=("fold00", "fold01", "fold02"),
        files_per_split=30,
    )
    evaluate_task(task, device="cpu", grid_points=3)
    trainings = floor.parse_trainings((task / LOG_FILE).read_text())
    assert [(t.what, t.index) for t in trainings] == [
        ("grid point", 1),
        ("grid point", 2),
        ("grid point", 3),
        ("split", 2),
        ("split", 3),
    ]
    assert all(3 <= t.epochs <= 12 for t in trainings)  # FAST_GRID: 12 epochs, validated each 3
    data = load_task(task)
    confs = sampled_grid(task_grid(data, None), 3)
    splits = data_splits(data.metadata.split_mode, data.metadata.splits)
    best = next(c for c in confs if c["lr"] == trainings[-1].lr)
    rows = {n: len(r.x) for n, r in data.splits.items()}
    plan = floor.floor_plan(trainings, confs, best, splits, rows)
    assert [r.train_splits for r in plan] == [("fold02",)] * 3 + [("fold00",), ("fold01",)]
    assert [r.epochs for r in plan] == [t.epochs for t in trainings]
    assert plan[0].steps == plan[0].epochs  # 30 rows: one batch of 1024 per epoch
    with pytest.raises(ValueError):  # the log's lr must be the grid's
        floor.floor_plan(trainings, confs[::-1], best, splits, rows)


@pytest.mark.parametrize("hidden_layers", [0, 1, 2])
def test_floor_model_has_the_kits_shape(floor: ModuleType, hidden_layers: int) -> None:
    kit = build_classifier(
        12,
        5,
        multilabel=False,
        hidden_layers=hidden_layers,
        hidden_dim=16,
        dropout=0.1,
        initialization=INITIALIZERS[0],
    )
    ours = floor.floor_model(12, 5, hidden_layers, 16, 0.1)
    assert [type(m) for m in ours] == [
        type(m) for m in [*getattr(kit.hidden, "children", lambda: [])(), kit.projection]
    ]
    assert [p.shape for p in ours.parameters()] == [p.shape for p in kit.parameters()]


def test_floor_child_takes_the_planned_steps(
    floor: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    labels = np.eye(3, dtype=np.float32)[rng.integers(3, size=10)]
    np.savez(tmp_path / "data.npz", x_a=rng.normal(size=(10, 6)).astype(np.float32), y_a=labels)
    run = floor.FloorRun(1, 8, 0.1, 1e-3, 4, 2, ("a",), 10)
    assert run.steps == 6  # batches of 4, 4, 2 per epoch
    plan = {
        "threads": torch.get_num_threads(),
        "device": "cpu",
        "data": str(tmp_path / "data.npz"),
        "multilabel": False,
        "runs": [{**run.__dict__, "train_splits": ["a"]}] * 2,
    }
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    assert floor.floor_child(tmp_path / "plan.json") == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 12
