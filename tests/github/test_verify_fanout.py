"""End to end against the fake GitHub, as verify.yml's fan-out does it: fetch and plan the
shards, one synthetic result per GPU shard, merge-results, then report-verification --merged:
one sticky comment section and one check run, whatever the shards did."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.github.shard_artifacts import artifact_name
from bot.schemas import leaderboard_facts
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


@dataclass(frozen=True)
class Seen:
    """What a fan-out left behind, for a case's own assertions."""

    fake: FakeGitHub
    pr: SubmissionPR
    shards: list[dict[str, Any]]  # the plan's matrix entries
    merged: Path  # merge-results' output folder
    log: str  # what the commands printed

    def section(self) -> str:
        return verification_section(self.fake, self.pr.number)


# What one shard's GPU job leaves: a result, the bytes of a result.json, or no artifact at all.
Left = dict[str, Any] | bytes | None


@dataclass(frozen=True)
class FanOut:
    """One plan -> shard artifacts -> merge-results -> report-verification --merged run."""

    name: str
    leaves: Callable[[dict[str, Any]], Left]  # by each planned shard
    job_result: str  # the verify matrix's result, as the report job passes it
    conclusion: str  # of the check run hear-leaderboard / verify
    then: Callable[[Seen], None]


def reproduced(shard: dict[str, Any]) -> Left:
    return shard_result(dict.fromkeys(shard["columns"], "reproduced"))


def all_but_shard_2(shard: dict[str, Any]) -> Left:
    return None if shard["shard"] == 2 else reproduced(shard)


def mismatch_in_shard_3(shard: dict[str, Any]) -> Left:
    outcomes = dict.fromkeys(shard["columns"], "reproduced")
    if shard["shard"] == 3:
        outcomes[shard["columns"][0]] = "mismatch"
    return shard_result(outcomes)


def one_report_of_every_column(seen: Seen) -> None:
    assert [s["shard"] for s in seen.shards] == [1, 2, 3]
    planned = sorted(name for s in seen.shards for name in s["columns"])
    assert planned == sorted(leaderboard_facts().score_columns)  # the row claims them all
    assert verify_check(seen.fake, seen.pr.head_sha) == (
        "success",
        "Verified: the claimed scores were reproduced",
    )
    assert len(bot_comments(seen.fake, seen.pr.number)) == 1
    assert "Reproduced 19 claimed column" in seen.section()
    assert "verified" in seen.fake.labels_on(seen.pr.number)


def errors_on_shard_2s_columns(seen: Seen) -> None:
    section = seen.section()
    assert "Shard 2" in section and "re-run it with `/verify`" in section
    merged = json.loads((seen.merged / "result.json").read_text())
    errors = [c["column"] for c in merged["verification"]["columns"] if c["outcome"] == "error"]
    assert errors == seen.shards[1]["columns"]
    assert "verified" not in seen.fake.labels_on(seen.pr.number)


def labelled_failed(seen: Seen) -> None:
    assert "verification-failed" in seen.fake.labels_on(seen.pr.number)


def no_result_and_the_job_named(seen: Seen) -> None:
    assert not (seen.merged / "result.json").exists()
    assert "the verify job ended as failure" in seen.section()


def the_log_says_why(seen: Seen) -> None:
    assert "produced no usable result: its artifact was rejected" in seen.log
    assert "no shard left a usable result" in seen.section()


FAN_OUTS = [
    FanOut("three shards merge into one report", reproduced, "success", "success",
           one_report_of_every_column),
    # the matrix job's result is `failure` because shard 2 failed; the merge accounts for it
    FanOut("a failed shard is an error on its columns only", all_but_shard_2, "failure",
           "action_required", errors_on_shard_2s_columns),
    FanOut("a mismatch in one shard fails the submission", mismatch_in_shard_3, "success",
           "failure", labelled_failed),
    FanOut("no shard result and a failed matrix is an error", lambda shard: None, "failure",
           "action_required", no_result_and_the_job_named),
    FanOut("every shard rejected is an error that points at the log",
           lambda shard: b'{"a": NaN}', "success", "action_required", the_log_says_why),
]  # fmt: skip


@pytest.mark.parametrize("case", FAN_OUTS, ids=[case.name.replace(" ", "-") for case in FAN_OUTS])
def test_the_shards_merge_into_one_report(
    case: FanOut,
    fake: FakeGitHub,
    submitted: Submitted,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pr, outputs = submitted
    shards = plan(outputs, tmp_path, monkeypatch)
    for shard in shards:
        left = case.leaves(shard)
        folder = tmp_path / "shards" / artifact_name(shard["shard"])
        if isinstance(left, bytes):
            write_artifact(folder, None, **{"result.json": left})
        elif left is not None:
            write_artifact(folder, left)

    assert merge_and_report(outputs, tmp_path, case.job_result) == (0, 0)

    assert verify_check(fake, pr.head_sha)[0] == case.conclusion
    case.then(Seen(fake, pr, shards, tmp_path / "merged", capsys.readouterr().out))


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
