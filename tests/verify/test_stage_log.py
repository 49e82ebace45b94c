"""The run's log: a heartbeat in every long stage, echoed even when the rest is quiet."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.verify.stage_log import StageLog
from bot.verify.task_runs import EvaluationSteps


def test_a_silent_stage_gets_a_progress_line_per_interval_on_stderr_and_in_the_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = StageLog(tmp_path / "verify.log", echo=False, echo_progress=True, interval=0.05)
    log("install: a line that is not progress")
    with log.heartbeat("install", lambda: "; step 1/2"):
        time.sleep(0.4)
    written = (tmp_path / "verify.log").read_text().splitlines()
    beats = [line for line in written if "install: progress: still working" in line]
    assert len(beats) >= 3 and beats[0].endswith("; step 1/2")
    err = capsys.readouterr().err
    assert "still working" in err and "not progress" not in err  # only progress is echoed


def test_evaluation_steps_give_the_step_and_an_eta() -> None:
    steps = EvaluationSteps(started=time.monotonic() - 40)
    assert steps.status() == "; preparing (reading embeddings)"
    steps.saw("grid point 4/8: validation_score=1.0")
    assert steps.status() == "; grid point 4/8 trained, ETA ~40 s"
    steps.saw("grid point 8/8: validation_score=1.0")
    steps.saw("split 2/5 (test ['fold01']): validation_score=1.0")
    assert steps.status().startswith("; split 2/5 trained (grid search done), ETA ~")


def test_evaluation_steps_follow_the_members_of_a_seed_ensemble() -> None:
    steps = EvaluationSteps(started=time.monotonic() - 40)
    steps.saw(
        "task synth: scene/multiclass, new_split_kfold, dim 128, 5 labels; grid_points 8, "
        "mode exact, seeds 5"
    )
    steps.saw("grid point 4/8: validation_score=1.0")
    assert steps.status() == "; member 1/5, grid point 4/8 trained, ETA ~40 s"
    steps.saw("member 2 (trained together): grid point 3/8: validation_score=1.0")
    steps.saw("member 1 (trained together): grid point 3/8: validation_score=1.0")
    assert steps.status() == "; members 2-5 (trained together), 2 of their 32 grid points trained"
    one_by_one = EvaluationSteps()
    one_by_one.saw("task t: ... seeds 3, rows in memory")
    one_by_one.saw("member 2 (seed 44): grid point 1/8: validation_score=1.0")
    assert one_by_one.status().startswith("; member 3/3, grid point 1/8 trained")
