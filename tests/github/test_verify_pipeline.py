"""verify.yml's chain with the real verifier in the middle, against the fake GitHub: a
maintainer's `/verify` is accepted for the PR's head, the submission is fetched at that SHA, the
pinned wheel is installed and run in the sandbox, and the report job posts the result for that
same commit."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main
from bot.common.schemas import leaderboard_facts
from bot.demo import STAND_INS, build_example_wheel, manifest, row
from bot.github.sticky import parse_sections
from bot.github.verify_check import VERIFY_CHECK_NAME
from bot.hear.synth import write_tasks
from bot.submission.leaderboard.names import slug
from tests.fake_github import FakeGitHub, events
from tests.fake_github.scenario import (
    BASE_CSV,
    TOKEN,
    accept_command,
    bot_comments,
    github,
    open_submission,
)

COLUMN = "ESC-50"
MODEL = "Acme Net"

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="needs bubblewrap")


def test_a_maintainer_verify_runs_the_real_verifier_on_the_accepted_commit(
    fake: FakeGitHub,
    github_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tasks = tmp_path / "tasks"
    write_tasks(tasks, (16000,), 0, ("synth_tones",))
    wheel = build_example_wheel(tmp_path / "dist")
    not_run = [name for name in leaderboard_facts().score_columns if name != COLUMN]
    document = manifest(MODEL, wheel, not_run)
    claim = row(MODEL, {COLUMN: Decimal("0.25")})  # far below what the model gets
    pr = open_submission(
        fake,
        files={
            "leaderboard.csv": BASE_CSV + b"\n" + claim.encode(),
            f"submissions/{slug(MODEL)}.json": json.dumps(document).encode(),
        },
    )
    fake.set_role("maintainer", "maintain")
    payload = events.issue_comment(pr.number, "maintainer", f"/verify {COLUMN}")
    code, outputs = accept_command(tmp_path, "issue_comment", payload)
    assert code == 0 and outputs["action"] == "verify" and outputs["sha"] == pr.head_sha

    submission = tmp_path / "submission"
    assert github("fetch-submission", "--pr", outputs["pr"], "--sha", outputs["sha"],
                  "--columns", outputs["columns"], "--out", str(submission)) == 0  # fmt: skip

    # The verify step, as in verify.yml: no token in its environment.
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    columns = (submission / "tasks.txt").read_text().split()
    assert columns == [COLUMN]
    code = main(
        [
            "verify",
            f"--base-file={submission / 'base.csv'}",
            f"--head-file={submission / 'head.csv'}",
            f"--manifest={submission / 'manifest.json'}",
            f"--tasks-dir={tasks}",
            f"--work={tmp_path / 'work'}",
            f"--out={tmp_path / 'verification'}",
            f"--find-links={wheel.parent}",
            f"--stand-in={COLUMN}={STAND_INS[COLUMN]}",
            "--max-epochs=20",
            "--seeds=1",  # one member: the interval is its score ± the floor (the rule's K = 1)
            "--device=cpu",
            "--tasks",
            *columns,
        ]
    )
    assert code == 0
    artifact = tmp_path / "artifact"
    artifact.mkdir()
    shutil.copy(tmp_path / "verification" / "result.json", artifact)

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    assert github("report-verification", "--artifact", str(artifact), "--pr", outputs["pr"],
                  "--sha", outputs["sha"], "--job-result", "success") == 0  # fmt: skip

    (check,) = [r for r in fake.check_runs_on(pr.head_sha) if r.name == VERIFY_CHECK_NAME]
    assert check.conclusion == "success"
    (comment,) = bot_comments(fake, pr.number)
    section = parse_sections(comment.body)["verification"]
    assert pr.head_sha[:12] in section and "bubblewrap" in section
