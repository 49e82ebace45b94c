"""End to end against the fake GitHub, as verify.yml's fan-out does it: fetch and plan the
shards, one synthetic result per GPU shard, merge-results, then report-verification --merged:
one sticky comment section and one check run, whatever the shards did."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.common.schemas import leaderboard_facts
from bot.github.shard_artifacts import artifact_name
from tests.fake_github import FakeGitHub
from tests.fake_github.scenario import SubmissionPR, bot_comments, github, open_submission
from tests.github.test_verify_report import (
    accepted_verify,
    fetch,
    verification_section,
    verify_check,
)
from tests.github.verification_result import shard_result, write_artifact

SHARDS = 3
Submitted = tuple[SubmissionPR, dict[str, str]]


@pytest.fixture
def submitted(fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path) -> Submitted:
    """A submission PR whose validation passed and whose /verify was accepted: the PR and the
    accepting job's outputs (columns, pr, sha)."""
    pr = open_submission(fake)
    return pr, accepted_verify(fake, tmp_path, pr.number)


def plan(
    outputs: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    submission = tmp_path / "submission"
    assert fetch(outputs, submission) == 0
    matrix = tmp_path / "plan.json"
    github_output = tmp_path / "plan_output"
    github_output.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
    code = github("plan-shards", "--submission", str(submission),
                              "--columns", outputs["columns"], "--max-shards", str(SHARDS),
                              "--hours-per-shard", "", "--output", str(matrix),
                              "--github-output")  # fmt: skip
    assert code == 0
    lines = dict(line.split("=", 1) for line in github_output.read_text().splitlines())
    assert list(lines) == ["matrix", "stale"]
    assert json.loads(lines["matrix"]) == json.loads(matrix.read_text())
    stale = (tmp_path / "submission" / "stale.json").is_file()
    assert lines["stale"] == ("true" if stale else "false")
    return json.loads(lines["matrix"])["include"]


def merge_and_report(
    outputs: dict[str, str], tmp_path: Path, job_result: str = "success"
) -> tuple[int, int]:
    merged = tmp_path / "merged"
    merge = github("merge-results", "--shards", str(tmp_path / "shards"),
                   "--planned", str(tmp_path / "plan.json"), "--columns", outputs["columns"],
                   "--pr", outputs["pr"], "--sha", outputs["sha"],
                   "--out", str(merged))  # fmt: skip
    report = github("report-verification", "--artifact", str(merged), "--pr", outputs["pr"],
                    "--sha", outputs["sha"], "--job-result", job_result, "--merged")  # fmt: skip
    return merge, report


def test_three_shards_merge_into_one_report(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr, outputs = submitted
    shards = plan(outputs, tmp_path, monkeypatch)

    assert [s["shard"] for s in shards] == [1, 2, 3]
    planned = sorted(name for s in shards for name in s["columns"])
    assert planned == sorted(leaderboard_facts().score_columns)  # the row claims them all
    for shard in shards:
        outcomes = dict.fromkeys(shard["columns"], "reproduced")
        write_artifact(tmp_path / "shards" / artifact_name(shard["shard"]), shard_result(outcomes))

    assert merge_and_report(outputs, tmp_path) == (0, 0)

    assert verify_check(fake, pr.head_sha) == (
        "success",
        "Verified: the claimed scores were reproduced",
    )
    assert len(bot_comments(fake, pr.number)) == 1
    section = verification_section(fake, pr.number)
    assert "Reproduced 19 claimed column" in section
    assert "verified" in fake.labels_on(pr.number)


def test_a_failed_shard_is_an_error_on_its_columns_only(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr, outputs = submitted
    shards = plan(outputs, tmp_path, monkeypatch)
    lost = shards[1]
    for shard in (shards[0], shards[2]):
        outcomes = dict.fromkeys(shard["columns"], "reproduced")
        write_artifact(tmp_path / "shards" / artifact_name(shard["shard"]), shard_result(outcomes))

    # the matrix job's result is `failure` because shard 2 failed; the merge accounts for it
    assert merge_and_report(outputs, tmp_path, "failure") == (0, 0)

    assert verify_check(fake, pr.head_sha)[0] == "action_required"
    section = verification_section(fake, pr.number)
    assert "Shard 2" in section and "re-run it with `/verify`" in section
    merged = json.loads((tmp_path / "merged" / "result.json").read_text())
    errors = [c["column"] for c in merged["verification"]["columns"] if c["outcome"] == "error"]
    assert errors == lost["columns"]
    assert "verified" not in fake.labels_on(pr.number)


def test_a_mismatch_in_one_shard_fails_the_submission(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr, outputs = submitted
    shards = plan(outputs, tmp_path, monkeypatch)
    for shard in shards:
        outcomes = dict.fromkeys(shard["columns"], "reproduced")
        if shard["shard"] == 3:
            outcomes[shard["columns"][0]] = "mismatch"
        write_artifact(tmp_path / "shards" / artifact_name(shard["shard"]), shard_result(outcomes))

    assert merge_and_report(outputs, tmp_path) == (0, 0)

    assert verify_check(fake, pr.head_sha)[0] == "failure"
    assert "verification-failed" in fake.labels_on(pr.number)


def test_no_shard_result_and_a_failed_matrix_is_an_error(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr, outputs = submitted
    plan(outputs, tmp_path, monkeypatch)

    assert merge_and_report(outputs, tmp_path, "failure") == (0, 0)

    assert not (tmp_path / "merged" / "result.json").exists()
    assert verify_check(fake, pr.head_sha)[0] == "action_required"
    assert "the verify job ended as failure" in verification_section(fake, pr.number)


def test_a_plan_for_requested_columns_skips_unclaimed_work(
    submitted: Submitted, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, outputs = submitted
    outputs["columns"] = json.dumps(["FSD50K", "Beehive"])

    shards = plan(outputs, tmp_path, monkeypatch)

    assert shards == [
        {"shard": 1, "columns": ["Beehive"], "hours": 192.0},
        {"shard": 2, "columns": ["FSD50K"], "hours": 108.0},
    ]


def test_a_stale_plan_runs_no_gpu_shard_and_reports_stale(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr, outputs = submitted
    pushed = fake.commit({"leaderboard.csv": b"x"}, parents=(pr.head_sha,))
    fake.push(pr.number, pushed)

    shards = plan(outputs, tmp_path, monkeypatch)  # the plan's output says stale=true

    # The verify matrix is skipped (its `if:` reads the plan's `stale`): no shard artifact,
    # and the report job passes the skipped job's result.
    assert len(shards) == 1 and len(shards[0]["columns"]) == len(leaderboard_facts().columns)
    assert merge_and_report(outputs, tmp_path, job_result="skipped") == (0, 0)
    assert verify_check(fake, pr.head_sha)[0] == "neutral"
    assert f"**Stale**: the head moved to {pushed}" in verification_section(fake, pr.number)


def test_a_shard_that_finds_the_pr_moved_makes_the_run_stale(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pr, outputs = submitted
    shards = plan(outputs, tmp_path, monkeypatch)  # planned before the push
    pushed = fake.commit({"leaderboard.csv": b"x"}, parents=(pr.head_sha,))
    fake.push(pr.number, pushed)
    assert fetch(outputs, tmp_path / "shard-submission") == 0  # the shard's own fetch
    note = (tmp_path / "shard-submission" / "stale.json").read_bytes()
    write_artifact(tmp_path / "shards" / artifact_name(shards[0]["shard"]), None,
                   **{"stale.json": note})  # fmt: skip
    assert merge_and_report(outputs, tmp_path) == (0, 0)
    assert verify_check(fake, pr.head_sha)[0] == "neutral"


def test_every_shard_rejected_is_an_error_that_points_at_the_log(
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pr, outputs = submitted
    for shard in plan(outputs, tmp_path, monkeypatch):
        folder = tmp_path / "shards" / artifact_name(shard["shard"])
        write_artifact(folder, None, **{"result.json": b'{"a": NaN}'})

    assert merge_and_report(outputs, tmp_path) == (0, 0)

    assert "produced no usable result: its artifact was rejected" in capsys.readouterr().out
    assert verify_check(fake, pr.head_sha)[0] == "action_required"
    assert "no shard left a usable result" in verification_section(fake, pr.number)
