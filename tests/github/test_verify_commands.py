"""End to end against the fake GitHub: who may start, cancel or override a GPU verification.

Each test builds a webhook-shaped event (checked against @octokit/webhooks-schemas), runs
``accept-command`` and then ``acknowledge`` with the decision it wrote, as verify.yml does, and
asserts what a maintainer would see: the job outputs, the sticky comment, check runs, runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.common.schemas import leaderboard_facts
from bot.github.sticky import parse_sections
from bot.github.verify_check import VERIFY_CHECK_NAME
from tests.fake_github import FakeGitHub, events
from tests.fake_github.scenario import (
    BASE_CSV,
    accept_command,
    bot_comments,
    github,
    open_submission,
)

MAINTAINER = "maintainer"


def comment_command(
    fake: FakeGitHub, tmp_path: Path, number: int, body: str, login: str = MAINTAINER, **kw: object
) -> dict[str, str]:
    code, outputs = accept_command(
        tmp_path, "issue_comment", events.issue_comment(number, login, body, **kw)
    )
    assert code == 0
    return outputs


def acknowledge(outputs: dict[str, str]) -> int:
    return github("acknowledge", "--decision", outputs["decision"])


def commands_section(fake: FakeGitHub, number: int) -> str:
    (comment,) = bot_comments(fake, number)
    return parse_sections(comment.body)["commands"]


@pytest.mark.parametrize("role", ["write", "maintain", "admin"])
def test_maintainer_verify_is_bound_to_the_current_head(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, role: str
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, role)

    outputs = comment_command(fake, tmp_path, pr.number, "/verify")

    assert outputs["action"] == "verify"
    assert (outputs["pr"], outputs["sha"]) == (str(pr.number), pr.head_sha)
    assert outputs["requester"] == MAINTAINER and json.loads(outputs["columns"]) == []
    assert acknowledge(outputs) == 0
    section = commands_section(fake, pr.number)
    assert "/verify" in section and pr.head_sha[:12] in section and MAINTAINER in section
    assert "2024-05-01T12:00:00Z" in section  # when: the comment's own time
    assert "waiting for the `gpu-verification` environment approval" in section


def test_verify_with_columns_names_them(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "write")
    first, second = leaderboard_facts().score_columns[:2]

    outputs = comment_command(fake, tmp_path, pr.number, f"/verify {second.upper()}, {first}")

    assert json.loads(outputs["columns"]) == [second, first]
    assert acknowledge(outputs) == 0
    assert second in commands_section(fake, pr.number)


@pytest.mark.parametrize("role", [None, "read", "triage"])
def test_non_maintainer_gets_a_polite_reply_and_nothing_runs(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, role: str | None
) -> None:
    pr = open_submission(fake)
    if role:
        fake.set_role("mallory", role)
    else:
        fake.add_user("mallory")

    outputs = comment_command(fake, tmp_path, pr.number, "/verify", login="mallory")

    assert outputs["action"] == "deny"
    assert outputs["sha"] == ""  # nothing bound, nothing to run
    assert acknowledge(outputs) == 0
    assert "only maintainers with write access can start a verification" in commands_section(
        fake, pr.number
    )
    assert "nothing was run" in commands_section(fake, pr.number)
    assert fake.check_runs_on(pr.head_sha) == []
    permission_reads = [r for r in fake.log if r.operation_id and "permission" in r.operation_id]
    assert len(permission_reads) == 1  # asked of the API, not of author_association


@pytest.mark.parametrize(
    ("login", "kw"),
    [
        ("dependabot[bot]", {}),
        ("renovate", {"user_type": "Bot"}),
        (MAINTAINER, {"action": "edited"}),
        (MAINTAINER, {"on_pull_request": False}),
    ],
    ids=["bot-login", "bot-type", "edited", "plain-issue"],
)
def test_bots_edits_and_plain_issues_are_ignored(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, login: str, kw: dict
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "admin")
    fake.set_role(login, "admin")

    outputs = comment_command(fake, tmp_path, pr.number, "/verify", login=login, **kw)

    assert outputs["action"] == "ignore"
    assert fake.log == []  # not even a permission read
    assert acknowledge(outputs) == 0
    assert fake.writes() == []


def test_ordinary_comments_are_ignored_without_a_reply(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    for body in ["Thanks! Looks good.", "please /verify this", "", "/ verify", "//verify"]:
        assert comment_command(fake, tmp_path, pr.number, body)["action"] == "ignore"
    assert fake.log == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("/verfy", "unknown command /verfy"),
        ("/verify Nonexistent Task", "is not a leaderboard column"),
        ("/override maybe because", "needs `accept` or `reject`"),
        ("/override accept", "needs a reason"),
        ("/verify-cancel now", "takes nothing"),
    ],
)
def test_unknown_or_malformed_commands_get_help(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, body: str, problem: str
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "write")

    outputs = comment_command(fake, tmp_path, pr.number, body)

    assert outputs["action"] == "help"
    assert problem in json.loads(outputs["decision"])["note"]
    assert acknowledge(outputs) == 0
    section = commands_section(fake, pr.number)
    assert "/verify COLUMN, COLUMN" in section and "/override accept REASON" in section
    assert fake.check_runs_on(pr.head_sha) == []


@pytest.mark.parametrize(("verdict", "conclusion", "label"), [
    ("accept", "success", "verified"),
    ("reject", "failure", "verification-failed"),
])  # fmt: skip
def test_override_records_who_and_when_and_sets_the_check(
    fake: FakeGitHub,
    github_env: dict[str, str],
    tmp_path: Path,
    verdict: str,
    conclusion: str,
    label: str,
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "maintain")
    fake.label_pull(pr.number, "verified", "verification-failed")

    outputs = comment_command(
        fake, tmp_path, pr.number, f"/override {verdict} GPU node flaky; reproduced by hand @team"
    )

    assert outputs["action"] == "override" and outputs["sha"] == pr.head_sha
    assert acknowledge(outputs) == 0
    (run,) = fake.check_runs_on(pr.head_sha)
    assert (run.name, run.conclusion) == (VERIFY_CHECK_NAME, conclusion)
    assert f"overridden: {verdict}ed by {MAINTAINER}" in run.output["title"]
    assert "2024-05-01T12:00:00Z" in run.output["summary"]
    section = commands_section(fake, pr.number)
    assert MAINTAINER in section and "2024-05-01T12:00:00Z" in section and "flaky" in section
    assert "@team" not in section  # the reason cannot mention anyone
    assert [n for n in fake.labels_on(pr.number) if "verif" in n] == [label]
    # the durable evidence the publish workflow binds to the merged row
    files = fake.commits[fake.branches["hearbot-evidence"]].files
    (path,) = [p for p in files if p.startswith("records/")]
    record = json.loads(files[path])
    assert record["kind"] == "override" and record["pull_request"]["head_sha"] == pr.head_sha
    reason = "GPU node flaky; reproduced by hand @team"
    assert record["override"] == {"decision": verdict, "by": MAINTAINER, "reason": reason}


def test_verify_cancel_cancels_this_prs_runs_only(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "write")
    waiting = fake.add_workflow_run(
        "verify.yml", f"hearbot verify PR #{pr.number}", status="waiting"
    )
    running = fake.add_workflow_run(
        "verify.yml", f"hearbot verify PR #{pr.number}", status="in_progress"
    )
    other_pr = fake.add_workflow_run("verify.yml", f"hearbot verify PR #{pr.number}0")
    other_workflow = fake.add_workflow_run("report.yml", f"hearbot verify PR #{pr.number}")
    own = fake.add_workflow_run(
        "verify.yml", f"hearbot verify PR #{pr.number}", status="in_progress"
    )
    monkeypatch.setenv("GITHUB_RUN_ID", str(own))

    outputs = comment_command(fake, tmp_path, pr.number, "/verify-cancel")

    assert outputs["action"] == "cancel"
    assert acknowledge(outputs) == 0
    status = {run_id: fake.workflow_runs[run_id].conclusion for run_id in fake.workflow_runs}
    assert status[waiting] == status[running] == "cancelled"
    assert status[other_pr] is status[other_workflow] is status[own] is None
    assert "2 verification run(s) cancelled" in commands_section(fake, pr.number)


def test_command_log_keeps_the_validation_section_and_the_last_entries(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "write")
    assert github("report-validation", "--pr", str(pr.number)) == 0
    validation = parse_sections(bot_comments(fake, pr.number)[0].body)["validation"]

    for index in range(12):
        assert acknowledge(comment_command(fake, tmp_path, pr.number, f"/verfy{index}")) == 0

    (comment,) = bot_comments(fake, pr.number)
    sections = parse_sections(comment.body)
    assert sections["validation"] == validation
    entries = [line for line in sections["commands"].splitlines() if line.startswith("- ")]
    assert len(entries) == 10 and "verfy11" in entries[-1] and "verfy2" in entries[0]


def test_workflow_dispatch_with_the_current_head_is_accepted(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "admin")
    column = leaderboard_facts().score_columns[3]
    payload = events.workflow_dispatch(
        MAINTAINER, {"pr": str(pr.number), "head_sha": pr.head_sha, "columns": column}
    )

    code, outputs = accept_command(tmp_path, "workflow_dispatch", payload)

    assert code == 0
    assert (outputs["action"], outputs["sha"]) == ("verify", pr.head_sha)
    assert json.loads(outputs["columns"]) == [column]


def test_workflow_dispatch_for_an_old_head_is_refused_as_stale(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "admin")
    newer = fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.head_sha,))
    fake.push(pr.number, newer)
    payload = events.workflow_dispatch(MAINTAINER, {"pr": str(pr.number), "head_sha": pr.head_sha})

    code, outputs = accept_command(tmp_path, "workflow_dispatch", payload)

    assert (code, outputs["action"]) == (0, "stale")
    assert acknowledge(outputs) == 0
    section = commands_section(fake, pr.number)
    assert "refused" in section and newer[:12] in section and "nothing was run" in section


@pytest.mark.parametrize(
    "inputs",
    [
        {"pr": "0", "head_sha": "a" * 40},
        {"pr": "1; echo PWNED", "head_sha": "a" * 40},
        {"pr": "1", "head_sha": "A" * 40},
        {"pr": "1", "head_sha": "a" * 40 + "\nsha=" + "b" * 40},
        {"pr": "1", "head_sha": "a" * 40, "columns": "Not A Column"},
    ],
)
def test_workflow_dispatch_inputs_are_validated(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, inputs: dict[str, str]
) -> None:
    open_submission(fake)
    payload = events.workflow_dispatch(MAINTAINER, inputs)

    code, outputs = accept_command(tmp_path, "workflow_dispatch", payload)

    assert code == 2 and outputs == {}
    assert fake.log == []


def test_newline_in_a_comment_cannot_add_job_outputs(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.set_role(MAINTAINER, "write")
    body = "/override accept fine\nsha=" + "b" * 40 + "\naction=verify"

    outputs = comment_command(fake, tmp_path, pr.number, body)

    assert outputs["action"] == "override" and outputs["sha"] == pr.head_sha
    assert json.loads(outputs["decision"])["note"] == "fine"


def test_permission_api_failure_exits_3(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.fail(1000, 502, path_contains="/permission")

    code, outputs = accept_command(
        tmp_path, "issue_comment", events.issue_comment(pr.number, MAINTAINER, "/verify")
    )

    assert code == 3 and outputs == {}
