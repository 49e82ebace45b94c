"""Grid sampling, splits, selection, early stopping, aggregation and the output form."""

from __future__ import annotations

import json
import math
import random
import statistics
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.model_selection import ParameterGrid

from bot.evaluation import protocol, scores
from bot.evaluation.model import build_classifier
from bot.evaluation.train import Checkpoint, EarlyStopping, TrainedModel, improves


def test_grid_is_sklearn_parameter_grid_shuffled_by_seed_42() -> None:
    expected = list(ParameterGrid(protocol.PARAM_GRID))
    random.seed(42)
    random.shuffle(expected)
    assert protocol.sampled_grid(protocol.PARAM_GRID, 8) == expected[:8]
    assert len(protocol.parameter_grid(protocol.PARAM_GRID)) == 16
    first = protocol.sampled_grid(protocol.PARAM_GRID, 1)[0]
    assert (first["hidden_layers"], first["lr"], first["initialization"].__name__) == (
        1,
        1e-4,
        "xavier_normal_",
    )


def test_kfold_rotation_and_trainvaltest() -> None:
    assert protocol.data_splits("trainvaltest", ["train", "valid", "test"]) == [
        {"train": ["train"], "valid": ["valid"], "test": ["test"]}
    ]
    splits = protocol.data_splits("new_split_kfold", ["fold02", "fold00", "fold01", "fold03"])
    assert [(s["test"], s["valid"], s["train"]) for s in splits] == [
        (["fold00"], ["fold01"], ["fold02", "fold03"]),
        (["fold01"], ["fold02"], ["fold00", "fold03"]),
        (["fold02"], ["fold03"], ["fold00", "fold01"]),
        (["fold03"], ["fold00"], ["fold01", "fold02"]),
    ]


def _result(score: float, tag: int) -> TrainedModel:
    return TrainedModel({"tag": tag}, None, Checkpoint({}, 0, score, None), "max", 0.0)  # type: ignore[arg-type]


def test_selection_is_stable_on_ties() -> None:
    results = [_result(0.5, 0), _result(0.9, 1), _result(0.9, 2), _result(-math.inf, 3)]
    assert [r.conf["tag"] for r in protocol.sort_grid_points(results)] == [1, 2, 0, 3]
    low = [
        TrainedModel({"tag": i}, None, Checkpoint({}, 0, s, None), "min", 0.0)  # type: ignore[arg-type]
        for i, s in enumerate([0.3, 0.1, 0.1])
    ]
    assert [r.conf["tag"] for r in protocol.sort_grid_points(low)] == [1, 2, 0]


def test_early_stopping_like_lightning() -> None:
    stopper = EarlyStopping(patience=2, mode="max")
    got = [stopper.should_stop(v) for v in (0.5, 0.5, 0.6, 0.6, 0.55)]
    assert got == [False, False, False, False, True]
    assert EarlyStopping(patience=20, mode="max").should_stop(math.nan)
    assert EarlyStopping(patience=20, mode="min").should_stop(math.inf)
    assert improves(0.2, 0.3, "min") and not improves(0.3, 0.3, "min")
    assert not improves(math.nan, -math.inf, "max")


@pytest.fixture(autouse=True)
def _own_rng():
    with torch.random.fork_rng():
        yield


@pytest.mark.numeric
def test_classifier_layout_and_init_consume_the_stream_like_the_kit() -> None:
    torch.manual_seed(0)
    model = build_classifier(
        6,
        3,
        multilabel=False,
        hidden_layers=2,
        hidden_dim=5,
        dropout=0.1,
        initialization=torch.nn.init.xavier_uniform_,
    )
    kinds = [type(m).__name__ for m in model.hidden]
    assert kinds == ["Linear", "BatchNorm1d", "Dropout", "ReLU"] * 2
    # Replay the kit's draws by hand: Linear default init, then xavier with the gain.
    torch.manual_seed(0)
    first = torch.nn.Linear(6, 5)
    torch.nn.init.xavier_uniform_(first.weight, gain=1.0)
    second = torch.nn.Linear(5, 5)
    torch.nn.init.xavier_uniform_(second.weight, gain=math.sqrt(2.0))
    projection = torch.nn.Linear(5, 3)
    torch.nn.init.xavier_uniform_(projection.weight, gain=math.sqrt(2.0))
    torch.rand(64, 6)  # torchinfo.summary's input
    assert torch.equal(model.hidden[0].weight, first.weight)
    assert torch.equal(model.hidden[4].bias, second.bias)
    assert torch.equal(model.projection.weight, projection.weight)
    after = torch.rand(1)
    torch.manual_seed(0)
    build_classifier(
        6,
        3,
        multilabel=False,
        hidden_layers=2,
        hidden_dim=5,
        dropout=0.1,
        initialization=torch.nn.init.xavier_uniform_,
    )
    assert torch.equal(torch.rand(1), after)


@pytest.mark.numeric
@pytest.mark.parametrize("seed", range(5))
def test_mean_std_like_pandas(seed: int) -> None:
    values = np.random.default_rng(seed).random(int(seed) + 2).tolist()
    mean, std = scores.mean_std(values)
    assert mean == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert std == pytest.approx(statistics.stdev(values), rel=1e-9)  # ddof = 1
    mean, std = scores.mean_std([*values, math.nan])  # NaN skipped
    assert mean == pytest.approx(statistics.fmean(values), rel=1e-12)
    assert math.isnan(scores.mean_std([1.0])[1]) and math.isnan(scores.mean_std([math.nan])[0])


def test_scores_object_shape_and_text(tmp_path: Path) -> None:
    split = {
        "test_loss": 0.5,
        "test_score": 1.0,
        "validation_score": 1.0,
        "epoch": 2,
        "time_in_min": 0.1,
    }
    conf = protocol.sampled_grid(protocol.PARAM_GRID, 1)[0]
    obj = scores.build_scores(
        {"fold00": split, "fold01": {**split, "test_score": math.inf}},
        conf,
        (),
        "max",
        str(tmp_path),
    )
    assert list(obj) == [
        "fold00",
        "fold01",
        "aggregated_scores",
        "hparams",
        "postprocessing",
        "score_mode",
        "embedding_path",
    ]
    assert list(obj["aggregated_scores"])[:4] == [
        "test_loss_mean",
        "test_loss_std",
        "test_score_mean",
        "test_score_std",
    ]
    assert obj["hparams"]["hidden_norm"] == "<class 'torch.nn.modules.batchnorm.BatchNorm1d'>"
    assert obj["hparams"]["norm_after_activation"] is False
    path = scores.write_scores(tmp_path, obj)
    text = path.read_text()
    assert text == json.dumps(obj, indent=4) and not text.endswith("\n")
    assert "Infinity" in text and scores.load_scores(path)["fold01"]["test_score"] == math.inf
    assert [p.name for p in tmp_path.iterdir()] == [scores.SCORES_FILE]  # no temp file left


def test_device_resolution() -> None:
    assert protocol.resolve_device("cpu").type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert protocol.resolve_device("auto").type == expected
    with pytest.raises(ValueError):
        protocol.resolve_device("tpu")


@pytest.mark.parametrize("before", [(False, False), (True, True)])
def test_deterministic_torch_sets_and_restores_the_switch(before: tuple[bool, bool]) -> None:
    torch.use_deterministic_algorithms(before[0], warn_only=before[1])
    try:
        with protocol.deterministic_torch(torch.device("cpu")):
            assert torch.are_deterministic_algorithms_enabled()
            assert not torch.is_deterministic_algorithms_warn_only_enabled()
        assert torch.are_deterministic_algorithms_enabled() == before[0]
        assert torch.is_deterministic_algorithms_warn_only_enabled() == before[1]
    finally:
        torch.use_deterministic_algorithms(False)


def test_evaluation_does_not_import_the_compiler(tmp_path: Path) -> None:
    # torch.use_deterministic_algorithms imports torch._inductor (0.9 s of start-up).
    import subprocess
    import sys

    code = (
        "import sys, torch\n"
        "from bot.evaluation.protocol import deterministic_torch\n"
        "with deterministic_torch(torch.device('cpu')):\n"
        "    assert torch.are_deterministic_algorithms_enabled()\n"
        "print('torch._inductor' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "False"
