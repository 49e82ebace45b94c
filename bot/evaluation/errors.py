"""Errors of the downstream evaluation: every input problem names its task, file and check."""

from __future__ import annotations


class EvaluationInputError(ValueError):
    """The embedding task directory is unusable (exit code 2 on the command line).

    `task` is the task directory's name, `file` the offending path relative to it ("" when the
    problem is not about one file) and `check` a short stable name of the failed check.
    """

    def __init__(self, task: str, file: str, check: str, detail: str) -> None:
        self.task = task
        self.file = file
        self.check = check
        self.detail = detail
        where = f"{task}/{file}" if file else task
        super().__init__(f"{where}: {check}: {detail}")


class EmbeddingError(EvaluationInputError):
    """A per-file embedding, timestamp or label file fails a check (dtype, shape, NaN, ...)."""


class MetadataError(EvaluationInputError):
    """task_metadata.json, labelvocabulary.csv or a split JSON fails a check."""


class ProtocolError(EvaluationInputError):
    """The data are well formed but the official protocol cannot run on them.

    Raised where the official kit itself would crash (e.g. a training batch of one row under
    BatchNorm, no validation epoch before max_epochs, a file with one frame under a median
    filter), so there is no official number to reproduce.
    """


class EvaluationUsageError(ValueError):
    """A bad argument to `evaluate_task` (device, grid_points, max_epochs): exit code 2."""
