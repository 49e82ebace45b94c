"""Exact mode's CUDA-graph training steps (bot/evaluation/step_graph.py): the epoch loop sends
full batches through the graph and the rest eagerly (CPU, with an eager stand-in for the
graph), and on CUDA a grid point trained with graphed steps ends with the same bits as one
trained eagerly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from bot.evaluation import train as train_module
from bot.evaluation.embeddings import load_task
from bot.evaluation.protocol import deterministic_torch, parameter_grid, task_grid, task_spec
from bot.evaluation.step_graph import capture_step
from bot.evaluation.train import _train_epoch, classifier_for, train_grid_point
from tests.evaluation.synth import make_event_task, make_scene_task

pytestmark = pytest.mark.numeric  # compares floats: see tests/numeric.py

# Batches of 16 rows: 50 training rows make 3 full batches and a last one of 2 rows.
GRID = {"max_epochs": [9], "hidden_dim": [16], "dropout": [0.1], "batch_size": [16]}


@pytest.fixture(autouse=True)
def own_rng() -> Iterator[None]:
    with torch.random.fork_rng():
        yield


class EagerStandIn:
    """What a graphed step does, computed eagerly: the loop's dispatch is what is tested."""

    def __init__(self, model: train_module.Classifier, rows: int) -> None:
        self.model = model
        self.rows = rows
        self.calls: list[int] = []

    def run(self, xb: torch.Tensor, yb: torch.Tensor) -> None:
        self.calls.append(len(xb))
        self.model.zero_grad(set_to_none=True)
        self.model.loss(self.model(xb), yb).backward()


def test_full_batches_go_through_the_graph_and_the_last_one_eagerly(tmp_path: Path) -> None:
    data = load_task(make_scene_task(tmp_path / "t", files_per_split=50, grid=GRID))
    spec = task_spec(data, torch.device("cpu"))
    conf = next(c for c in parameter_grid(task_grid(data, None)) if c["hidden_layers"] == 2)
    x = torch.from_numpy(data.splits["train"].x)
    y = torch.from_numpy(data.splits["train"].y)
    states = []
    for use_stand_in in (False, True):
        torch.manual_seed(0)
        model = classifier_for(spec, conf, data.dim)
        optimizer = conf["optim"](model.parameters(), lr=conf["lr"])
        stand_in = EagerStandIn(model, 16) if use_stand_in else None
        for _ in range(2):
            _train_epoch(model, optimizer, x, y, 16, stand_in)  # type: ignore[arg-type]
        states.append(model.state_dict())
        if stand_in is not None:
            assert stand_in.calls == [16, 16, 16] * 2  # the 2-row batches went eagerly
    for name, value in states[0].items():
        assert torch.equal(value, states[1][name]), name


def test_no_graph_on_the_cpu() -> None:
    model = torch.nn.Linear(3, 2)
    loss = torch.nn.functional.mse_loss
    assert capture_step(model, loss, torch.zeros(4, 3), torch.zeros(4, 2)) is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("kind", ["scene", "events"])
def test_graphed_training_ends_with_the_same_bits_on_cuda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    if kind == "scene":
        task = make_scene_task(tmp_path / kind, files_per_split=50, grid=GRID)
    else:
        task = make_event_task(tmp_path / kind, files_per_split=4, grid=GRID)
    data = load_task(task)
    device = torch.device("cuda")
    spec = task_spec(data, device)
    train, valid = data.splits["train"], data.splits["valid"]
    assert len(train.x) >= 2 * 16
    results = []
    for graphs in (False, True):
        monkeypatch.setattr(train_module, "CUDA_GRAPHS", graphs)
        with deterministic_torch(device):
            trained = [
                train_grid_point(spec, conf, train, valid, data.dim)
                for conf in parameter_grid(task_grid(data, None))[:4]
            ]
            after = torch.cuda.get_rng_state(device), torch.get_rng_state()
        results.append((trained, after))
    (eager, eager_rng), (graphed, graphed_rng) = results
    assert all(torch.equal(a, b) for a, b in zip(eager_rng, graphed_rng, strict=True))
    for one, other in zip(eager, graphed, strict=True):
        assert (one.epochs, one.best.epoch) == (other.epochs, other.best.epoch)
        assert one.best.score == other.best.score
        for name, value in one.best.state.items():
            assert torch.equal(value, other.best.state[name]), name
        for (name, value), (_, got) in zip(
            one.model.state_dict().items(), other.model.state_dict().items(), strict=True
        ):
            assert torch.equal(value, got), name
