"""Trusted re-run of the official HEAR downstream evaluation (heareval 2021.1.3 predictions).

Public API:
    evaluate_task(task_dir, *, device="auto", grid_points=8, log=None, max_epochs=None,
                  mode="exact", seeds=1) -> dict
        runs the protocol on one embedding task directory (mode "batched": configurations
        trained together, see batched.py), writes
        <task_dir>/test.predicted-scores.json (the kit's form) and <task_dir>/hearbot-evaluate.log;
        with seeds K, K members (member 0 the kit's run, returned) in test.members.json, and
        per-clip test predictions in test.predictions.npz (formats: protocol.py)
    register_evaluate_command(subparsers)  adds `hearbot evaluate TASK_DIR [TASK_DIR ...]`
    load_scores(path) -> dict              reads a scores file (NaN/Infinity become floats)
    EvaluationInputError (EmbeddingError, MetadataError, ProtocolError): bad input, naming
        .task, .file and .check; EvaluationUsageError: a bad argument.

Fidelity: on CPU, with the same torch build and thread count, the numbers equal those of the
official kit run under pytorch-lightning 1.8.6 and torchinfo 1.8.0 bit for bit (every key but
time_in_min and the address inside hparams' function names). What that rests on, module by
module: embeddings (row order), model (layer creation and init order, the torchinfo draw),
train (Lightning's loop, DataLoader seed draws, checkpoint and early-stopping rules), events
and metrics (post-processing, sed_eval and sklearn semantics), scores (float32 pass-through,
pandas aggregation, the JSON form), protocol (grid, splits, selection). That is mode
"exact"; mode "batched" (batched.py) keeps the protocol but not the kit's random draws.
"""

from typing import Any

from bot.evaluation.cli import register_evaluate_command
from bot.evaluation.errors import (
    EmbeddingError,
    EvaluationInputError,
    EvaluationUsageError,
    MetadataError,
    ProtocolError,
)


def __getattr__(name: str) -> Any:
    """evaluate_task and load_scores load torch: imported on first use, not with the package,
    so that `hearbot validate` starts fast."""
    if name == "evaluate_task":
        from bot.evaluation.protocol import evaluate_task

        return evaluate_task
    if name == "load_scores":
        from bot.evaluation.scores import load_scores

        return load_scores
    raise AttributeError(f"module 'bot.evaluation' has no attribute {name!r}")


__all__ = [
    "EmbeddingError",
    "EvaluationInputError",
    "EvaluationUsageError",
    "MetadataError",
    "ProtocolError",
    "evaluate_task",
    "load_scores",
    "register_evaluate_command",
]
