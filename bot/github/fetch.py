"""``fetch-submission``: the PR's files at the accepted SHA, through the API, as data.

Runs in the GPU job, before the (token-less) verify step. It re-reads the PR head first
(threat model 7): if the PR moved on from the SHA the maintainer accepted, it writes only
``stale.json`` and nothing to verify. Otherwise it writes, each atomically:

- ``base.csv``      leaderboard.csv at the merge base of the PR's base and the SHA
- ``head.csv``      leaderboard.csv at the SHA
- ``manifest.json`` the one submission manifest the PR adds or changes, at the SHA
- ``tasks.txt``     the columns to verify, one per line (empty: every claimed column)

and reads the head once more afterwards: a push while fetching also ends as ``stale.json``.
``claimed_columns`` reads such a folder back for ``plan-shards``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bot.common.fileio import write_atomic
from bot.common.log import Log
from bot.common.schemas import leaderboard_facts
from bot.github.client import GitHubClient
from bot.github.posting import reread_head
from bot.github.pr_data import read_pull_request
from bot.submission.validate import BaseFileError, Submission, validate

OUTPUT_FILES = ("base.csv", "head.csv", "manifest.json", "tasks.txt", "stale.json")


class SubmissionShapeError(ValueError):
    """The PR does not have exactly one manifest to verify (validation reports why)."""


def fetch_submission(
    client: GitHubClient,
    pr: int,
    sha: str,
    columns: tuple[str, ...],
    out: Path,
    say: Log = print,
) -> str:
    """ "fetched" or "stale"; ``out`` then holds exactly the files for that case."""
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    pull, moved_to = reread_head(client, pr, sha)
    if moved_to is not None:
        return _stale(out, pr, sha, moved_to, say)
    data = read_pull_request(client, pull)
    manifests = data.submission.manifests
    if len(manifests) != 1:
        raise SubmissionShapeError(
            f"pull request #{pr} at {sha[:12]} has {len(manifests)} submission manifest(s); "
            "verification needs exactly one (see the validation report)"
        )
    _, moved_to = reread_head(client, pr, sha)
    if moved_to is not None:
        return _stale(out, pr, sha, moved_to, say)
    (manifest_bytes,) = manifests.values()
    write_atomic(out / "base.csv", data.submission.base_csv)
    write_atomic(out / "head.csv", data.submission.head_csv)
    write_atomic(out / "manifest.json", manifest_bytes)
    write_atomic(out / "tasks.txt", "".join(f"{c}\n" for c in columns).encode())
    say(
        f"fetched pull request #{pr} at {sha} (merge base {data.merge_base_sha}, "
        f"manifest {next(iter(manifests))})"
    )
    return "fetched"


def _stale(out: Path, pr: int, sha: str, current: str, say: Log) -> str:
    note = {"pr": pr, "sha": sha, "current_head_sha": current}
    write_atomic(out / "stale.json", json.dumps(note, indent=2).encode() + b"\n")
    say(f"pull request #{pr} moved from {sha} to {current}: stale, nothing to verify")
    return "stale"


def claimed_columns(folder: Path) -> frozenset[str] | None:
    """The columns the fetched submission's row claims, or None when the files are absent
    (stale) or the submission does not pass validation (``hearbot verify`` then runs nothing)."""
    paths = [folder / name for name in ("base.csv", "head.csv", "manifest.json")]
    if not all(path.is_file() for path in paths):
        return None
    base, head, manifest = (path.read_bytes() for path in paths)
    try:
        result = validate(Submission(base, head, named_manifest=(str(paths[2]), manifest)))
    except BaseFileError:
        return None
    if result["errors"] or result["submission"] is None:
        return None
    row = result["submission"]["row"]
    return frozenset(name for name in leaderboard_facts().score_columns if row.get(name))
