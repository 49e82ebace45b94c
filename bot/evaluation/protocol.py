"""The predictions runner's protocol: grid, splits, model selection, retraining, test, output.

Reproduces `heareval.predictions.task_predictions.task_predictions` (2021.1.3, grid "default",
deterministic, in memory): seed everything with 42 once per task; the 16-point grid in sklearn
ParameterGrid order shuffled by Python's random (seeded 42), the first `grid_points` trained on
the first split and sorted by validation score (stable: ties keep grid order); the winner is
retrained on every other split, continuing the same torch random stream; then every split's
best-validation model is tested.

Seed ensembles (`seeds` K > 1): member 0 is that run, unchanged (the kit's numbers); members
1..K-1 run the same protocol with other training draws. Only the training draws change: the
grid is still shuffled by random.seed(42), so every member tries the same configurations (a
member differs from member 0 as a rerun on other hardware or another torch does, never by
searching another grid). On a GPU members 1..K-1 are trained together (`run_members_together`:
their grid points of one layer shape stacked into one batched training, torch seeded once with
43, each member initialised and masked by its own draws), which keeps the GPU busy instead of
waiting on one small model's steps; on a CPU, where a stack costs the arithmetic of all its
members, they run one after another in `mode`, member k with torch seeded 42 + k.

Files beside test.predicted-scores.json (member 0, the kit's form):

- ``test.members.json``: ``{"seeds": [42, 43, ...], "mode": "exact"|"batched", "together":
  true|false, "members": [<scores object of member 0>, <member 1>, ...]}`` (the kit's JSON
  form, bare NaN/Infinity tokens; members trained together share seed 43);
- ``test.predictions.npz`` (numpy savez_compressed), clip-level tasks only: for member m and
  test split s (``test``, ``fold00``...), ``m<m>/<s>/probs`` (clips × labels, float32, what the
  metrics scored) and ``m<m>/<s>/target`` (clips × labels, uint8, the one-hot or multi-hot
  truth), in the split's file order. bot/evaluation/bootstrap.py resamples its clips.
"""

from __future__ import annotations

import itertools
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from bot.common.log import Log
from bot.evaluation import events as ev
from bot.evaluation.batched import group_by_shape, train_batch
from bot.evaluation.canary import CANARY_SCORES, canary_probe
from bot.evaluation.embeddings import Rows, TaskData, concat_rows, load_task
from bot.evaluation.errors import EvaluationUsageError, MetadataError, ProtocolError
from bot.evaluation.metrics import METRICS
from bot.evaluation.model import INITIALIZERS
from bot.evaluation.scores import (
    LOG_FILE,
    MEMBERS_FILE,
    PREDICTIONS_FILE,
    SCORES_FILE,
    build_scores,
    write_members,
    write_predictions,
    write_scores,
)
from bot.evaluation.train import TaskSpec, TrainedModel, test_scores, train_grid_point

SEED = 42
Probe = Callable[[TaskSpec, list[tuple[list[str], TrainedModel]], int], None]
MAX_SEEDS = 64
# PARAM_GRID of the kit (values are the very objects, so that hparams print the same).
PARAM_GRID: dict[str, list[Any]] = {
    "hidden_layers": [1, 2],
    "hidden_dim": [1024],
    "dropout": [0.1],
    "lr": [3.2e-3, 1e-3, 3.2e-4, 1e-4],
    "patience": [20],
    "max_epochs": [500],
    "check_val_every_n_epoch": [3],
    "batch_size": [1024],
    "hidden_norm": [torch.nn.BatchNorm1d],
    "norm_after_activation": [False],
    "embedding_norm": [torch.nn.Identity],
    "initialization": list(INITIALIZERS),
    "optim": [torch.optim.Adam],
}
# TASK_SPECIFIC_PARAM_GRID of the kit (sed_eval was slow on DCASE).
TASK_SPECIFIC_PARAM_GRID: dict[str, dict[str, list[Any]]] = {
    "dcase2016_task2": {"check_val_every_n_epoch": [10]},
}
NUMERIC_KEYS = {
    "hidden_layers": int,
    "hidden_dim": int,
    "patience": int,
    "max_epochs": int,
    "check_val_every_n_epoch": int,
    "batch_size": int,
    "dropout": float,
    "lr": float,
}


def _is_kind(value: Any, kind: type) -> bool:
    """A finite number of the kind (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return isinstance(value, int) if kind is int else True


def kit_grid(task_name: str) -> dict[str, list[Any]]:
    """The kit's grid for a task before its metadata's own: PARAM_GRID updated by
    TASK_SPECIFIC_PARAM_GRID[task_name]."""
    return {**PARAM_GRID, **TASK_SPECIFIC_PARAM_GRID.get(task_name, {})}


def task_grid(data: TaskData, max_epochs: int | None) -> dict[str, list[Any]]:
    """PARAM_GRID, updated by TASK_SPECIFIC_PARAM_GRID[task_name] and then by the metadata's
    evaluation_params.task_specific_param_grid (numeric keys only here). `max_epochs` (not
    part of the protocol) replaces the max_epochs values when given."""
    grid = kit_grid(data.metadata.task_name)
    extra = data.metadata.evaluation_params.get("task_specific_param_grid", {})
    rel = "task_metadata.json"
    if not isinstance(extra, dict):
        raise MetadataError(data.name, rel, "task_specific_param_grid", "must be an object")
    for key, values in extra.items():
        kind = NUMERIC_KEYS.get(key)
        if kind is None or not isinstance(values, list) or not values:
            raise MetadataError(data.name, rel, "task_specific_param_grid", f"unsupported {key}")
        least = 0 if key in ("hidden_layers", "dropout", "patience") else 1
        if not all(_is_kind(v, kind) and v >= least for v in values):
            raise MetadataError(data.name, rel, "task_specific_param_grid", f"bad {key} values")
        grid[key] = values
    if max_epochs is not None:
        grid["max_epochs"] = [max_epochs]
    return grid


def parameter_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """sklearn ParameterGrid: keys sorted, itertools.product (the last key varies fastest)."""
    keys = sorted(grid)
    return [
        dict(zip(keys, values, strict=True))
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def sampled_grid(grid: Mapping[str, Sequence[Any]], grid_points: int) -> list[dict[str, Any]]:
    """The configurations tried: the grid shuffled by random.seed(42), the first `grid_points`.
    (seed_everything(42) seeds Python's global random just before `random.shuffle(confs)`.)"""
    confs = parameter_grid(grid)
    random.Random(SEED).shuffle(confs)
    return confs[:grid_points]


def data_splits(split_mode: str, splits: Sequence[str]) -> list[dict[str, list[str]]]:
    """trainvaltest: one split. k-fold: folds sorted; for i, test = fold i, valid = fold i+1
    (mod k), train = the other folds in sorted order."""
    if split_mode == "trainvaltest":
        return [{"train": ["train"], "valid": ["valid"], "test": ["test"]}]
    folds = sorted(splits)
    out = []
    for i, test in enumerate(folds):
        valid = folds[(i + 1) % len(folds)]
        out.append(
            {
                "train": [f for f in folds if f not in (test, valid)],
                "valid": [valid],
                "test": [test],
            }
        )
    return out


def sort_grid_points(results: list[TrainedModel]) -> list[TrainedModel]:
    """Best validation score first; Python's stable sort keeps grid order on ties."""
    mode = results[0].score_mode
    return sorted(results, key=lambda r: r.best.score, reverse=mode == "max")


def resolve_device(device: str) -> torch.device:
    """ "auto" is CUDA when available, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cpu", "cuda"):
        raise EvaluationUsageError(f"device must be auto, cpu or cuda, not {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise EvaluationUsageError("device cuda requested but CUDA is not available")
    return torch.device(device)


def task_spec(data: TaskData, device: torch.device) -> TaskSpec:
    """Metrics and post-processing of a task, checked against what the kit supports."""
    meta, rel = data.metadata, "task_metadata.json"
    unknown = [name for name in meta.evaluation if name not in METRICS]
    if unknown:
        raise MetadataError(data.name, rel, "evaluation", f"unknown metrics {unknown}")
    metrics = [METRICS[name] for name in meta.evaluation]
    if any(m.kind != meta.embedding_type for m in metrics):
        raise MetadataError(data.name, rel, "evaluation", "metrics do not fit the embedding type")
    postprocessing: list[ev.Postprocessing] = []
    if meta.embedding_type == "event":
        grid = meta.evaluation_params.get(
            "event_postprocessing_grid", ev.DEFAULT_POSTPROCESSING_GRID
        )
        ok = isinstance(grid, dict) and all(
            k in ev.POSTPROCESSING_KEYS
            and isinstance(v, list)
            and v
            and all(_is_kind(x, float) for x in v)
            for k, v in grid.items()
        )
        if not ok:
            raise MetadataError(data.name, rel, "event_postprocessing_grid", "unsupported grid")
        postprocessing = ev.postprocessing_grid(grid)
        if not meta.use_scoring_for_early_stopping and len(postprocessing) != 1:
            raise MetadataError(
                data.name,
                rel,
                "event_postprocessing_grid",
                "without scoring for early stopping the grid must hold exactly one point",
            )
    if any(dict(pp).get("median_filter_ms") for pp in postprocessing):
        check_frame_counts(data)
    return TaskSpec(
        task=data.name,
        labels=data.labels,
        multilabel=meta.prediction_type == "multilabel",
        event=meta.embedding_type == "event",
        metrics=metrics,
        use_scoring=meta.use_scoring_for_early_stopping,
        postprocessing=postprocessing,
        device=device,
    )


def check_frame_counts(data: TaskData) -> None:
    """The kit's median filter divides by the mean hop of a file: one frame has none (NaN)."""
    scored = {
        n
        for s in data_splits(data.metadata.split_mode, data.metadata.splits)
        for n in s["valid"] + s["test"]
    }
    for split, rows in data.splits.items():
        if split not in scored:
            continue
        assert rows.row_file is not None
        counts = np.bincount(rows.row_file, minlength=len(rows.files))
        single = [rows.files[i] for i in np.flatnonzero(counts == 1)]
        if single:
            raise ProtocolError(
                data.name,
                f"{split}/{single[0]}.embedding.npy",
                "one-frame",
                "a file with one frame has no hop for the median filter (the kit fails too)",
            )


def set_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """`torch.use_deterministic_algorithms` without its import of `torch._inductor.config`
    (0.9 s of start-up, for a compiler flag eager training never reads): the same switch, set
    where torch sets it. Batched mode then imports no compiler at all (a 2.2 s process on a
    tiny task instead of 3.1 s); exact mode still does, through torch.optim.Adam."""
    setter = getattr(torch._C, "_set_deterministic_algorithms", None)
    if setter is None:  # a torch without it: the public call
        torch.use_deterministic_algorithms(mode, warn_only=warn_only)
    else:
        setter(mode, warn_only=warn_only)


@contextmanager
def deterministic_torch(device: torch.device, seed: int = SEED) -> Iterator[None]:
    """seed_everything(seed) for torch (CPU and CUDA generators; the kit's is 42),
    deterministic algorithms on; the caller's generator states and determinism flag are
    restored afterwards."""
    devices = [torch.cuda.current_device()] if device.type == "cuda" else []
    if device.type == "cuda":
        # What Lightning sets for deterministic cuBLAS (it must precede the first cuBLAS call).
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    previous = torch.are_deterministic_algorithms_enabled()
    previous_warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        set_deterministic_algorithms(True)
        try:
            yield
        finally:
            set_deterministic_algorithms(previous, warn_only=previous_warn_only)


def _rows(data: TaskData, names: Sequence[str]) -> Rows:
    return concat_rows(data.name, [data.splits[n] for n in names], data.spill_dir)


def _describe(result: TrainedModel) -> str:
    conf = {k: result.conf[k] for k in ("hidden_layers", "lr")}
    conf["initialization"] = result.conf["initialization"].__name__
    return (
        f"validation_score={result.best.score} epoch={result.best.epoch} "
        f"epochs_trained={result.epochs} validation_s={result.validation_s:.3f} conf={conf}"
    )


MODES = ("exact", "batched")


def _train_exact(
    data: TaskData,
    spec: TaskSpec,
    confs: Sequence[dict[str, Any]],
    splits: Sequence[dict[str, list[str]]],
    log: Log,
) -> list[TrainedModel]:
    """The kit's order: the grid points one after another on the first split, the best one
    selected, then retrained on each other split in turn. The models of every split, the
    selected grid point's first."""
    first = splits[0]
    train, valid = _rows(data, first["train"]), _rows(data, first["valid"])
    candidates = []
    for i, conf in enumerate(confs):
        candidates.append(train_grid_point(spec, conf, train, valid, data.dim))
        log(f"grid point {i + 1}/{len(confs)}: {_describe(candidates[-1])}")
    best = sort_grid_points(candidates)[0]
    log(f"selected: {_describe(best)}")
    trained = [best]
    for i, split in enumerate(splits[1:], start=2):
        train, valid = _rows(data, split["train"]), _rows(data, split["valid"])
        trained.append(train_grid_point(spec, best.conf, train, valid, data.dim))
        log(f"split {i}/{len(splits)} (test {split['test']}): {_describe(trained[-1])}")
    return trained


def _train_batched(
    data: TaskData,
    spec: TaskSpec,
    confs: Sequence[dict[str, Any]],
    splits: Sequence[dict[str, list[str]]],
    members: int,
    log: Callable[[int, str], None],
) -> list[list[TrainedModel]]:
    """`members` runs of the protocol trained together (batched.py): every member's grid
    points of one layer shape in one stacked training on the first split; each member selects
    its own best grid point and retrains it on the other splits, again stacked by layer shape.
    Each member is initialised and draws its dropout masks on its own, so the members are as
    many draws of the protocol. Per member, the models of every split, the selected grid
    point's first; ``log(member, line)`` counts members from 0."""
    first = splits[0]
    train, valid = _rows(data, first["train"]), _rows(data, first["valid"])
    candidates: list[list[TrainedModel | None]] = [[None] * len(confs) for _ in range(members)]
    for group in group_by_shape(confs):
        jobs = [(m, i) for m in range(members) for i in group]
        trained_jobs = train_batch(
            spec,
            [confs[i] for _, i in jobs],
            [[train]] * len(jobs),
            [valid] * len(jobs),
            data.dim,
            data.spill_dir,
        )
        for (m, i), result in zip(jobs, trained_jobs, strict=True):
            candidates[m][i] = result
            log(m, f"grid point {i + 1}/{len(confs)}: {_describe(result)}")
    bests = [sort_grid_points([c for c in member if c is not None])[0] for member in candidates]
    for m, best in enumerate(bests):
        log(m, f"selected: {_describe(best)}")
    rest = splits[1:]
    retrained: list[list[TrainedModel | None]] = [[None] * len(rest) for _ in range(members)]
    jobs = [(m, r) for m in range(members) for r in range(len(rest))]
    for group in group_by_shape([bests[m].conf for m, _ in jobs]) if jobs else []:
        chosen = [jobs[g] for g in group]
        trained_jobs = train_batch(
            spec,
            [bests[m].conf for m, _ in chosen],
            [[data.splits[n] for n in rest[r]["train"]] for _, r in chosen],
            [_rows(data, rest[r]["valid"]) for _, r in chosen],
            data.dim,
            data.spill_dir,
        )
        for (m, r), model in zip(chosen, trained_jobs, strict=True):
            retrained[m][r] = model
            test = rest[r]["test"]
            log(m, f"split {r + 2}/{len(splits)} (test {test}): {_describe(model)}")
    return [
        [bests[m], *(model for model in retrained[m] if model is not None)] for m in range(members)
    ]


def run_protocol(
    data: TaskData,
    *,
    device: torch.device,
    grid_points: int,
    max_epochs: int | None,
    embedding_path: str,
    log: Log,
    mode: str = "exact",
    probe: Probe | None = None,
    seed: int = SEED,
    predictions: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Model selection on the first split, retraining on the others, tests; the scores object.

    `seed` seeds torch (42: the kit's run; the grid is shuffled with 42 whatever it is);
    `predictions`, when given, receives each test split's per-clip predictions of a clip-level
    task as ``<split>/probs`` and ``<split>/target`` (train.test_scores). ``probe``, when
    given, is called once every split is tested, with each split's test split names and its
    trained model (what bot/evaluation/canary.py scores other clips with); it changes nothing
    the kit does.

    mode "exact": the kit's sequence of random draws, one grid point after another. mode
    "batched": grid points of one layer shape trained together, then the winner retrained on
    all other splits together (batched.py); same protocol, other random draws."""
    if mode not in MODES:
        raise EvaluationUsageError(f"mode must be exact or batched, not {mode!r}")
    spec = task_spec(data, device)
    confs = sampled_grid(task_grid(data, max_epochs), grid_points)
    splits = data_splits(data.metadata.split_mode, data.metadata.splits)
    with deterministic_torch(device, seed):
        if mode == "exact":
            trained = _train_exact(data, spec, confs, splits, log)
        else:
            trained = _train_batched(data, spec, confs, splits, 1, lambda _, line: log(line))[0]
        scores = _test(data, spec, splits, trained, embedding_path, log, predictions)
        if probe is not None:
            tested = [(split["test"], model) for split, model in zip(splits, trained, strict=True)]
            probe(spec, tested, trained[0].conf["batch_size"])
    return scores


def _test(
    data: TaskData,
    spec: TaskSpec,
    splits: Sequence[dict[str, list[str]]],
    trained: Sequence[TrainedModel],
    embedding_path: str,
    log: Log,
    predictions: dict[str, np.ndarray] | None,
) -> dict[str, Any]:
    """Each split's model (``trained[0]``: the selected grid point) on its test split; the
    scores object."""
    best = trained[0]
    results: dict[str, dict[str, Any]] = {}
    for split, model in zip(splits, trained, strict=True):
        name = "|".join(split["test"])
        kept: dict[str, np.ndarray] = {}
        result: dict[str, Any] = test_scores(
            spec, model, _rows(data, split["test"]), best.conf["batch_size"], kept
        )
        if predictions is not None:
            predictions.update({f"{name}/{key}": value for key, value in kept.items()})
        result.update(
            validation_score=model.best.score,
            epoch=model.best.epoch,
            time_in_min=model.time_in_min,
        )
        results[name] = result
        log(f"test {name}: test_score={result['test_score']}")
    postprocessing = best.best.postprocessing or ()
    return build_scores(results, best.conf, postprocessing, spec.score_mode, embedding_path)


def run_members_together(
    data: TaskData,
    *,
    device: torch.device,
    grid_points: int,
    max_epochs: int | None,
    embedding_path: str,
    log: Callable[[int, str], None],
    members: int,
    seed: int,
    predictions: list[dict[str, np.ndarray]],
) -> list[dict[str, Any]]:
    """`members` further runs of the protocol trained together (batched.py), torch seeded once
    with `seed`: every member tries the same grid on the first split, each one's grid points
    stacked with the others' of the same layer shape; each member selects its own best grid
    point and retrains it on the other splits, again all members together. Each member is
    initialised and draws its dropout masks independently of the others, so the members are
    as many draws of the protocol as separate seeds would give, at the cost of one stacked
    training per layer shape instead of one run each. ``log(member, line)`` (members counted
    from 1); ``predictions[m]`` receives member m's per-clip test predictions. The scores
    objects, in member order."""
    spec = task_spec(data, device)
    confs = sampled_grid(task_grid(data, max_epochs), grid_points)
    splits = data_splits(data.metadata.split_mode, data.metadata.splits)
    if len(predictions) != members:
        raise ValueError(f"{members} members need {members} prediction dicts")
    with deterministic_torch(device, seed):
        trained = _train_batched(
            data, spec, confs, splits, members, lambda m, line: log(m + 1, line)
        )
        return [
            _test(
                data,
                spec,
                splits,
                models,
                embedding_path,
                lambda line, m=m: log(m + 1, line),
                predictions[m],
            )
            for m, models in enumerate(trained)
        ]


def _member_log(log: Log, k: int) -> Log:
    def member_log(line: str) -> None:
        log(f"member {k} (seed {SEED + k}): {line}")

    return member_log


class _TaskLog:
    """Writes lines to the task's log file (and to the caller's `log`) as they come."""

    def __init__(self, path: Path, forward: Log | None) -> None:
        self.handle = path.open("w", encoding="utf-8")
        self.forward = forward

    def __call__(self, line: str) -> None:
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}"
        self.handle.write(stamped + "\n")
        self.handle.flush()
        if self.forward is not None:
            self.forward(line)

    def close(self) -> None:
        self.handle.close()


def evaluate_task(
    task_dir: Path,
    *,
    device: str = "auto",
    grid_points: int = 8,
    log: Log | None = None,
    max_epochs: int | None = None,
    metadata_dir: Path | None = None,
    out_dir: Path | None = None,
    mode: str = "exact",
    in_memory: bool = False,
    canary: bool = False,
    seeds: int = 1,
    together: bool | None = None,
) -> dict[str, Any]:
    """Run the official downstream protocol on one embedding task directory.

    `seeds` K: the protocol is run K times, member 0 with the kit's seed (its scores are the
    returned ones and test.predicted-scores.json); members 1..K-1 are trained `together`
    (`run_members_together`: one stacked training per layer shape, torch seeded 43, each
    member its own random draws), or else one after another in `mode` with torch seeded
    42 + k. `together` None (the default): together on a GPU, one by one on a CPU, where a
    stack costs as much arithmetic as its members and measured no faster (docs/tolerances.md).
    Every member's scores go to test.members.json and, for clip-level tasks, their per-clip
    test predictions to test.predictions.npz (formats: the module docstring).

    Writes `<out_dir>/test.predicted-scores.json` (atomically, in the kit's form) and a human
    log `<out_dir>/hearbot-evaluate.log` (`out_dir` defaults to `task_dir`), and returns the
    scores object (floats, with float("inf") / float("nan") where the file says Infinity / NaN).
    Raises `EvaluationInputError` (or a subclass) naming the task, file and check on bad
    input.
    `max_epochs` is NOT part of the protocol (500, or the task's own value): set it only for
    tests and demonstrations.

    `mode` "exact" (default) reproduces the kit's numbers bit for bit on CPU; "batched" trains
    the grid points of one layer shape together and the retrained splits together (much
    faster, other random draws, so the numbers differ from the kit's; see batched.py).

    The embeddings are streamed into unnamed spill files in `out_dir` and memory-mapped for
    training (the space is freed when the run ends); `in_memory` holds them in RAM instead.
    Either way the numbers are the same.

    With ``canary``, where the embeddings have canary copies (bot/hear/canary.py), the very
    classifiers that scored the test splits also score the canary clips and their perturbed
    copies, written to `<out_dir>/canary.json` (bot/evaluation/canary.py); the kit's scores
    are not touched.

    When the embeddings were written by untrusted code (bot/verify/), `metadata_dir` is the
    original HEAR task, whose task_metadata.json, labelvocabulary.csv and split JSONs are read
    instead of the copies beside the embeddings, and `out_dir` is a directory that code cannot
    write to.
    """
    task_dir = Path(task_dir)
    out_dir = Path(out_dir) if out_dir is not None else task_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    torch_device = resolve_device(device)
    if grid_points < 1:
        raise EvaluationUsageError("grid_points must be at least 1")
    if max_epochs is not None and max_epochs < 1:
        raise EvaluationUsageError("max_epochs must be at least 1")
    if mode not in MODES:
        raise EvaluationUsageError(f"mode must be exact or batched, not {mode!r}")
    if not 1 <= seeds <= MAX_SEEDS:
        raise EvaluationUsageError(f"seeds must be from 1 to {MAX_SEEDS}, not {seeds}")
    # A scores file left from before (the official runner writes one here too) must never
    # pass for the result of this run, even if this run fails.
    for name in (SCORES_FILE, MEMBERS_FILE, PREDICTIONS_FILE, CANARY_SCORES):
        (out_dir / name).unlink(missing_ok=True)
    probe = canary_probe(task_dir, metadata_dir, out_dir) if canary else None
    data = load_task(task_dir, metadata_dir=metadata_dir, spill_dir=None if in_memory else out_dir)
    if together is None:
        together = torch_device.type == "cuda"
    task_log = _TaskLog(out_dir / LOG_FILE, log)
    try:
        task_log(
            f"task {data.name}: {data.metadata.embedding_type}/{data.metadata.prediction_type}, "
            f"{data.metadata.split_mode}, dim {data.dim}, {len(data.labels)} labels; "
            f"device {torch_device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
            f"grid_points {grid_points}, mode {mode}, seeds {seeds}, "
            f"rows {'in memory' if in_memory else 'memory-mapped'}"
            + (f", max_epochs {max_epochs} (NOT the protocol's)" if max_epochs else "")
        )
        members: list[dict[str, Any]] = []
        predictions: dict[str, np.ndarray] = {}
        for k in range(1 if together else seeds):
            kept: dict[str, np.ndarray] = {}
            member_log = task_log if k == 0 else _member_log(task_log, k)
            scores = run_protocol(
                data,
                device=torch_device,
                grid_points=grid_points,
                max_epochs=max_epochs,
                embedding_path=str(task_dir),
                log=member_log,
                mode=mode,
                seed=SEED + k,
                predictions=kept,
                probe=probe if k == 0 else None,
            )
            predictions.update({f"m{k}/{key}": value for key, value in kept.items()})
            members.append(scores)
            if k == 0:
                path = write_scores(out_dir, scores)
                task_log(f"wrote {path}")
        member_seeds = [SEED + k for k in range(seeds)]
        if together and seeds > 1:
            kept_by_member: list[dict[str, np.ndarray]] = [{} for _ in range(seeds - 1)]
            members += run_members_together(
                data,
                device=torch_device,
                grid_points=grid_points,
                max_epochs=max_epochs,
                embedding_path=str(task_dir),
                log=lambda k, line: task_log(f"member {k} (trained together): {line}"),
                members=seeds - 1,
                seed=SEED + 1,
                predictions=kept_by_member,
            )
            for k, kept in enumerate(kept_by_member, start=1):
                predictions.update({f"m{k}/{key}": value for key, value in kept.items()})
            member_seeds = [SEED] + [SEED + 1] * (seeds - 1)
        task_log(f"wrote {write_members(out_dir, member_seeds, mode, members, together)}")
        if predictions:
            task_log(f"wrote {write_predictions(out_dir, predictions)}")
        return members[0]
    except Exception as exc:
        task_log(f"FAILED: {type(exc).__name__}: {exc}")
        raise
    finally:
        task_log.close()
