"""Training one grid point in exact sequential mode, as the kit's Lightning loop does it.

What `pl.Trainer.fit` (pytorch-lightning 1.x, `deterministic=True`, `num_sanity_val_steps=0`)
does, reproduced step by step on the global torch generator:

* each epoch starts by creating the training DataLoader iterator, which draws one int64 base
  seed from the default CPU generator (even with num_workers=0), then runs the batches of
  1024 rows in order (no shuffling): forward in train mode (Dropout draws its masks), mean
  loss, backward, Adam step;
* after epochs e with (e + 1) % check_val_every_n_epoch == 0, validation: the validation
  iterator draws one more base seed, the model runs in eval mode over the whole split in
  batches of 1024 and the monitored value is computed on all of it;
* ModelCheckpoint(monitor, mode): the first validation is kept; later ones replace it only
  when strictly better (ties keep the earlier epoch); a NaN is stored as -inf (max) or +inf;
* EarlyStopping(patience, min_delta=0, check_finite=True): a non-finite value stops at once;
  otherwise a strict improvement resets the wait count, else it grows and training stops once
  it reaches `patience`; training also ends after max_epochs.
The monitored and stored values are the logged ones (`scores.logged`). The best state is kept
in memory instead of a checkpoint file. On CUDA, full batches replay one captured graph of the
step's kernels (`step_graph`): the same bits, a fraction of the launch cost.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from bot.evaluation import events as ev
from bot.evaluation.embeddings import Rows
from bot.evaluation.errors import ProtocolError
from bot.evaluation.metrics import Metric, primary_value
from bot.evaluation.model import Classifier, build_classifier
from bot.evaluation.scores import logged
from bot.evaluation.step_graph import GraphedStep, capture_step

Mode = Literal["max", "min"]
# On CUDA, replay full training batches from a captured graph (`step_graph`): the same bits as
# eager steps, without Python's launch cost per kernel. A switch for tests and benchmarks.
CUDA_GRAPHS = True


@dataclass(frozen=True)
class TaskSpec:
    """What training and scoring need to know about a task."""

    task: str
    labels: list[str]
    multilabel: bool
    event: bool
    metrics: list[Metric]
    use_scoring: bool
    postprocessing: list[ev.Postprocessing]
    device: torch.device

    @property
    def score_mode(self) -> Mode:
        """The kit's `mode`: from the primary metric, or "min" when monitoring the loss."""
        if self.use_scoring:
            return "max" if self.metrics[0].maximize else "min"
        return "min"


@dataclass
class Checkpoint:
    """The best validation so far: weights (incl. BatchNorm buffers), epoch, stored value."""

    state: dict[str, torch.Tensor]
    epoch: int
    score: float
    postprocessing: ev.Postprocessing | None


@dataclass
class TrainedModel:
    """A trained grid point (the kit's GridPointResult)."""

    conf: dict[str, Any]
    model: Classifier
    best: Checkpoint
    score_mode: Mode
    time_in_min: float
    epochs: int = 0  # epochs trained before it stopped (early stopping or max_epochs)
    # Wall seconds of its validations (eval-mode outputs and scoring, event post-processing
    # included): what is not training steps. In batched mode, an equal share of the batch's
    # validations, so that the members' values add up to the batch's.
    validation_s: float = 0.0


@dataclass
class Monitor:
    """One validation's monitored value (as logged) and the post-processing it chose."""

    value: float
    postprocessing: ev.Postprocessing | None


def dataloader_seed_draw() -> None:
    """`_BaseDataLoaderIter.__init__` draws its base seed from the default CPU generator."""
    torch.empty((), dtype=torch.int64).random_()


@torch.no_grad()
def predict(
    model: Classifier, x: torch.Tensor, batch_size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode logits and probabilities, batch by batch as the validation loop runs them."""
    model.eval()
    logits, probs = [], []
    for start in range(0, len(x), batch_size):
        out = model(x[start : start + batch_size])
        logits.append(out)
        probs.append(model.activate(out))
    return torch.cat(logits), torch.cat(probs)


def best_postprocessing(
    spec: TaskSpec, frames: Mapping[str, tuple[np.ndarray, np.ndarray]], reference: ev.EventsByFile
) -> tuple[ev.Postprocessing, float]:
    """Validation's choice and its primary score: the highest primary score (NaN ranks as 0)
    and, on a tie, the larger parameter tuple, because the kit sorts (score, postprocessing)
    pairs in reverse. (So a lower-is-better primary would still be maximised, as in the kit.)"""
    ranked = []
    for pp in spec.postprocessing:
        predicted = ev.events_for_files(frames, spec.labels, pp)
        score = primary_value(spec.metrics[0].fn(predicted, reference, spec.labels))
        ranked.append(((0.0 if math.isnan(score) else score, pp), score))
    (_, pp), score = max(ranked, key=lambda item: item[0])
    return pp, score


def event_frames(rows: Rows, probs: torch.Tensor) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Frame probabilities grouped by file and sorted by time."""
    assert rows.row_file is not None and rows.row_time is not None
    return ev.frames_by_file(probs.cpu().numpy(), rows.row_file, rows.row_time, rows.files)


def _monitor(
    spec: TaskSpec, model: Classifier, x: torch.Tensor, y: torch.Tensor, rows: Rows, batch: int
) -> Monitor:
    logits, probs = predict(model, x, batch)
    return validation_monitor(spec, model, logits, probs, y, rows)


def validation_monitor(
    spec: TaskSpec,
    model: Classifier,
    logits: torch.Tensor,
    probs: torch.Tensor,
    y: torch.Tensor,
    rows: Rows,
) -> Monitor:
    """The monitored value of one validation from the whole split's eval-mode outputs: the
    logged loss (no scoring for early stopping; event tasks then keep the first
    post-processing), the logged primary metric (scene), or the best post-processing's logged
    primary event score and that post-processing (`best_postprocessing`)."""
    if not spec.use_scoring:
        default = spec.postprocessing[0] if spec.event else None
        return Monitor(logged(model.loss(logits, y)), default)
    if not spec.event:
        return Monitor(logged(spec.metrics[0].fn(probs.cpu().numpy(), y.cpu().numpy())), None)
    pp, value = best_postprocessing(spec, event_frames(rows, probs), rows.reference_events)
    return Monitor(logged(value), pp)


def improves(current: float, best: float, mode: Mode) -> bool:
    """torch.gt / torch.lt: strict, and False whenever a NaN is involved."""
    return current > best if mode == "max" else current < best


class EarlyStopping:
    """Lightning's EarlyStopping with min_delta=0 and check_finite=True."""

    def __init__(self, patience: int, mode: Mode) -> None:
        self.patience = patience
        self.mode = mode
        self.best = -math.inf if mode == "max" else math.inf
        self.wait = 0

    def should_stop(self, current: float) -> bool:
        """Record one validation; True when training must stop after it."""
        if not math.isfinite(current):
            return True
        if improves(current, self.best, self.mode):
            self.best, self.wait = current, 0
            return False
        self.wait += 1
        return self.wait >= self.patience


def stored_score(current: float, mode: Mode) -> float:
    """ModelCheckpoint stores a NaN as +inf (min) or -inf (max)."""
    if math.isnan(current):
        return math.inf if mode == "min" else -math.inf
    return current


def _train_epoch(
    model: Classifier,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    batch: int,
    graphed: GraphedStep | None = None,
) -> None:
    """One epoch of batches in order; full batches through `graphed` when given (on CUDA:
    the same bits, see `step_graph`)."""
    model.train()
    for start in range(0, len(x), batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        if graphed is not None and len(xb) == graphed.rows:
            graphed.run(xb, yb)
        else:
            optimizer.zero_grad()
            loss = model.loss(model(xb), yb)
            loss.backward()
        optimizer.step()


def tensors(rows: Rows, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """A split's rows and targets on `device` (on the CPU, the arrays' own memory)."""
    return torch.from_numpy(rows.x).to(device), torch.from_numpy(rows.y).to(device)


def check_trainable(spec: TaskSpec, conf: Mapping[str, Any], n_train: int) -> None:
    """Refuse what makes the kit's own run fail (so that no official score exists)."""
    if n_train == 0:
        raise ProtocolError(spec.task, "", "empty-train", "no training rows")
    if conf["hidden_layers"] and n_train % conf["batch_size"] == 1:
        raise ProtocolError(
            spec.task, "", "batch-of-one",
            "the last training batch has one row: BatchNorm fails on it in the kit too",
        )  # fmt: skip
    if conf["max_epochs"] < conf["check_val_every_n_epoch"]:
        raise ProtocolError(spec.task, "", "no-validation", "max_epochs ends before a validation")


def classifier_for(spec: TaskSpec, conf: Mapping[str, Any], n_features: int) -> torch.nn.Module:
    """The kit's classifier for one grid configuration (weights drawn from torch's RNG now)."""
    return build_classifier(
        n_features,
        len(spec.labels),
        multilabel=spec.multilabel,
        hidden_layers=conf["hidden_layers"],
        hidden_dim=conf["hidden_dim"],
        dropout=conf["dropout"],
        initialization=conf["initialization"],
    )


def train_grid_point(
    spec: TaskSpec, conf: Mapping[str, Any], train: Rows, valid: Rows, n_features: int
) -> TrainedModel:
    """Train one configuration on `train`, validating on `valid`; the best state is kept."""
    started = time.time()
    check_trainable(spec, conf, len(train.x))
    model = classifier_for(spec, conf, n_features).to(spec.device)
    optimizer = conf["optim"](model.parameters(), lr=conf["lr"])
    x, y = tensors(train, spec.device)
    vx, vy = tensors(valid, spec.device)
    batch, every, mode = conf["batch_size"], conf["check_val_every_n_epoch"], spec.score_mode
    stopper = EarlyStopping(conf["patience"], mode)
    graphed = None
    if CUDA_GRAPHS and spec.device.type == "cuda" and len(x) >= 2 * batch:
        graphed = capture_step(model, model.loss, x[:batch], y[:batch])
    best: Checkpoint | None = None
    epochs = 0
    validation_s = 0.0
    for epoch in range(conf["max_epochs"]):
        epochs = epoch + 1
        dataloader_seed_draw()
        _train_epoch(model, optimizer, x, y, batch, graphed)
        if (epoch + 1) % every:
            continue
        dataloader_seed_draw()
        validation_started = time.perf_counter()
        monitor = _monitor(spec, model, vx, vy, valid, batch)
        validation_s += time.perf_counter() - validation_started
        if best is None or improves(monitor.value, best.score, mode):
            state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            best = Checkpoint(
                state, epoch, stored_score(monitor.value, mode), monitor.postprocessing
            )
        if stopper.should_stop(monitor.value):
            break
    assert best is not None
    model.zero_grad(set_to_none=True)  # gradients a graph wrote keep its memory pool alive
    minutes = (time.time() - started) / 60
    return TrainedModel(dict(conf), model, best, mode, minutes, epochs, validation_s)


def test_scores(
    spec: TaskSpec,
    trained: TrainedModel,
    rows: Rows,
    batch_size: int,
    predictions: dict[str, np.ndarray] | None = None,
) -> dict[str, float]:
    """The kit's test results for one split, in its key order: test_loss, test_score, then
    test_<metric> (and test_<metric>_<sub-score> for tuple scores), all as logged.

    `predictions`, when given, receives a clip-level task's per-clip test predictions: "probs"
    (clips × labels, float32, what the metrics scored) and "target" (clips × labels, uint8)."""
    trained.model.load_state_dict(trained.best.state)
    x, y = tensors(rows, spec.device)
    logits, probs = predict(trained.model, x, batch_size)
    if spec.event:
        assert trained.best.postprocessing is not None
        predicted = ev.events_for_files(
            event_frames(rows, probs), spec.labels, trained.best.postprocessing
        )
        values = [m.fn(predicted, rows.reference_events, spec.labels) for m in spec.metrics]
    else:
        values = [m.fn(probs.cpu().numpy(), y.cpu().numpy()) for m in spec.metrics]
        if predictions is not None:
            predictions["probs"] = probs.detach().cpu().numpy().astype(np.float32)
            predictions["target"] = y.detach().cpu().numpy().astype(np.uint8)
    out = {"test_loss": logged(trained.model.loss(logits, y))}
    out["test_score"] = logged(primary_value(values[0]))
    for metric, value in zip(spec.metrics, values, strict=True):
        out[f"test_{metric.name}"] = logged(primary_value(value))
        if isinstance(value, tuple):
            for sub, sub_value in value:
                out[f"test_{metric.name}_{sub}"] = logged(sub_value)
    return out
