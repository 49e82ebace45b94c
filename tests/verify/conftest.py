"""Shared fixtures: synthetic tasks and the example model, as a submitter's environment has it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo import STAND_INS
from bot.hear.synth import write_tasks

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_MODEL = REPO_ROOT / "examples" / "hear_example_model"


@pytest.fixture(scope="session")
def synth_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tasks = tmp_path_factory.mktemp("tasks")
    write_tasks(tasks, sample_rates=(16000,), seed=0)
    assert {path.name for path in tasks.iterdir()} >= set(STAND_INS.values())
    return tasks


@pytest.fixture(autouse=True)
def one_thread(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """One torch thread here and in the model's process: on 2 shared cores, oversubscribed
    threads make tiny trainings many times slower."""
    import torch

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def example_model_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example model importable as in a submitter's own environment (--no-install)."""
    monkeypatch.setenv("PYTHONPATH", str(EXAMPLE_MODEL))


def error_text(result: dict, column: dict) -> str:
    """Everything a result says about why ``column`` errored: its own detail and log tail,
    and the failed stage's message and log (reported once, in `verification.stage_error`)."""
    stage_error = result["verification"].get("stage_error") or {}
    parts = [column["detail"], column["log_tail"] or ""]
    parts += [stage_error.get("message", ""), stage_error.get("log_tail", "")]
    return "\n".join(parts)
