"""``report-validation``: re-resolve the PR, re-validate its files, re-check the SHA, post.

1. The PR comes from the API: the open PRs whose head is the event's head SHA (never the
   payload's ``pull_requests``), or the PR a maintainer named with ``--pr``, at its current head.
2. Its files are read through the API at the merge base and head SHAs and validated here;
   no artifact or earlier verdict is trusted.
3. Right before posting, the PR is read again: if its head moved, nothing is posted for the
   stale SHA (the newer push gets its own run).
4. One sticky comment (edited, never duplicated; only its validation section is replaced),
   one check run on the head SHA, labels.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

from bot.common.log import Log
from bot.common.result import ResultDocument
from bot.github import checks, labels
from bot.github.client import GitHubClient, NotFoundError, PullInfo
from bot.github.env import ConfigError
from bot.github.posting import apply_label_changes, reread_head, upsert_section
from bot.github.pr_data import PullRequestData, read_pull_request
from bot.report import STICKY_MARKER, render_markdown
from bot.submission.validate import validate

# The validation report's share of the sticky comment (the rest: commands, verification).
VALIDATION_SECTION_CHARS = 44_000


@dataclass(frozen=True)
class Target:
    """Either the head SHA of a workflow run, or a PR number given by a maintainer."""

    head_sha: str | None = None
    pr_number: int | None = None


def resolve_pulls(client: GitHubClient, target: Target) -> list[PullInfo]:
    if target.pr_number is not None:
        try:
            return [client.pull(target.pr_number)]
        except NotFoundError:
            raise ConfigError(f"pull request #{target.pr_number} does not exist") from None
    assert target.head_sha is not None
    return client.open_pulls_with_head(target.head_sha)


def build_result(repository: str, data: PullRequestData) -> ResultDocument:
    result = cast(ResultDocument, validate(data.submission))
    result["pull_request"] = {
        "repository": repository,
        "number": data.pull.number,
        "head_sha": data.pull.head_sha,
        "base_sha": data.merge_base_sha,
    }
    return result


def report_validation(
    client: GitHubClient,
    repository: str,
    bot_login: str,
    target: Target,
    *,
    dry_run: bool = False,
    say: Log = print,
) -> int:
    pulls = resolve_pulls(client, target)
    if not pulls:
        say(
            f"No open pull request in {repository} has head {target.head_sha}; "
            "nothing to report (the PR was closed or has moved on to a newer commit)."
        )
        return 0
    for pull in pulls:
        data = read_pull_request(client, pull)
        result = build_result(repository, data)
        current, moved_to = reread_head(client, pull.number, pull.head_sha)
        if moved_to is not None:
            say(
                f"PR #{pull.number} moved from {pull.head_sha} to {moved_to} while it "
                "was being validated; nothing is posted for the stale commit."
            )
            continue
        body = render_markdown(result, max_chars=VALIDATION_SECTION_CHARS)
        if dry_run:
            say(json.dumps(planned_posts(current, result, body, bot_login), indent=2))
            continue
        post(client, current, result, body, bot_login, say)
    return 0


def post(
    client: GitHubClient,
    pull: PullInfo,
    result: ResultDocument,
    body: str,
    bot_login: str,
    say: Log,
) -> None:
    verdict = "valid" if result["ok"] else "invalid"
    say(
        f"PR #{pull.number} at {pull.head_sha}: {verdict} "
        f"({len(result['errors'])} error(s), {len(result['warnings'])} warning(s))"
    )
    say("  " + upsert_comment(client, pull.number, body, bot_login))
    say("  " + report_check_run(client, pull.head_sha, result, body))
    say("  " + apply_labels(client, pull, result["ok"]))


def upsert_comment(client: GitHubClient, number: int, body: str, bot_login: str) -> str:
    return upsert_section(client, number, "validation", body, bot_login)


def report_check_run(client: GitHubClient, head_sha: str, result: ResultDocument, body: str) -> str:
    """Update the latest check run of that name on the SHA if it has no annotations yet (GitHub
    appends annotations on update, so re-using an annotated one would repeat them); else
    create one. GitHub shows the newest check run of a name."""
    summary = body.replace(STICKY_MARKER, "", 1).lstrip("\n")
    reusable = [
        run
        for run in client.check_runs(head_sha, checks.CHECK_NAME)
        if run.name == checks.CHECK_NAME and run.head_sha == head_sha and run.annotations_count == 0
    ]
    requests = checks.check_run_requests(result, summary, head_sha, create=not reusable)
    if reusable:
        check_id = reusable[0].id
        client.update_check_run(check_id, requests[0])
        action = "updated"
    else:
        check_id = client.create_check_run(requests[0])
        action = "created"
    for later in requests[1:]:
        client.update_check_run(check_id, later)
    return f"check run {check_id} {action} ({checks.conclusion(result)})"


def apply_labels(client: GitHubClient, pull: PullInfo, ok: bool) -> str:
    return apply_label_changes(client, pull.number, labels.label_changes(pull.labels, ok))


def planned_posts(
    pull: PullInfo, result: ResultDocument, body: str, bot_login: str
) -> dict[str, Any]:
    """What a real run would post, for ``--dry-run``."""
    summary = body.replace(STICKY_MARKER, "", 1).lstrip("\n")
    changes = labels.label_changes(pull.labels, result["ok"])
    return {
        "pull_request": result["pull_request"],
        "comment": {"author_to_edit": bot_login, "body": body},
        "check_run": checks.check_run_requests(result, summary, pull.head_sha, create=True),
        "labels": {"add": list(changes.add), "remove": list(changes.remove)},
        "result": result,
    }
