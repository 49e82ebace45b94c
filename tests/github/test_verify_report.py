"""End to end against the fake GitHub: fetch the submission at the accepted SHA, then report
the verify job's artifact (untrusted) as pass, fail, error or stale, as verify.yml does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.common.schemas import leaderboard_facts
from bot.github.artifact import MAX_ARTIFACT_BYTES
from bot.github.sticky import parse_sections
from bot.github.verify_check import VERIFY_CHECK_NAME
from tests.fake_github import FakeGitHub, events
from tests.fake_github.scenario import (
    BASE_CSV,
    accept_command,
    bot_comments,
    github,
    manifest,
    open_submission,
    score_row,
)
from tests.github.verification_result import verification_result, write_artifact

MAINTAINER = "maintainer"


def accepted_verify(fake: FakeGitHub, tmp_path: Path, number: int) -> dict[str, str]:
    fake.set_role(MAINTAINER, "write")
    payload = events.issue_comment(number, MAINTAINER, "/verify")
    code, outputs = accept_command(tmp_path, "issue_comment", payload)
    assert code == 0 and outputs["action"] == "verify"
    return outputs


def fetch(outputs: dict[str, str], out: Path) -> int:
    return github("fetch-submission", "--pr", outputs["pr"], "--sha", outputs["sha"],
                  "--columns", outputs["columns"], "--out", str(out))  # fmt: skip


def report(outputs: dict[str, str], artifact: Path, job_result: str = "success") -> int:
    return github("report-verification", "--artifact", str(artifact), "--pr", outputs["pr"],
                  "--sha", outputs["sha"], "--job-result", job_result)  # fmt: skip


def verify_check(fake: FakeGitHub, sha: str) -> tuple[str | None, str]:
    (run,) = [r for r in fake.check_runs_on(sha) if r.name == VERIFY_CHECK_NAME]
    return run.conclusion, run.output["title"] or ""


def verification_section(fake: FakeGitHub, number: int) -> str:
    (comment,) = bot_comments(fake, number)
    return parse_sections(comment.body)["verification"]


def test_maintainer_verify_runs_against_the_accepted_commit_and_passes(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    submission = tmp_path / "submission"

    assert fetch(outputs, submission) == 0

    assert sorted(p.name for p in submission.iterdir()) == [
        "base.csv", "head.csv", "manifest.json", "tasks.txt"
    ]  # fmt: skip
    assert (submission / "base.csv").read_bytes() == BASE_CSV
    assert (submission / "head.csv").read_bytes().endswith(score_row().encode())
    assert (submission / "manifest.json").read_bytes() == manifest()
    contents_reads = [r.query.get("ref", [""])[0] for r in fake.log if "/contents/" in r.path]
    assert pr.head_sha in contents_reads and pr.base_sha in contents_reads
    artifact = write_artifact(tmp_path / "artifact", verification_result("pass"))

    assert report(outputs, artifact) == 0

    assert verify_check(fake, pr.head_sha) == (
        "success",
        "Verified: the claimed scores were reproduced",
    )
    assert "verified" in fake.labels_on(pr.number)
    section = verification_section(fake, pr.number)
    assert "Verified" in section and pr.head_sha[:12] in section


def test_columns_travel_to_the_tasks_file(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "write")
    first, second = leaderboard_facts().score_columns[1:3]
    payload = events.issue_comment(pr.number, MAINTAINER, f"/verify {first}, {second}")
    _, outputs = accept_command(tmp_path, "issue_comment", payload)

    assert fetch(outputs, tmp_path / "submission") == 0

    assert (tmp_path / "submission" / "tasks.txt").read_text() == f"{first}\n{second}\n"


def test_push_before_the_fetch_is_stale_and_nothing_is_verified(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    fake.label_pull(pr.number, "verified")  # from an earlier commit
    pushed = fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.head_sha,))
    fake.push(pr.number, pushed)
    submission = tmp_path / "submission"

    assert fetch(outputs, submission) == 0

    assert [p.name for p in submission.iterdir()] == ["stale.json"]
    stale = json.loads((submission / "stale.json").read_text())
    assert stale == {"pr": pr.number, "sha": pr.head_sha, "current_head_sha": pushed}
    artifact = write_artifact(
        tmp_path / "artifact", None, **{"stale.json": (submission / "stale.json").read_bytes()}
    )

    assert report(outputs, artifact) == 0

    assert verify_check(fake, pr.head_sha)[0] == "neutral"
    assert fake.check_runs_on(pushed) == []
    assert "verified" not in fake.labels_on(pr.number)
    assert "Stale" in verification_section(fake, pr.number)


def test_push_while_fetching_is_stale(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    pushed = fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.head_sha,))

    def push_during_the_fetch(record: object) -> None:
        if getattr(record, "operation_id", None) == "pulls/list-files":
            fake.push(pr.number, pushed)

    fake.hooks.append(push_during_the_fetch)

    assert fetch(outputs, tmp_path / "submission") == 0

    assert [p.name for p in (tmp_path / "submission").iterdir()] == ["stale.json"]


def test_push_after_the_run_reports_stale_for_the_old_sha(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    assert fetch(outputs, tmp_path / "submission") == 0
    pushed = fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.head_sha,))
    fake.push(pr.number, pushed)
    artifact = write_artifact(tmp_path / "artifact", verification_result("pass"))

    assert report(outputs, artifact) == 0

    assert verify_check(fake, pr.head_sha)[0] == "neutral"
    assert fake.check_runs_on(pushed) == []
    assert "verified" not in fake.labels_on(pr.number)


def test_failed_verification_is_a_failure(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    artifact = write_artifact(tmp_path / "artifact", verification_result("fail", reason="off"))

    assert report(outputs, artifact) == 0

    assert verify_check(fake, pr.head_sha)[0] == "failure"
    assert "verification-failed" in fake.labels_on(pr.number)


@pytest.mark.parametrize("job_result", ["failure", "cancelled", "skipped"])
def test_a_job_that_did_not_succeed_is_an_error_never_a_pass(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, job_result: str
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    artifact = write_artifact(tmp_path / "artifact", verification_result("pass"))

    assert report(outputs, artifact, job_result) == 0

    assert verify_check(fake, pr.head_sha)[0] == "action_required"
    section = verification_section(fake, pr.number)
    assert job_result in section and "re-run it with `/verify`" in section
    assert "verified" not in fake.labels_on(pr.number)


def test_no_artifact_is_an_error(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)

    assert report(outputs, tmp_path / "never-downloaded", "failure") == 0

    assert verify_check(fake, pr.head_sha)[0] == "action_required"


def _oversized() -> bytes:
    """A valid result padded with whitespace (still valid JSON) past the size limit."""
    return json.dumps(verification_result("pass")).encode() + b" " * MAX_ARTIFACT_BYTES


def _another_pr(number: int, sha: str) -> dict:
    result = verification_result("pass")
    result["pull_request"] = {"repository": "o/r", "number": number + 1,
                              "head_sha": sha, "base_sha": sha}  # fmt: skip
    return result


@pytest.mark.parametrize(
    ("make", "extra", "problem"),
    [
        (lambda pr: None, {"result.json": _oversized()}, "more than"),
        (lambda pr: {**verification_result("pass"), "verdict": "pass"}, {}, "result.schema.json"),
        (
            lambda pr: {**verification_result("pass"), "kind": "validation"},
            {},
            "not a verification",
        ),
        (lambda pr: verification_result("pass"), {"report.md": b"hi"}, "unexpected file"),
        (lambda pr: verification_result("pass"), {"..evil": b"x"}, "unexpected file"),
        (lambda pr: _another_pr(pr.number, pr.head_sha), {}, "claims another pull request"),
        (lambda pr: None, {"result.json": b'{"a": NaN}'}, "not strict JSON"),
        (lambda pr: None, {"result.json": b'{"a": 1, "a": 2}'}, "not strict JSON"),
        (
            lambda pr: None,
            {"stale.json": b'{"pr": 99, "sha": "x", "current_head_sha": "y"}'},
            "claims another pull request",
        ),
    ],
    ids=[
        "oversized",
        "schema",
        "kind",
        "extra-file",
        "odd-name",
        "another-pr",
        "nan",
        "duplicate-key",
        "stale-another-pr",
    ],
)
def test_bad_artifacts_are_rejected_as_errors(
    fake: FakeGitHub,
    github_env: dict[str, str],
    tmp_path: Path,
    make: object,
    extra: dict[str, bytes],
    problem: str,
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    artifact = write_artifact(tmp_path / "artifact", make(pr), **extra)  # type: ignore[operator]

    assert report(outputs, artifact) == 0

    assert verify_check(fake, pr.head_sha)[0] == "action_required"
    section = verification_section(fake, pr.number)
    assert "rejected" in section and problem in section.replace("\\", "")
    assert "verified" not in fake.labels_on(pr.number)


def test_the_oversized_artifact_is_valid_but_for_its_size(tmp_path: Path) -> None:
    from bot.github.artifact import read_artifact

    data = json.loads(_oversized())
    assert data == verification_result("pass")
    artifact = write_artifact(tmp_path, data)
    assert read_artifact(artifact, 1, "a" * 40).result == data


def test_symlink_in_the_artifact_is_rejected(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps(verification_result("pass")))
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    (artifact / "result.json").symlink_to(secret)

    assert report(outputs, artifact) == 0

    assert verify_check(fake, pr.head_sha)[0] == "action_required"
    assert "not a plain file" in verification_section(fake, pr.number)


def test_api_5xx_while_reporting_exits_3_and_marks_nothing(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    artifact = write_artifact(tmp_path / "artifact", verification_result("pass"))
    fake.fail(1000, 503, path_contains=f"/pulls/{pr.number}")

    assert report(outputs, artifact) == 3

    assert "infrastructure" in capsys.readouterr().err
    assert fake.writes() == []
    assert "verified" not in fake.labels_on(pr.number)


def test_api_5xx_while_fetching_exits_3(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted_verify(fake, tmp_path, pr.number)
    fake.fail(1000, 502, path_contains="/contents/")

    assert fetch(outputs, tmp_path / "submission") == 3

    assert not (tmp_path / "submission" / "head.csv").exists()


def test_pr_without_exactly_one_manifest_cannot_be_fetched(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake, files={"leaderboard.csv": BASE_CSV + b"\n" + score_row().encode()})
    outputs = accepted_verify(fake, tmp_path, pr.number)

    assert fetch(outputs, tmp_path / "submission") == 1

    assert not (tmp_path / "submission").exists() or not any((tmp_path / "submission").iterdir())


def test_verification_keeps_the_other_sections(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    assert github("report-validation", "--pr", str(pr.number)) == 0
    outputs = accepted_verify(fake, tmp_path, pr.number)
    assert github("acknowledge", "--decision", outputs["decision"]) == 0
    before = parse_sections(bot_comments(fake, pr.number)[0].body)
    artifact = write_artifact(tmp_path / "artifact", verification_result("pass"))

    assert report(outputs, artifact) == 0
    assert github("report-validation", "--pr", str(pr.number)) == 0

    (comment,) = bot_comments(fake, pr.number)
    after = parse_sections(comment.body)
    assert list(after) == ["validation", "commands", "status", "verification"]
    assert "Result: `pass`" in after["status"]
    assert after["validation"] == before["validation"]
    assert after["commands"] == before["commands"]
