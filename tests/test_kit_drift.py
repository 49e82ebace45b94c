"""benchmarks/kit_drift.py: its usage errors, and (where the kit's reference environment
exists) a whole run on a tiny task, where the kit under the project's torch equals member 0."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest
import torch

from tests import official_kit
from tests.evaluation.synth import make_scene_task
from tests.scripts import load_script

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "kit_drift.py"


@pytest.fixture(scope="module")
def kit_drift() -> ModuleType:
    return load_script(SCRIPT)


def _task(root: Path) -> Path:
    return make_scene_task(
        root / "embeddings" / "example_model" / "tiny",
        split_mode="new_split_kfold",
        splits=("fold00", "fold01", "fold02"),
        n_labels=4,
        files_per_split=12,
        noise=2.0,
        seed=5,
    )


def test_usage_errors_say_what_to_fix(
    kit_drift: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        kit_drift.main([str(tmp_path), "--kit-env", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "not an embedding task directory" in capsys.readouterr().err
    task = _task(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        kit_drift.main([str(task), "--kit-env", str(tmp_path), "--column", "Nope"])
    assert exit_info.value.code == 2 and "not a leaderboard column" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="no bin/python"):
        kit_drift.main([str(task), "--kit-env", str(tmp_path / "absent")])


@pytest.mark.skipif(not official_kit.present(), reason=official_kit.ABSENT)
def test_the_kit_under_the_projects_torch_is_member_zero(
    kit_drift: ModuleType, tmp_path: Path
) -> None:
    task = _task(tmp_path)
    out = tmp_path / "drift.json"
    before = torch.get_num_threads()
    try:
        code = kit_drift.main(
            [str(task), "--kit-env", str(official_kit.REFENV_PYTHON.parents[1]), "--seeds", "2",
             "--threads", "1", "--out", str(out)]
        )  # fmt: skip
    finally:
        torch.set_num_threads(before)
    document = json.loads(out.read_text())
    (measured,) = document["tasks"]
    assert measured["model"] == "example_model" and len(measured["members"]) == 2
    assert measured["kit"] == {document["hearbot_torch"]: measured["members"][0]}
    assert len(measured["hits"]) == 2 and measured["clip_sd"] >= 0
    outcome = measured["judged"][document["hearbot_torch"]]["outcome"]
    assert outcome != "mismatch" and code == 0


def test_an_environment_named_relatively_still_runs_from_the_kits_scratch_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kit runs with its scratch directory as working directory, so `--kit-env .refenv`
    must name the interpreter absolutely (a relative one was not found there)."""
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.write_text("#!/bin/sh\necho 2.6.0\n")
    python.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    env = official_kit.Env.at(Path("env"))
    assert env.python == python and env.python.is_absolute() and env.torch == "2.6.0"


def test_an_earlier_evaluation_in_place_is_reused_only_with_the_same_seeds_and_threads(
    kit_drift: ModuleType, tmp_path: Path
) -> None:
    from bot.evaluation import evaluate_task

    task = _task(tmp_path)
    assert not kit_drift.evaluated_in_place(task, 2, 1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        evaluate_task(task, device="cpu", seeds=2, grid_points=1)
    finally:
        torch.set_num_threads(before)
    assert kit_drift.evaluated_in_place(task, 2, 1)
    assert not kit_drift.evaluated_in_place(task, 2, 2)  # other threads: other numbers
    assert not kit_drift.evaluated_in_place(task, 3, 1)  # other K
