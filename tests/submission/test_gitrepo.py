"""Validating from git (`hearbot validate --repo PATH --base REF --head REF`) on throwaway repos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.cli import main
from bot.submission.gitrepo import GitError, submission_from_git
from bot.submission.validate import ChangedFile, validate
from tests.rowgen import (
    BASE,
    EXAMPLE_MANIFEST_BYTES,
    EXAMPLE_MANIFEST_PATH,
    EXAMPLE_ROW,
    NEW_LINE,
    TODAY,
    append,
    error_codes,
    make_row,
)

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

IDENTITY = [
    "-c",
    "user.name=Test",
    "-c",
    "user.email=test@example.invalid",
    "-c",
    "commit.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
]


def git(repo: Path, *args: str) -> str:
    completed = subprocess.run(
        ["git", *IDENTITY, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return completed.stdout.strip()


def commit(repo: Path, files: dict[str, bytes | None], message: str) -> None:
    for name, data in files.items():
        path = repo / name
        if data is None:
            git(repo, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path):
    """A repository whose main branch holds today's leaderboard, and a `pr` branch off it."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    commit(path, {"leaderboard.csv": BASE, "README.md": b"# HEAR\n"}, "leaderboard")
    git(path, "branch", "pr")
    return path


def on_pr(repo: Path, files: dict[str, bytes | None], message: str = "submission") -> None:
    git(repo, "checkout", "-q", "pr")
    commit(repo, files, message)
    git(repo, "checkout", "-q", "main")


def validate_git(repo: Path, base: str = "main", head: str = "pr"):
    return validate(submission_from_git(repo, base, head), today=TODAY)


def good_submission() -> dict[str, bytes]:
    return {"leaderboard.csv": append(EXAMPLE_ROW), EXAMPLE_MANIFEST_PATH: EXAMPLE_MANIFEST_BYTES}


def test_valid_submission(repo):
    on_pr(repo, good_submission())
    submission = submission_from_git(repo, "main", "pr")
    assert set(submission.changed_files) == {
        ChangedFile("leaderboard.csv", "modified"),
        ChangedFile(EXAMPLE_MANIFEST_PATH, "added"),
    }
    assert submission.manifests == {EXAMPLE_MANIFEST_PATH: EXAMPLE_MANIFEST_BYTES}
    result = validate(submission, today=TODAY)
    assert result["ok"] is True, result["errors"]
    assert result["warnings"] == []
    assert result["checked"] == {"manifest": True, "changed_files": True}
    assert result["submission"]["manifest_path"] == EXAMPLE_MANIFEST_PATH
    assert result["submission"]["line"] == NEW_LINE


def test_extra_changed_file_is_unexpected(repo):
    on_pr(repo, {**good_submission(), "README.md": b"# HEAR, improved\n", "bot/x.py": b"x = 1\n"})
    result = validate_git(repo)
    assert error_codes(result) == {"unexpected-file"}
    messages = sorted(f["message"] for f in result["errors"])
    assert messages == [
        "The pull request changes README.md (modified).",
        "The pull request changes bot/x.py (added).",
    ]


def test_deleting_a_file_is_unexpected(repo):
    on_pr(repo, {**good_submission(), "README.md": None})
    result = validate_git(repo)
    assert error_codes(result) == {"unexpected-file"}
    assert "README.md (removed)" in result["errors"][0]["message"]


def test_manifest_with_the_wrong_slug(repo):
    on_pr(
        repo,
        {"leaderboard.csv": append(EXAMPLE_ROW), "submissions/naive.json": EXAMPLE_MANIFEST_BYTES},
    )
    result = validate_git(repo)
    assert error_codes(result) == {"manifest-missing"}
    (finding,) = result["errors"]
    assert f"must be named {EXAMPLE_MANIFEST_PATH}" in finding["message"]
    assert "adds submissions/naive.json instead" in finding["message"]
    command = finding["fix"].split("`")[1]
    assert command == f"git mv submissions/naive.json {EXAMPLE_MANIFEST_PATH}"

    # The fix, pasted as it is, makes the submission valid.
    git(repo, "checkout", "-q", "pr")
    git(repo, *command.split()[1:])
    git(repo, "commit", "-q", "-m", "rename the manifest")
    git(repo, "checkout", "-q", "main")
    assert validate_git(repo)["ok"] is True


def test_no_manifest_at_all(repo):
    on_pr(repo, {"leaderboard.csv": append(EXAMPLE_ROW)})
    result = validate_git(repo)
    assert error_codes(result) == {"manifest-missing"}


def test_base_moved_on_after_branching(repo):
    on_pr(repo, good_submission())
    # Meanwhile another submission is merged into main.
    other = make_row(model="Other Lab OtherNet", date="2026-11-21")
    commit(repo, {"leaderboard.csv": append(other)}, "another submission")
    result = validate_git(repo)
    assert result["ok"] is True, result["errors"]
    assert result["submission"]["line"] == NEW_LINE  # relative to the merge base


def test_cli_git_mode(repo, capsys):
    on_pr(repo, good_submission())
    status = main(
        [
            "validate",
            "--repo",
            str(repo),
            "--base",
            "main",
            "--head",
            "pr",
            "--format",
            "json",
            "--today",
            "2026-11-26",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert status == 0
    assert result["ok"] is True and result["checked"]["changed_files"] is True


def test_cli_git_mode_rejected(repo, capsys):
    on_pr(repo, {**good_submission(), "leaderboard.csv": append(EXAMPLE_ROW) + b"\n"})
    status = main(
        [
            "validate",
            "--repo",
            str(repo),
            "--base",
            "main",
            "--head",
            "pr",
            "--format",
            "json",
            "--today",
            "2026-11-26",
        ]
    )
    assert status == 1
    assert [f["code"] for f in json.loads(capsys.readouterr().out)["errors"]] == [
        "trailing-newline"
    ]


@pytest.mark.parametrize("ref", ["no-such-branch", "--output=x", "-h"])
def test_bad_refs_are_usage_errors(repo, capsys, ref):
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "--repo", str(repo), "--base", "main", f"--head={ref}"])
    assert exit_info.value.code == 2
    assert "is not a" in capsys.readouterr().err


def test_leaderboard_missing_at_the_merge_base(tmp_path):
    path = tmp_path / "empty"
    path.mkdir()
    git(path, "init", "-q")
    commit(path, {"README.md": b"x\n"}, "first")
    git(path, "branch", "pr")
    with pytest.raises(GitError, match=r"leaderboard\.csv does not exist at the merge base"):
        submission_from_git(path, "main", "pr")
