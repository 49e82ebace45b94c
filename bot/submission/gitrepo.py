"""Reading a submission out of a local git repository (`hearbot validate --repo`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bot.submission.manifest import MANIFEST_DIR
from bot.submission.validate import LEADERBOARD_PATH, ChangedFile, Submission

_STATUS = {"A": "added", "M": "modified", "D": "removed", "T": "changed"}


class GitError(RuntimeError):
    pass


def _git(repo: Path, *args: str) -> bytes:
    try:
        completed = subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=False, timeout=60
        )
    except FileNotFoundError as exc:
        raise GitError("git is not installed") from exc
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip()
        raise GitError(f"git {' '.join(args)} failed: {detail}")
    return completed.stdout


def resolve(repo: Path, ref: str) -> str:
    if ref.startswith("-"):
        raise GitError(f"{ref!r} is not a git revision")
    try:
        return _git(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
    except GitError as exc:
        raise GitError(f"{ref!r} is not a commit in {repo}") from exc


def file_at(repo: Path, commit: str, path: str) -> bytes | None:
    listing = _git(repo, "ls-tree", "-z", commit, "--", path)
    if not listing:
        return None
    return _git(repo, "cat-file", "blob", f"{commit}:{path}")


def changed_files(repo: Path, base: str, head: str) -> tuple[ChangedFile, ...]:
    output = _git(repo, "diff", "--name-status", "--no-renames", "-z", base, head)
    fields = output.decode("utf-8", "surrogateescape").split("\0")
    changed = []
    for status, path in zip(fields[0::2], fields[1::2], strict=False):
        if status:
            changed.append(ChangedFile(path=path, status=_STATUS.get(status[0], "changed")))
    return tuple(changed)


def submission_from_git(repo: Path, base_ref: str, head_ref: str) -> Submission:
    """The change HEAD makes since its merge base with BASE, as a PR would show it."""
    base = resolve(repo, base_ref)
    head = resolve(repo, head_ref)
    merge_base = _git(repo, "merge-base", base, head).decode().strip()
    base_csv = file_at(repo, merge_base, LEADERBOARD_PATH)
    if base_csv is None:
        raise GitError(f"{LEADERBOARD_PATH} does not exist at the merge base {merge_base[:12]}")
    head_csv = file_at(repo, head, LEADERBOARD_PATH) or b""
    changes = changed_files(repo, merge_base, head)
    manifests = {}
    for changed in changes:
        in_dir = changed.path.startswith(MANIFEST_DIR + "/")
        if in_dir and changed.status in ("added", "modified"):
            data = file_at(repo, head, changed.path)
            if data is not None:
                manifests[changed.path] = data
    return Submission(
        base_csv=base_csv, head_csv=head_csv, changed_files=changes, manifests=manifests
    )
