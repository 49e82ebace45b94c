"""A pull request's files, read through the API as data at pinned SHAs, as a ``Submission``.

Nothing here is executed or checked out: bytes come from the contents API at the merge-base and
head SHAs the caller pinned. A missing ``leaderboard.csv`` at head is passed as ``b""`` so that
validation reports it (header-changed / no-new-row) instead of the bot crashing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.github.client import GitHubClient, PullInfo
from bot.submission.manifest import MANIFEST_DIR
from bot.submission.validate import LEADERBOARD_PATH, ChangedFile, Submission

MANIFEST_STATUSES = frozenset({"added", "modified"})
# A submission adds one manifest; past this many, validation already rejects the PR for its
# extra files, so fetching more would only spend API calls on an invalid PR.
MAX_MANIFESTS_READ = 10


@dataclass(frozen=True)
class PullRequestData:
    pull: PullInfo
    merge_base_sha: str
    submission: Submission


def manifest_candidates(changed: tuple[ChangedFile, ...]) -> list[str]:
    """The added/modified files under submissions/ whose head bytes validation gets."""
    paths = [
        f.path
        for f in changed
        if f.path.startswith(MANIFEST_DIR + "/") and f.status in MANIFEST_STATUSES
    ]
    return sorted(paths)[:MAX_MANIFESTS_READ]


def read_pull_request(client: GitHubClient, pull: PullInfo) -> PullRequestData:
    merge_base = client.merge_base(pull.base_sha, pull.head_sha)
    base_csv = client.file_at(LEADERBOARD_PATH, merge_base) or b""
    head_csv = client.file_at(LEADERBOARD_PATH, pull.head_sha) or b""
    changed = client.changed_files(pull.number)
    manifests: dict[str, bytes] = {}
    for path in manifest_candidates(changed):
        data = client.file_at(path, pull.head_sha)
        if data is not None:
            manifests[path] = data
    submission = Submission(
        base_csv=base_csv, head_csv=head_csv, changed_files=changed, manifests=manifests
    )
    return PullRequestData(pull=pull, merge_base_sha=merge_base, submission=submission)
