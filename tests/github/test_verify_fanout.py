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


@dataclass
class FanOutRun:
    """A submission PR whose validation passed and whose /verify was accepted (``outputs``: the
    accepting job's columns, pr and sha), going through verify.yml's fan-out jobs."""

    fake: FakeGitHub
    pr: SubmissionPR
    outputs: dict[str, str]
    tmp_path: Path
    monkeypatch: pytest.MonkeyPatch

    @property
    def merged(self) -> Path:
        return self.tmp_path / "merged"

    def plan(self) -> list[dict[str, Any]]:
        """The plan job: fetch-submission, then plan-shards; its matrix entries."""
        submission = self.tmp_path / "submission"
        assert fetch(self.outputs, submission) == 0
        matrix = self.tmp_path / "plan.json"
        github_output = self.tmp_path / "plan_output"
        github_output.write_text("")
        self.monkeypatch.setenv("GITHUB_OUTPUT", str(github_output))
        code = github("plan-shards", "--submission", str(submission),
                      "--columns", self.outputs["columns"], "--max-shards", str(SHARDS),
                      "--hours-per-shard", "", "--output", str(matrix),
                      "--github-output")  # fmt: skip
        assert code == 0
        lines = dict(line.split("=", 1) for line in github_output.read_text().splitlines())
        assert list(lines) == ["matrix", "stale"]
        assert json.loads(lines["matrix"]) == json.loads(matrix.read_text())
        stale = (submission / "stale.json").is_file()
        assert lines["stale"] == ("true" if stale else "false")
        return json.loads(lines["matrix"])["include"]

    def leave(self, shard: int, result: Any = None, **files: bytes) -> None:
        """What one GPU job uploads as its artifact."""
        write_artifact(self.tmp_path / "shards" / artifact_name(shard), result, **files)

    def merge_and_report(self, job_result: str = "success") -> tuple[int, int]:
        """The report job: merge-results, then report-verification --merged; their exit codes."""
        o = self.outputs
        merge = github("merge-results", "--shards", str(self.tmp_path / "shards"),
                       "--planned", str(self.tmp_path / "plan.json"), "--columns", o["columns"],
                       "--pr", o["pr"], "--sha", o["sha"], "--out", str(self.merged))  # fmt: skip
        report = github("report-verification", "--artifact", str(self.merged), "--pr", o["pr"],
                        "--sha", o["sha"], "--job-result", job_result, "--merged")  # fmt: skip
        return merge, report

    def push(self) -> str:
        pushed = self.fake.commit({"leaderboard.csv": b"x"}, parents=(self.pr.head_sha,))
        self.fake.push(self.pr.number, pushed)
        return pushed

    def check(self) -> tuple[str | None, str]:
        return verify_check(self.fake, self.pr.head_sha)

    def section(self) -> str:
        return verification_section(self.fake, self.pr.number)

    def labels(self) -> set[str]:
        return set(self.fake.labels_on(self.pr.number))


@pytest.fixture
def run(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> FanOutRun:
    pr = open_submission(fake)
    return FanOutRun(fake, pr, accepted_verify(fake, tmp_path, pr.number), tmp_path, monkeypatch)


# What one shard's GPU job leaves: a result, the bytes of a result.json, or no artifact at all.
Left = dict[str, Any] | bytes | None


@dataclass(frozen=True)
class FanOut:
    """One plan -> shard artifacts -> merge-results -> report-verification --merged run."""

    name: str
    leaves: Callable[[dict[str, Any]], Left]  # by each planned shard
    job_result: str  # the verify matrix's result, as the report job passes it
    conclusion: str  # of the check run hear-leaderboard / verify
    # the case's own assertions, given the run, the plan's matrix entries and the commands' log
    then: Callable[[FanOutRun, list[dict[str, Any]], str], None]


def reproduced(shard: dict[str, Any]) -> Left:
    return shard_result(dict.fromkeys(shard["columns"], "reproduced"))


def all_but_shard_2(shard: dict[str, Any]) -> Left:
    return None if shard["shard"] == 2 else reproduced(shard)


def mismatch_in_shard_3(shard: dict[str, Any]) -> Left:
    outcomes = dict.fromkeys(shard["columns"], "reproduced")
    if shard["shard"] == 3:
        outcomes[shard["columns"][0]] = "mismatch"
    return shard_result(outcomes)


def one_report_of_every_column(run: FanOutRun, shards: list[dict[str, Any]], log: str) -> None:
    assert [s["shard"] for s in shards] == [1, 2, 3]
    planned = sorted(name for s in shards for name in s["columns"])
    assert planned == sorted(leaderboard_facts().score_columns)  # the row claims them all
    assert run.check() == ("success", "Verified: the claimed scores were reproduced")
    assert len(bot_comments(run.fake, run.pr.number)) == 1
    assert "Reproduced 19 claimed column" in run.section()
    assert "verified" in run.labels()


def errors_on_shard_2s_columns(run: FanOutRun, shards: list[dict[str, Any]], log: str) -> None:
    section = run.section()
    assert "Shard 2" in section and "re-run it with `/verify`" in section
    merged = json.loads((run.merged / "result.json").read_text())
    errors = [c["column"] for c in merged["verification"]["columns"] if c["outcome"] == "error"]
    assert errors == shards[1]["columns"]
    assert "verified" not in run.labels()


def labelled_failed(run: FanOutRun, shards: list[dict[str, Any]], log: str) -> None:
    assert "verification-failed" in run.labels()


def no_result_and_the_job_named(run: FanOutRun, shards: list[dict[str, Any]], log: str) -> None:
    assert not (run.merged / "result.json").exists()
    assert "the verify job ended as failure" in run.section()


def the_log_says_why(run: FanOutRun, shards: list[dict[str, Any]], log: str) -> None:
    assert "produced no usable result: its artifact was rejected" in log
    assert "no shard left a usable result" in run.section()


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
    case: FanOut, run: FanOutRun, capsys: pytest.CaptureFixture[str]
) -> None:
    shards = run.plan()
    for shard in shards:
        left = case.leaves(shard)
        if isinstance(left, bytes):
            run.leave(shard["shard"], None, **{"result.json": left})
        elif left is not None:
            run.leave(shard["shard"], left)

    assert run.merge_and_report(case.job_result) == (0, 0)

    assert run.check()[0] == case.conclusion
    case.then(run, shards, capsys.readouterr().out)


def test_a_plan_for_requested_columns_skips_unclaimed_work(run: FanOutRun) -> None:
    run.outputs["columns"] = json.dumps(["FSD50K", "Beehive"])

    shards = run.plan()

    assert shards == [
        {"shard": 1, "columns": ["Beehive"], "hours": 192.0},
        {"shard": 2, "columns": ["FSD50K"], "hours": 108.0},
    ]


def test_a_stale_plan_runs_no_gpu_shard_and_reports_stale(run: FanOutRun) -> None:
    pushed = run.push()

    shards = run.plan()  # the plan's output says stale=true

    # The verify matrix is skipped (its `if:` reads the plan's `stale`): no shard artifact,
    # and the report job passes the skipped job's result.
    assert len(shards) == 1 and len(shards[0]["columns"]) == len(leaderboard_facts().columns)
    assert run.merge_and_report(job_result="skipped") == (0, 0)
    assert run.check()[0] == "neutral"
    assert f"**Stale**: the head moved to {pushed}" in run.section()


def test_a_shard_that_finds_the_pr_moved_makes_the_run_stale(run: FanOutRun) -> None:
    shards = run.plan()  # planned before the push
    run.push()
    assert fetch(run.outputs, run.tmp_path / "shard-submission") == 0  # the shard's own fetch
    note = (run.tmp_path / "shard-submission" / "stale.json").read_bytes()
    run.leave(shards[0]["shard"], None, **{"stale.json": note})
    assert run.merge_and_report() == (0, 0)
    assert run.check()[0] == "neutral"
