"""Batched training: several classifiers of one layer shape trained together (`--mode batched`).

NOT the kit's random stream, so NOT its numbers bit for bit: the members of a batch are
initialised by `build_classifier` one after another (seeded once, as the caller seeds), and
dropout masks are drawn for all members at once. Everything else follows the sequential path
(train.py) member by member:

* a member is (configuration, training rows, validation rows); members of one batch share
  hidden_layers, hidden_dim, batch_size and check_val_every_n_epoch (`shape_key`), and may
  differ in lr, initialization, dropout, patience and max_epochs;
* weights are stacked along a leading member dimension: layer l of member m computes
  x @ W[m] + b[m] (W[m] the transposed torch Linear weight), then BatchNorm1d in training mode
  (batch mean, biased batch variance, eps 1e-5; running statistics updated with momentum 0.1
  and the unbiased variance), dropout with the member's probability, ReLU; the projection last;
* each epoch runs the member's training rows in order in batches of batch_size (no
  shuffling); a member's loss is the mean over its batch rows (BCE-with-logits over rows and
  labels, or cross-entropy on argmax(target)); the gradient of the summed losses is each
  member's own gradient;
* Adam per member (betas 0.9/0.999, eps 1e-8, no weight decay, the member's lr and its own step
  count), torch's update: m <- m + (1-b1)(g-m), v <- b2 v + (1-b2) g^2,
  p <- p - lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps);
* members with different training rows (folds retrained with one configuration) are padded to
  the longest and masked: batch statistics, losses and Adam steps use a member's own rows
  only, and a member with no row left in a step does not step;
* validation, checkpoint and early stopping per member exactly as the sequential path decides
  (`train.validation_monitor`, `improves`, `EarlyStopping`, `stored_score`): on the whole validation
  split in eval mode every check_val_every_n_epoch epochs; best states are kept in memory;
  a member stops on its own (early stopping or its max_epochs) and leaves the batch.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.nn import functional

from bot.evaluation.embeddings import Rows, concat_rows, stacked
from bot.evaluation.model import Classifier
from bot.evaluation.train import (
    Checkpoint,
    EarlyStopping,
    TaskSpec,
    TrainedModel,
    check_trainable,
    classifier_for,
    improves,
    stored_score,
    tensors,
    validation_monitor,
)

BN_EPS = 1e-5
BN_MOMENTUM = 0.1
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8
ShapeKey = tuple[int, int, int, int]


def shape_key(conf: Mapping[str, Any]) -> ShapeKey:
    """What members of one batch must share: (hidden_layers, hidden_dim, batch_size,
    check_val_every_n_epoch)."""
    return (
        int(conf["hidden_layers"]),
        int(conf["hidden_dim"]),
        int(conf["batch_size"]),
        int(conf["check_val_every_n_epoch"]),
    )


def group_by_shape(confs: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """Indices of `confs` grouped by `shape_key`, groups in order of first appearance and
    indices in grid order within a group."""
    groups: dict[ShapeKey, list[int]] = {}
    for i, conf in enumerate(confs):
        groups.setdefault(shape_key(conf), []).append(i)
    return list(groups.values())


# ---------------------------------------------------------------------------------------------
# The stacked model


def stack_classifiers(
    models: Sequence[Classifier],
) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Stacked parameters [W_0, b_0, gamma_0, beta_0, ..., W_proj, b_proj] (W as (M, in, out))
    and buffers [running_mean_0, running_var_0, ...] of models of one shape."""
    params: list[torch.Tensor] = []
    buffers: list[torch.Tensor] = []
    hidden = [list(m.hidden) if isinstance(m.hidden, torch.nn.Sequential) else [] for m in models]
    for layer in range(len(hidden[0]) // 4):
        linears = [h[4 * layer] for h in hidden]
        norms = [h[4 * layer + 1] for h in hidden]
        params += [
            torch.stack([lin.weight.detach().t() for lin in linears]).contiguous(),
            torch.stack([lin.bias.detach() for lin in linears]),
            torch.stack([bn.weight.detach() for bn in norms]),
            torch.stack([bn.bias.detach() for bn in norms]),
        ]
        buffers += [
            torch.stack([bn.running_mean.detach() for bn in norms]),
            torch.stack([bn.running_var.detach() for bn in norms]),
        ]
    params += [
        torch.stack([m.projection.weight.detach().t() for m in models]).contiguous(),
        torch.stack([m.projection.bias.detach() for m in models]),
    ]
    return [p.clone().requires_grad_() for p in params], [b.clone() for b in buffers]


def member_state(
    params: Sequence[torch.Tensor], buffers: Sequence[torch.Tensor], j: int, steps: int
) -> dict[str, torch.Tensor]:
    """Member j's weights as the `state_dict` of its `Classifier` (num_batches_tracked = the
    member's training steps)."""
    state: dict[str, torch.Tensor] = {}
    for layer in range(len(buffers) // 2):
        w, b, gamma, beta = params[4 * layer : 4 * layer + 4]
        lin, bn = f"hidden.{4 * layer}", f"hidden.{4 * layer + 1}"
        state[f"{lin}.weight"] = w[j].detach().t().clone()
        state[f"{lin}.bias"] = b[j].detach().clone()
        state[f"{bn}.weight"] = gamma[j].detach().clone()
        state[f"{bn}.bias"] = beta[j].detach().clone()
        state[f"{bn}.running_mean"] = buffers[2 * layer][j].clone()
        state[f"{bn}.running_var"] = buffers[2 * layer + 1][j].clone()
        state[f"{bn}.num_batches_tracked"] = torch.tensor(steps, dtype=torch.long)
    state["projection.weight"] = params[-2][j].detach().t().clone()
    state["projection.bias"] = params[-1][j].detach().clone()
    return state


def stacked_linear(h: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """h @ w[m] + b[m] for every member m: `h` (B, in) shared by all members, or (M, B, in);
    `w` (M, in, out), `b` (M, out); the result is (M, B, out). A shared input of at least
    `out` rows is one GEMM (w copied once), a shorter one is broadcast to every member."""
    members, width, out = w.shape
    if h.dim() == 2 and h.shape[0] >= out:  # copying w once is cheaper than copying h M times
        flat = h @ w.transpose(0, 1).reshape(width, members * out)
        return flat.view(h.shape[0], members, out).transpose(0, 1) + b[:, None, :]
    if h.dim() == 2:
        h = h.expand(members, *h.shape)
    return torch.baddbmm(b[:, None, :], h, w)


def _masked_mean(
    values: torch.Tensor, mask: torch.Tensor | None, count: torch.Tensor
) -> torch.Tensor:
    """Mean over dim 1 of (M, B, ...) values, over the rows where `mask` (M, B) is 1."""
    if mask is None:
        return values.mean(1)
    weights = mask.view(*mask.shape, *([1] * (values.dim() - 2)))
    return (values * weights).sum(1) / count.view(-1, *([1] * (values.dim() - 2)))


def stacked_logits(
    params: Sequence[torch.Tensor],
    buffers: Sequence[torch.Tensor],
    x: torch.Tensor,
    *,
    train: bool,
    dropout: torch.Tensor | None = None,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Logits (M, B, L) of every member on `x` ((B, D) shared or (M, B, D) per member).

    Training mode normalises with the batch statistics over the rows where `mask` (M, B) is 1
    (all rows without a mask), updates the running statistics in place for members with rows,
    and applies dropout with the per-member probabilities `dropout` (M,). Eval mode uses the
    running statistics and no dropout.
    """
    h = x
    if mask is not None:
        rows = mask.sum(1)
        count = rows.clamp(min=1.0)
        correction = (count / (count - 1).clamp(min=1.0))[:, None]
        has_rows = (rows > 0)[:, None]
    for layer in range(len(buffers) // 2):
        w, b, gamma, beta = params[4 * layer : 4 * layer + 4]
        running_mean, running_var = buffers[2 * layer], buffers[2 * layer + 1]
        h = stacked_linear(h, w, b)
        if mask is None or not train:
            h = channel_batch_norm(h, gamma, beta, running_mean, running_var, train=train)
        else:
            mean = _masked_mean(h, mask, count)
            centred = h - mean[:, None, :]
            var = _masked_mean(centred * centred, mask, count)
            with torch.no_grad():
                new_mean = torch.lerp(running_mean, mean, BN_MOMENTUM)
                new_var = torch.lerp(running_var, var * correction, BN_MOMENTUM)
                running_mean.copy_(torch.where(has_rows, new_mean, running_mean))
                running_var.copy_(torch.where(has_rows, new_var, running_var))
            h = centred / torch.sqrt(var[:, None, :] + BN_EPS)
            h = h * gamma[:, None, :] + beta[:, None, :]
        if train and dropout is not None:
            h = _dropout(h, dropout)
        h = torch.relu(h)
    return stacked_linear(h, params[-2], params[-1])


def channel_batch_norm(
    h: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    running_mean: torch.Tensor,
    running_var: torch.Tensor,
    *,
    train: bool,
) -> torch.Tensor:
    """BatchNorm1d of every member at once on h (M, B, H): torch's batch_norm over the M * H
    channels of the (B, M * H) view, each channel (member, feature) normalised over the B rows
    with its own statistics (updated in place in training) and its own gamma and beta."""
    members, rows, width = h.shape
    flat = h.transpose(0, 1).reshape(rows, members * width)
    out = functional.batch_norm(
        flat,
        running_mean.view(-1),
        running_var.view(-1),
        gamma.reshape(-1),
        beta.reshape(-1),
        training=train,
        momentum=BN_MOMENTUM,
        eps=BN_EPS,
    )
    return out.view(rows, members, width).transpose(0, 1)


def _dropout(h: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    """Inverted dropout with probability p[m] for member m: keep where a uniform draw is below
    1 - p[m] and scale by 1 / (1 - p[m]) (everything zeroed where p = 1). One `rand_like`
    (torch's CPU bernoulli is several times slower)."""
    keep = (1.0 - p).view(-1, 1, 1).to(h.dtype)
    scale = torch.where(keep > 0, 1.0 / keep.clamp(min=1e-12), torch.zeros_like(keep))
    return h * ((torch.rand_like(h) < keep).to(h.dtype) * scale)


def stacked_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    classes: torch.Tensor,
    mask: torch.Tensor | None,
    *,
    multilabel: bool,
) -> torch.Tensor:
    """Per-member mean loss (M,): BCE-with-logits averaged over labels then over the member's
    rows (multilabel), or cross-entropy on the class index `classes` over its rows."""
    count = mask.sum(1).clamp(min=1.0) if mask is not None else torch.ones(())
    if multilabel:
        per_row = functional.binary_cross_entropy_with_logits(
            logits, targets.expand_as(logits), reduction="none"
        ).mean(2)
    else:
        one_hot = functional.one_hot(classes, logits.shape[2]).to(logits.dtype)
        per_row = -(torch.log_softmax(logits, dim=2) * one_hot).sum(2)  # no scatter backward
    return _masked_mean(per_row, mask, count)


@torch.no_grad()
def adam_step(
    params: Sequence[torch.Tensor],
    exp_avg: Sequence[torch.Tensor],
    exp_avg_sq: Sequence[torch.Tensor],
    steps: torch.Tensor,
    lr: torch.Tensor,
    stepping: torch.Tensor | None,
) -> None:
    """torch.optim.Adam's update (no weight decay, not amsgrad) for every member at once, with
    its own lr and step count; `steps` must already count this step. Members where
    `stepping` (M,) is False keep their parameters and moments."""
    beta1, beta2 = ADAM_BETAS
    dtype = params[0].dtype
    step_size = (lr / (1 - beta1**steps)).to(dtype)
    bias2_sqrt = torch.sqrt(1 - beta2**steps).to(dtype)
    everyone = stepping is None or bool(stepping.all())
    for p, m, v in zip(params, exp_avg, exp_avg_sq, strict=True):
        assert p.grad is not None
        shape = (-1,) + (1,) * (p.dim() - 1)
        grad = p.grad
        if everyone:  # in place, as torch's own Adam
            m.lerp_(grad, 1 - beta1)
            v.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            denom = v.sqrt().div_(bias2_sqrt.view(shape)).add_(ADAM_EPS)
            p.sub_(torch.div(m, denom, out=denom).mul_(step_size.view(shape)))
        else:
            keep = stepping.view(shape)  # type: ignore[union-attr]
            new_m = torch.lerp(m, grad, 1 - beta1)
            new_v = v * beta2 + (1 - beta2) * grad * grad
            denom = torch.sqrt(new_v) / bias2_sqrt.view(shape) + ADAM_EPS
            new_p = p - step_size.view(shape) * (new_m / denom)
            m.copy_(torch.where(keep, new_m, m))
            v.copy_(torch.where(keep, new_v, v))
            p.copy_(torch.where(keep, new_p, p))
        p.grad = None


# ---------------------------------------------------------------------------------------------
# Training a batch of members


@dataclass
class _Data:
    """Training rows of the members: shared `x`, `y`, `classes` (row-major), or a base of rows
    with each member's row indices `index` (M, N) and `mask` (M, N) (1 = a real row)."""

    x: torch.Tensor
    y: torch.Tensor
    classes: torch.Tensor
    index: torch.Tensor | None
    mask: torch.Tensor | None

    @property
    def length(self) -> int:
        return len(self.x) if self.index is None else self.index.shape[1]

    def batch(self, start: int, size: int) -> tuple[torch.Tensor, ...]:
        """x, y, classes and mask (or None) of rows start..start+size of every member."""
        if self.index is None:
            sl = slice(start, start + size)
            return self.x[sl], self.y[sl], self.classes[sl], None
        idx = self.index[:, start : start + size]
        mask = self.mask[:, start : start + size] if self.mask is not None else None
        return self.x[idx], self.y[idx], self.classes[idx], mask

    def keep(self, members: torch.Tensor) -> _Data:
        """Only the given members (rows of `index`/`mask`)."""
        if self.index is None:
            return self
        assert self.mask is not None
        return _Data(self.x, self.y, self.classes, self.index[members], self.mask[members])


def training_data(
    parts: Sequence[Sequence[Rows]], device: torch.device, spill_dir: Path | None = None
) -> tuple[_Data, list[int]]:
    """The members' training rows on the device and each member's row count. `parts[m]` lists
    the Rows of member m's training splits in order (the kit's concatenation). Identical lists
    share one tensor; otherwise every distinct Rows object is uploaded once and members index
    into them. Concatenations are memory-mapped from `spill_dir` when it is set."""

    ids = [tuple(id(r) for r in p) for p in parts]
    if len(set(ids)) == 1:
        rows = concat_rows("", list(parts[0]), spill_dir)
        x, y = tensors(rows, device)
        return _Data(x, y, y.argmax(dim=1), None, None), [len(x)] * len(parts)
    offsets: dict[int, int] = {}
    unique: list[Rows] = []
    for member in parts:
        for rows in member:
            if id(rows) not in offsets:
                offsets[id(rows)] = sum(len(r.x) for r in unique)
                unique.append(rows)
    x = torch.from_numpy(stacked([r.x for r in unique], spill_dir)).to(device)
    y = torch.from_numpy(stacked([r.y for r in unique], spill_dir)).to(device)
    indices = [
        torch.cat([torch.arange(len(r.x)) + offsets[id(r)] for r in member]) for member in parts
    ]
    counts = [len(i) for i in indices]
    longest = max(counts)
    index = torch.zeros(len(parts), longest, dtype=torch.long)
    mask = torch.zeros(len(parts), longest)
    for m, idx in enumerate(indices):
        index[m, : len(idx)] = idx
        mask[m, : len(idx)] = 1.0
    return _Data(x, y, y.argmax(dim=1), index.to(device), mask.to(device)), counts


@dataclass
class _Member:
    """Bookkeeping of one member while it trains."""

    conf: Mapping[str, Any]
    model: Classifier
    valid: Rows
    vx: torch.Tensor
    vy: torch.Tensor
    stopper: EarlyStopping
    best: Checkpoint | None = None
    steps: int = 0
    epochs: int = 0


@dataclass
class _Stacks:
    """The alive members' weights and optimizer state, stacked: row j is members[alive[j]]."""

    params: list[torch.Tensor]
    buffers: list[torch.Tensor]
    exp_avg: list[torch.Tensor]
    exp_avg_sq: list[torch.Tensor]
    lr: torch.Tensor
    dropout: torch.Tensor
    steps: torch.Tensor
    data: _Data
    alive: list[int]

    def keep(self, kept: list[int], device: torch.device) -> None:
        """Drop the rows of the members that finished (their best state is already kept)."""
        index = torch.tensor(kept, dtype=torch.long, device=device)
        self.params = [p.detach()[index].requires_grad_() for p in self.params]
        self.buffers = [b[index] for b in self.buffers]
        self.exp_avg = [t[index] for t in self.exp_avg]
        self.exp_avg_sq = [t[index] for t in self.exp_avg_sq]
        self.lr, self.dropout, self.steps = self.lr[index], self.dropout[index], self.steps[index]
        self.data = self.data.keep(index)
        self.alive = [self.alive[j] for j in kept]


def train_batch(
    spec: TaskSpec,
    confs: Sequence[Mapping[str, Any]],
    train_parts: Sequence[Sequence[Rows]],
    valids: Sequence[Rows],
    n_features: int,
    spill_dir: Path | None = None,
) -> list[TrainedModel]:
    """Train every member (confs[m] on the concatenation of train_parts[m], validated on
    valids[m]) together; the members must share `shape_key`. One TrainedModel per member, in
    order, with its best state kept in memory; time_in_min is the batch's wall time. The
    training rows are memory-mapped from `spill_dir` when it is set (embeddings.RowWriter)."""
    started = time.time()
    _, _, batch, every = _batch_shape(confs)
    data, counts = training_data(train_parts, spec.device, spill_dir)
    for conf, n_train in zip(confs, counts, strict=True):
        check_trainable(spec, conf, n_train)
    members = _members(spec, confs, valids, n_features)
    stacks = _stacks(spec, confs, members, data)
    shared_valid = len({id(v) for v in valids}) == 1
    epoch = 0
    validation_s = 0.0
    while stacks.alive:
        _train_epoch(stacks, spec, batch)
        finished: set[int] = set()
        if (epoch + 1) % every == 0:
            validation_started = time.perf_counter()
            finished |= _validate(stacks, spec, members, epoch, shared_valid, batch)
            validation_s += time.perf_counter() - validation_started
        for j, m in enumerate(stacks.alive):
            if epoch + 1 >= members[m].conf["max_epochs"]:
                finished.add(j)
        if finished:
            for j in finished:
                members[stacks.alive[j]].epochs = epoch + 1
            stacks.keep([j for j in range(len(stacks.alive)) if j not in finished], spec.device)
        epoch += 1
    minutes = (time.time() - started) / 60
    out = []
    share = validation_s / len(members)
    for m in members:
        assert m.best is not None
        out.append(
            TrainedModel(dict(m.conf), m.model, m.best, spec.score_mode, minutes, m.epochs, share)
        )
    return out


def _batch_shape(confs: Sequence[Mapping[str, Any]]) -> tuple[Any, ...]:
    """The members' one `shape_key`; a batch whose members differ in shape, or use another
    optimizer than Adam, is refused."""
    keys = {shape_key(c) for c in confs}
    if len(keys) != 1:
        raise ValueError(f"members of one batch must share a shape, got {sorted(keys)}")
    if any(c["optim"] is not torch.optim.Adam for c in confs):
        raise ValueError("batched training implements Adam only (the kit's grid)")
    return keys.pop()


def _members(
    spec: TaskSpec,
    confs: Sequence[Mapping[str, Any]],
    valids: Sequence[Rows],
    n_features: int,
) -> list[_Member]:
    """Each member's own classifier (built in the kit's order) and validation tensors (one
    device copy per distinct split)."""
    members: list[_Member] = []
    uploaded: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}  # one copy per distinct split
    for conf, valid in zip(confs, valids, strict=True):
        model = classifier_for(spec, conf, n_features)
        if id(valid) not in uploaded:
            uploaded[id(valid)] = tensors(valid, spec.device)
        vx, vy = uploaded[id(valid)]
        stopper = EarlyStopping(conf["patience"], spec.score_mode)
        members.append(_Member(conf, model, valid, vx, vy, stopper))
    return members


def _stacks(
    spec: TaskSpec, confs: Sequence[Mapping[str, Any]], members: list[_Member], data: _Data
) -> _Stacks:
    """The members' weights stacked on the device, with fresh Adam state."""
    params, buffers = stack_classifiers([m.model for m in members])
    for member in members:  # each member's own model later takes its best state and is tested
        member.model.to(spec.device)
    params = [p.detach().to(spec.device).requires_grad_() for p in params]
    return _Stacks(
        params=params,
        buffers=[b.to(spec.device) for b in buffers],
        exp_avg=[torch.zeros_like(p) for p in params],
        exp_avg_sq=[torch.zeros_like(p) for p in params],
        lr=torch.tensor([float(c["lr"]) for c in confs], dtype=torch.float64, device=spec.device),
        dropout=torch.tensor([float(c["dropout"]) for c in confs], device=spec.device),
        steps=torch.zeros(len(confs), dtype=torch.float64, device=spec.device),
        data=data,
        alive=list(range(len(members))),
    )


def _train_epoch(stacks: _Stacks, spec: TaskSpec, batch: int) -> None:
    """One pass over the training rows: every alive member takes its Adam steps."""
    for start in range(0, stacks.data.length, batch):
        xb, yb, cb, mb = stacks.data.batch(start, batch)
        stepping = None if mb is None else mb.sum(1) > 0
        logits = stacked_logits(
            stacks.params, stacks.buffers, xb, train=True, dropout=stacks.dropout, mask=mb
        )
        losses = stacked_loss(logits, yb, cb, mb, multilabel=spec.multilabel)
        losses.sum().backward()
        stacks.steps += 1 if stepping is None else stepping.to(stacks.steps.dtype)
        lr = stacks.lr.to(stacks.params[0].dtype)
        adam_step(stacks.params, stacks.exp_avg, stacks.exp_avg_sq, stacks.steps, lr, stepping)


def _validate(
    stacks: _Stacks,
    spec: TaskSpec,
    members: list[_Member],
    epoch: int,
    shared_valid: bool,
    batch: int,
) -> set[int]:
    """Validate every alive member: keep its best checkpoint, and return the rows (j) of the
    members whose early stopping says stop."""
    mode = spec.score_mode
    finished: set[int] = set()
    outputs = _validation_logits(
        stacks.params, stacks.buffers, members, stacks.alive, shared_valid, batch
    )
    for j, logits in enumerate(outputs):
        member = members[stacks.alive[j]]
        member.steps = int(stacks.steps[j])
        probs = member.model.activate(logits)
        monitor = validation_monitor(spec, member.model, logits, probs, member.vy, member.valid)
        if member.best is None or improves(monitor.value, member.best.score, mode):
            member.best = Checkpoint(
                member_state(stacks.params, stacks.buffers, j, member.steps),
                epoch,
                stored_score(monitor.value, mode),
                monitor.postprocessing,
            )
        if member.stopper.should_stop(monitor.value):
            finished.add(j)
    return finished


@torch.no_grad()
def _validation_logits(
    params: Sequence[torch.Tensor],
    buffers: Sequence[torch.Tensor],
    members: Sequence[_Member],
    alive: Sequence[int],
    shared: bool,
    batch: int,
) -> list[torch.Tensor]:
    """Eval-mode logits (N, L) of each alive member on its validation split, in batches."""

    def run(members_slice: slice, x: torch.Tensor) -> torch.Tensor:
        sub_p = [p[members_slice] for p in params]  # views: no copy of the weights
        sub_b = [b[members_slice] for b in buffers]
        chunks = [
            stacked_logits(sub_p, sub_b, x[s : s + batch], train=False)
            for s in range(0, len(x), batch)
        ]
        return torch.cat(chunks, dim=1)

    if shared:
        return list(run(slice(None), members[alive[0]].vx).unbind(0))
    return [run(slice(j, j + 1), members[m].vx)[0] for j, m in enumerate(alive)]
