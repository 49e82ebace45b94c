"""Merging the GPU shards' results: per-shard failures stay on their own columns, the verdict
is recomputed, and the output does not depend on the order of the inputs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from bot.common.schemas import leaderboard_facts, schema_errors
from bot.github.artifact import MAX_ARTIFACT_BYTES, Artifact
from bot.github.shard_artifacts import artifact_name, read_shard_inputs
from bot.github.shard_merge import RETRY_HINT, ShardInput, merge_shards
from bot.github.shards import PlanError, Shard
from tests.github.verification_result import shard_result, write_artifact

FACTS = leaderboard_facts()
ALL = FACTS.score_columns
PLAN = (
    Shard(1, ("Beehive",), 192.0),
    Shard(2, ("ESC-50", "FSD50K"), 110.8),
    Shard(3, ("CREMA-D", "Gunshot"), 10.1),
)
PR, SHA = 7, "a" * 40


def done(number: int, outcomes: dict[str, str], **kwargs: Any) -> ShardInput:
    return ShardInput(number, Artifact(result=shard_result(outcomes, **kwargs), stale=None))


def all_reproduced() -> list[ShardInput]:
    return [done(s.number, dict.fromkeys(s.columns, "reproduced")) for s in PLAN]


def outcomes(result: dict[str, Any]) -> dict[str, str]:
    return {c["column"]: c["outcome"] for c in result["verification"]["columns"]}


def test_all_shards_pass() -> None:
    inputs = all_reproduced()
    inputs[2] = done(3, {"CREMA-D": "reproduced", "Gunshot": "reproduced"}, total_s=90.0)

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.stale is None and merged.notes == ()
    result = merged.result
    assert result is not None and schema_errors("result.schema.json", result) == []
    verification = result["verification"]
    assert verification["verdict"] == "pass"
    assert verification["reason"] == "Reproduced 5 claimed column(s)."
    assert list(outcomes(result)) == list(ALL)  # header order, every column
    planned = {name for shard in PLAN for name in shard.columns}
    assert {n for n, o in outcomes(result).items() if o == "reproduced"} == planned
    assert {o for n, o in outcomes(result).items() if n not in planned} == {"not-claimed"}
    assert verification["timings"] == {
        "install_s": 30.0,
        "total_s": 150.0,
        "shard_wall_max_s": 90.0,
    }
    dirs = [t["task_dir"] for t in verification["tasks"]]
    assert dirs == [d for s in PLAN for c in s.columns for d in FACTS.column(c).task_dirs]


def test_requested_columns_keep_their_order() -> None:
    listed = ("FSD50K", "Beehive", "ESC-50", "Gunshot", "CREMA-D", "Libricount")

    merged = merge_shards(PLAN, listed, all_reproduced())

    assert merged.result is not None
    assert list(outcomes(merged.result)) == list(listed)
    assert outcomes(merged.result)["Libricount"] == "not-claimed"


def test_a_failed_shard_errors_only_its_own_columns() -> None:
    inputs = all_reproduced()
    inputs[1] = ShardInput(2, None, "its job left no artifact")

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    verification = merged.result["verification"]
    assert verification["verdict"] == "error"
    errors = {n for n, o in outcomes(merged.result).items() if o == "error"}
    assert errors == {"ESC-50", "FSD50K"}
    assert outcomes(merged.result)["Beehive"] == "reproduced"
    entry = next(c for c in verification["columns"] if c["column"] == "FSD50K")
    assert "Shard 2" in entry["detail"] and RETRY_HINT in entry["detail"]
    assert entry["claimed"] == 0.5  # the row's claim, as the other shards read it
    assert "Shard 2 (ESC-50, FSD50K) produced no usable result" in verification["reason"]


def test_a_mismatch_in_one_shard_fails_even_when_another_failed() -> None:
    inputs = all_reproduced()
    inputs[0] = done(1, {"Beehive": "mismatch"})
    inputs[2] = ShardInput(3, None, "its artifact was rejected: boom")

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert merged.result["verification"]["verdict"] == "fail"
    assert merged.result["verification"]["reason"].startswith("Not reproduced: Beehive.")


def test_an_error_inside_a_shard_is_an_error() -> None:
    inputs = all_reproduced()
    inputs[2] = done(3, {"CREMA-D": "error", "Gunshot": "reproduced"})

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert merged.result["verification"]["verdict"] == "error"
    assert [n for n, o in outcomes(merged.result).items() if o == "error"] == ["CREMA-D"]


def test_the_order_of_the_inputs_does_not_matter() -> None:
    inputs = all_reproduced()
    inputs[0] = done(1, {"Beehive": "mismatch"}, device="cuda (A100)", total_s=500.0)
    inputs[1] = ShardInput(2, None, "its job left no artifact")
    inputs.append(done(9, {"Libricount": "reproduced"}))  # not planned
    expected = merge_shards(PLAN, ALL, inputs)

    for order in itertools.permutations(inputs):
        assert merge_shards(PLAN, ALL, order) == expected
    for plan in itertools.permutations(PLAN):
        assert merge_shards(plan, ALL, inputs[::-1]) == expected
    assert expected.result is not None
    assert json.dumps(expected.result)  # strict JSON-able


def test_a_column_a_shard_did_not_own_is_ignored_with_a_reason() -> None:
    inputs = all_reproduced()
    inputs[2] = done(3, {"CREMA-D": "reproduced", "Gunshot": "reproduced", "Beehive": "mismatch"})

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert outcomes(merged.result)["Beehive"] == "reproduced"  # shard 1's, not shard 3's
    assert merged.result["verification"]["verdict"] == "pass"
    assert "Shard 3 reported Beehive, which it did not own; ignored." in merged.notes
    assert "did not own" in merged.result["verification"]["reason"]


def test_an_owned_column_missing_from_its_shard_is_an_error() -> None:
    inputs = all_reproduced()
    inputs[2] = done(3, {"CREMA-D": "reproduced"})

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert outcomes(merged.result)["Gunshot"] == "error"
    assert merged.result["verification"]["verdict"] == "error"


def test_a_column_reported_twice_is_an_error() -> None:
    inputs = all_reproduced()
    twice = shard_result({"CREMA-D": "reproduced", "Gunshot": "reproduced"})
    twice["verification"]["columns"].append(twice["verification"]["columns"][0])
    inputs[2] = ShardInput(3, Artifact(result=twice, stale=None))

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert outcomes(merged.result)["CREMA-D"] == "error"


def test_differing_environments_are_named() -> None:
    inputs = all_reproduced()
    inputs[2] = done(3, {"CREMA-D": "reproduced", "Gunshot": "reproduced"}, device="cpu")

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert merged.result["verification"]["environment"]["device"] == "cuda:0"  # shard 1's
    assert (
        "Shard 3 reported a different environment (device)"
        in merged.result["verification"]["reason"]
    )


def test_a_stale_shard_makes_the_run_stale() -> None:
    note = {"pr": PR, "sha": SHA, "current_head_sha": "b" * 40}
    inputs = all_reproduced()
    inputs[1] = ShardInput(2, Artifact(result=None, stale=note))

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is None and merged.stale == note


def test_no_usable_shard_gives_no_result() -> None:
    inputs = [ShardInput(s.number, None, "its job left no artifact") for s in PLAN[:2]]

    merged = merge_shards(PLAN, ALL, inputs)  # shard 3 is not even given

    assert merged.result is None and merged.stale is None
    assert len(merged.notes) == 3 and "Shard 3" in merged.notes[2]


def test_an_invalid_submission_fails_as_hearbot_verify_says() -> None:
    inputs = all_reproduced()
    invalid = shard_result({})
    invalid["errors"] = [
        {"code": "score-range", "line": 2, "column": "ESC-50", "message": "m", "fix": "f"}
    ]
    invalid["verification"]["reason"] = "The submission does not pass validation."
    inputs[0] = ShardInput(1, Artifact(result=invalid, stale=None))

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    assert merged.result["verification"]["verdict"] == "fail"
    assert merged.result["verification"]["reason"].startswith("The submission does not pass")


@pytest.mark.parametrize(
    ("plan", "listed", "inputs"),
    [
        ((*PLAN, Shard(1, ("Libricount",), 8.0)), ALL, []),
        ((*PLAN, Shard(4, ("Beehive",), 1.0)), ALL, []),
        (PLAN, ("Beehive",), []),
        (PLAN, ALL, [ShardInput(1, None, "x"), ShardInput(1, None, "y")]),
    ],
    ids=["shard-twice", "column-twice", "plan-outside-the-request", "input-twice"],
)
def test_inconsistent_plans_are_refused(
    plan: tuple[Shard, ...], listed: tuple[str, ...], inputs: list[ShardInput]
) -> None:
    with pytest.raises(PlanError):
        merge_shards(plan, listed, inputs)


# --- reading the downloaded artifacts (untrusted) ------------------------------------------


def test_each_shard_folder_is_checked_on_its_own(tmp_path: Path) -> None:
    write_artifact(tmp_path / artifact_name(1), shard_result({"Beehive": "reproduced"}))
    oversized = json.dumps(shard_result({"ESC-50": "reproduced"})) + " " * MAX_ARTIFACT_BYTES
    write_artifact(tmp_path / artifact_name(2), None, **{"result.json": oversized.encode()})
    write_artifact(tmp_path / artifact_name(3), None, **{"result.json": b'{"a": NaN}'})
    write_artifact(tmp_path / artifact_name(5), shard_result({"Libricount": "reproduced"}))
    (tmp_path / "something-else").mkdir()

    inputs, notes = read_shard_inputs(tmp_path, PLAN, PR, SHA)

    by_number = {item.shard: item for item in inputs}
    assert sorted(by_number) == [1, 2, 3, 5]
    assert by_number[1].artifact is not None and by_number[1].problem == ""
    assert by_number[2].artifact is None and "more than" in by_number[2].problem
    assert by_number[3].artifact is None and "not strict JSON" in by_number[3].problem
    assert by_number[5].problem == "not planned"
    assert notes == ["Unexpected download 'something-else' was ignored."]
    merged = merge_shards(PLAN, ALL, inputs)
    assert merged.result is not None
    assert [n for n, o in outcomes(merged.result).items() if o == "error"] == [
        "CREMA-D",
        "ESC-50",
        "FSD50K",
        "Gunshot",
    ]
    assert "Shard 5 was not planned" in merged.result["verification"]["reason"]


def test_missing_and_linked_shard_folders_are_problems(tmp_path: Path) -> None:
    shards = tmp_path / "shards"
    shards.mkdir()
    real = write_artifact(tmp_path / "elsewhere", shard_result({"Beehive": "reproduced"}))
    (shards / artifact_name(1)).symlink_to(real, target_is_directory=True)

    inputs, _ = read_shard_inputs(shards, PLAN, PR, SHA)

    problems = {item.shard: item.problem for item in inputs}
    assert problems[1] == "its artifact is not a plain folder"
    assert "left no artifact" in problems[2] and "left no artifact" in problems[3]
    nothing, notes = read_shard_inputs(tmp_path / "never-downloaded", PLAN, PR, SHA)
    assert [item.artifact for item in nothing] == [None, None, None] and notes == []


def test_a_shards_failed_stage_is_kept_once_naming_the_shard() -> None:
    inputs = all_reproduced()
    failed = shard_result({"CREMA-D": "error", "Gunshot": "error"})
    failed["verification"]["stage_error"] = {
        "stage": "install",
        "message": "pip install failed (exit 1):\n[model] ERROR: No matching distribution",
        "log_tail": "12:00:00 install: $ pip install",
    }
    inputs[2] = ShardInput(3, Artifact(result=failed, stale=None))

    merged = merge_shards(PLAN, ALL, inputs)

    assert merged.result is not None
    stage_error = merged.result["verification"]["stage_error"]
    assert stage_error["stage"] == "install"
    assert stage_error["message"].startswith("Shard 3: pip install failed (exit 1):\n")
    assert merge_shards(PLAN, ALL, all_reproduced()).result["verification"]["stage_error"] is None
