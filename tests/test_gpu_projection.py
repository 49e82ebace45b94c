"""benchmarks/gpu_projection.py's projection arithmetic (the GPU measurement itself runs only on
a lent GPU: scripts/gpu-proof.sh)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.common.schemas import leaderboard_facts
from tests.scripts import load_script

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "gpu_projection.py"
RECORD = REPO / "benchmarks" / "results" / "h100-2026-11-26.json"


@pytest.fixture(scope="module")
def projection() -> ModuleType:
    return load_script(SCRIPT)


def test_trainings_follow_the_protocol(projection: ModuleType) -> None:
    facts = leaderboard_facts()
    trainings = {c.name: projection.column_trainings(c) for c in facts.columns}
    assert trainings["FSD50K"] == 8  # train/valid/test: the 8 grid points
    assert trainings["Beehive"] == 16  # two train/valid/test directories
    assert trainings["ESC-50"] == 12  # 5 folds: 8 grid points on the first, 4 retrainings
    assert trainings["GTZAN Genre"] == 17  # 10 folds
    assert trainings["Vocal Imitation"] == 10  # 3 folds


def _measured(epochs: float | None) -> dict[str, Any]:
    def stage(factor: float, per_clip: float, per_hour: float) -> dict[str, Any]:
        rate = {"mean_epochs_trained": epochs, "s_per_training_and_clip": per_clip,
                "s_per_training_and_audio_hour": per_hour}  # fmt: skip
        return {"embed_realtime_factor": factor, "evaluate": {"exact": rate}}

    return {"stages": {"scene": stage(3600.0, 0.001, 99.0), "event": stage(1800.0, 99.0, 10.0)}}


def test_scene_scales_by_clips_and_events_by_audio_hours(projection: ModuleType) -> None:
    result = projection.project(_measured(50.0), "exact")
    rows = {row["column"]: row for row in result["columns"]}
    facts = leaderboard_facts()
    esc, dcase = facts.column("ESC-50"), facts.column("DCASE 2016")
    # scene: 1 s of embedding per audio hour, 1 ms per training and clip
    assert rows["ESC-50"]["embed_min"] == round(esc.audio_hours / 60, 2)
    assert rows["ESC-50"]["evaluate_min"] == round(12 * esc.clips * 0.001 / 60, 2)
    # event: 2 s of embedding per audio hour, 10 s per training and audio hour
    assert rows["DCASE 2016"]["embed_min"] == round(2 * dcase.audio_hours / 60, 2)
    assert rows["DCASE 2016"]["evaluate_min"] == round(8 * dcase.audio_hours * 10.0 / 60, 2)
    # every training run to 500 epochs instead of the measured 50: evaluation x 10
    assert rows["DCASE 2016"]["evaluate_min_at_max_epochs"] == pytest.approx(
        10 * rows["DCASE 2016"]["evaluate_min"], abs=0.01
    )
    total = sum(row["embed_min"] + row["evaluate_min"] for row in result["columns"])
    assert result["total_min"] == pytest.approx(total, abs=0.1)
    # at least the early-stopping floor: DCASE validates every 10 epochs (210 > 50), ESC-50
    # every 3 (63 > 50); with 100 measured epochs, ESC-50 keeps its own and DCASE does not
    assert rows["DCASE 2016"]["evaluate_min_at_floor_epochs"] == pytest.approx(
        4.2 * rows["DCASE 2016"]["evaluate_min"], abs=0.01
    )
    assert rows["ESC-50"]["evaluate_min_at_floor_epochs"] == pytest.approx(
        1.26 * rows["ESC-50"]["evaluate_min"], abs=0.01
    )
    longer = {r["column"]: r for r in projection.project(_measured(100.0), "exact")["columns"]}
    assert longer["ESC-50"]["evaluate_min_at_floor_epochs"] == longer["ESC-50"]["evaluate_min"]
    assert longer["DCASE 2016"]["evaluate_min_at_floor_epochs"] == pytest.approx(
        2.1 * longer["DCASE 2016"]["evaluate_min"], abs=0.01
    )


def test_unknown_epochs_leave_the_bound_unknown(projection: ModuleType) -> None:
    result = projection.project(_measured(None), "exact")
    assert result["total_min_at_max_epochs"] is None
    assert result["total_min_at_floor_epochs"] is None
    assert all(row["evaluate_min_at_max_epochs"] is None for row in result["columns"])
    assert not math.isnan(result["total_min"])


def test_the_recorded_h100_run_projects_again(tmp_path: Path) -> None:
    out = tmp_path / "projection.json"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--from-json", str(RECORD), "--out", str(out)],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("projected")]
    assert len(lines) == 1 and "NVIDIA H100" in lines[0] and "evaluation exact" in lines[0]
    assert out.is_file() and "batched" not in out.read_text().split('"projection"')[1]


def test_a_scene_stage_is_taken_only_from_the_same_device_with_every_mode(
    projection: ModuleType,
) -> None:
    device = "cuda (NVIDIA H100 80GB HBM3)"
    stage, peak = projection.earlier_scene_stage(RECORD, device, ["exact"])
    assert stage["clips"] == 20000 and peak == 35.96
    with pytest.raises(SystemExit, match="not cuda \\(NVIDIA H200\\)"):
        projection.earlier_scene_stage(RECORD, "cuda (NVIDIA H200)", ["exact"])
    with pytest.raises(SystemExit, match="no batched mode"):
        projection.earlier_scene_stage(RECORD, device, ["exact", "batched"])


def test_a_seed_ensemble_multiplies_evaluation_not_embedding(projection: ModuleType) -> None:
    one = {r["column"]: r for r in projection.project(_measured(50.0), "exact")["columns"]}
    five = projection.project(_measured(50.0), "exact", seeds=5)
    assert five["seeds"] == 5
    for row in five["columns"]:
        assert row["embed_min"] == one[row["column"]]["embed_min"]
        assert row["evaluate_min"] == pytest.approx(
            5 * one[row["column"]]["evaluate_min"], abs=0.03
        )


def test_a_measured_ensemble_ratio_replaces_k_times(projection: ModuleType) -> None:
    one = projection.project(_measured(50.0), "exact")
    stacked = projection.project(_measured(50.0), "exact", seeds=5, ensemble_ratio=1.5)
    assert stacked["ensemble_ratio"] == 1.5 and one["ensemble_ratio"] == 1
    for row, single in zip(stacked["columns"], one["columns"], strict=True):
        assert row["evaluate_min"] == pytest.approx(1.5 * single["evaluate_min"], abs=0.03)
    # The ratio that would bring all columns to 30 min, whatever ratio was assumed.
    assert stacked["ratio_for_30_min"] == pytest.approx(one["ratio_for_30_min"], rel=0.02)
