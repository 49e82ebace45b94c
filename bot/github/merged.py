"""``find-pulls``: which merged pull request brought each row that a push added to
leaderboard.csv, so that a row merged without verification still links to its PR.

Walks the pushed commits (``compare before...after``), reads leaderboard.csv at each through
the API, and asks GitHub which merged PR each commit that added rows belongs to (a squash or
rebase merge is associated with its PR). The answer is only a link for the page: tiers never
depend on it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.common.log import Log
from bot.github.client import GitHubClient
from bot.publish.rows import LeaderboardReadError, parse_leaderboard
from bot.submission.validate import LEADERBOARD_PATH

NO_COMMIT = "0" * 40  # a push's `before` when the branch is new


def _row_hashes(client: GitHubClient, sha: str) -> set[str] | None:
    data = client.file_at(LEADERBOARD_PATH, sha)
    if data is None:
        return set()
    try:
        return {row.row_sha256 for row in parse_leaderboard(data)}
    except LeaderboardReadError:
        return None


def merged_rows(client: GitHubClient, before: str, after: str, say: Log = print) -> dict[str, Any]:
    """row content hash -> {"number", "url", "merge_commit_sha"} for each row added since
    ``before``, where GitHub names exactly one merged PR for the commit that added it."""
    found: dict[str, Any] = {}
    if before == NO_COMMIT:
        say("the push created the branch: no earlier leaderboard to compare with")
        return found
    previous = _row_hashes(client, before) or set()
    for sha in client.commits_between(before, after):
        rows = _row_hashes(client, sha)
        if rows is None:
            say(f"{sha[:12]}: leaderboard.csv is unreadable there; skipped")
            continue
        added = rows - previous
        previous = rows
        if not added:
            continue
        pulls = client.merged_pulls_of_commit(sha)
        if len(pulls) != 1:
            say(f"{sha[:12]} adds {len(added)} row(s); GitHub names {len(pulls)} merged PRs")
            continue
        (pull,) = pulls
        for row in sorted(added):
            found[row] = {"number": pull.number, "url": pull.url, "merge_commit_sha": sha}
        say(f"{sha[:12]} adds {len(added)} row(s) from #{pull.number}")
    return found


def write_pulls(path: Path, found: dict[str, Any]) -> None:
    document = {"schema_version": 1, "pulls": found}
    write_atomic(path, json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")
