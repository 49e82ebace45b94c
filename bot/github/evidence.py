"""Durable evidence on the ``hearbot-evidence`` branch, written only by trusted jobs.

Why a branch: workflow artifacts expire (14 days here), PR comments can be edited, and a
branch of this repository outlives both, is public, diffable and versioned. Only jobs whose
token has ``contents: write`` can push to it: verify.yml's report job (never PR code) and
publish.yml (on the default branch). PR workflows run with read-only tokens, so a PR cannot
write evidence; branch protection on ``hearbot-evidence`` (docs/maintainers.md) keeps people
from force-pushing it. Each record lands at ``records/<binding key>/<file>.json`` (never
overwritten); publish.yml writes ``bound/<model>.verification.json``.

The binding comes from the API, not from the artifact: the PR's appended row (merge base vs
the accepted SHA) and its one manifest, both read at the pinned SHA.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.common.log import Log
from bot.github.client import GitHubClient
from bot.github.pr_data import read_pull_request
from bot.publish.records import (
    RECORDS_DIR,
    Binding,
    RunContext,
    override_record,
    record_bytes,
    sha256_hex,
    utc_now,
    verification_record,
)
from bot.publish.rows import LeaderboardReadError, parse_leaderboard
from bot.submission.leaderboard.names import slug

EVIDENCE_BRANCH = "hearbot-evidence"


class EvidenceError(ValueError):
    """The PR cannot be bound to evidence (the message says why); nothing was written."""


def pr_binding(client: GitHubClient, pr: int, sha: str) -> Binding:
    """The row the PR appends and its manifest, read through the API at ``sha``."""
    pull = dataclasses.replace(client.pull(pr), head_sha=sha)  # read at the accepted SHA
    data = read_pull_request(client, pull)
    try:
        base = parse_leaderboard(data.submission.base_csv)
        head = parse_leaderboard(data.submission.head_csv)
    except LeaderboardReadError as exc:
        raise EvidenceError(f"pull request #{pr} at {sha[:12]}: {exc}") from None
    known = {row.fields for row in base}
    added = [row for row in head if row.fields not in known]
    if len(added) != 1:
        raise EvidenceError(
            f"pull request #{pr} at {sha[:12]} adds {len(added)} rows; evidence binds one"
        )
    (row,) = added
    manifest = data.submission.manifests.get(f"submissions/{row.slug}.json")
    if manifest is None:
        raise EvidenceError(f"pull request #{pr} at {sha[:12]} has no submissions/{row.slug}.json")
    return Binding(row.model, slug(row.model), row.row_sha256, sha256_hex(manifest))


def run_context(pr: int, sha: str, requester: str, env: Mapping[str, str]) -> RunContext:
    """Who and which run, from the Actions environment (GITHUB_RUN_ID, GITHUB_SHA, ...)."""

    def number(name: str) -> int | None:
        value = env.get(name, "")
        return int(value) if value.isascii() and value.isdigit() and value != "0" else None

    commit = env.get("GITHUB_SHA", "")
    return RunContext(
        pr=pr,
        head_sha=sha,
        repository=env.get("GITHUB_REPOSITORY", ""),
        server_url=env.get("GITHUB_SERVER_URL", "https://github.com"),
        triggered_by=requester,
        run_id=number("GITHUB_RUN_ID"),
        run_attempt=number("GITHUB_RUN_ATTEMPT"),
        hearbot_commit=commit if len(commit) == 40 else None,
        recorded_at=utc_now(),
    )


def store_verification(
    client: GitHubClient,
    result: Mapping[str, Any],
    pr: int,
    sha: str,
    requester: str,
    *,
    env: Mapping[str, str] | None = None,
    say: Log = print,
) -> str:
    """Write the evidence record of one verification; returns its path on the branch."""
    binding = pr_binding(client, pr, sha)
    context = run_context(pr, sha, requester, os.environ if env is None else env)
    record = verification_record(result, binding, context)
    path = f"{RECORDS_DIR}/{binding.key}/{context.file_name('verification')}"
    message = f"evidence: verification of #{pr} at {sha[:12]} ({record['verdict']})"
    _put_record(client, path, record_bytes(record), message, say)
    return path


def _put_record(client: GitHubClient, path: str, data: bytes, message: str, say: Log) -> None:
    """Records are never rewritten: a different record already at the path is an error."""
    state = client.put_file(path, data, EVIDENCE_BRANCH, message, overwrite=False)
    if state == "exists":
        raise EvidenceError(f"{EVIDENCE_BRANCH}:{path} already holds another record")
    say(f"evidence {state}: {EVIDENCE_BRANCH}:{path}")


def store_override(
    client: GitHubClient,
    decision: str,
    reason: str,
    pr: int,
    sha: str,
    requester: str,
    *,
    env: Mapping[str, str] | None = None,
    say: Log = print,
) -> str | None:
    """Write the evidence record of a maintainer's ``/override``; its path, or None (said
    why) when the PR has no single row and manifest to bind it to."""
    try:
        binding = pr_binding(client, pr, sha)
    except EvidenceError as exc:
        say(f"no evidence record for the override: {exc}")
        return None
    context = run_context(pr, sha, requester, os.environ if env is None else env)
    record = override_record(decision, reason, binding, context)
    path = f"{RECORDS_DIR}/{binding.key}/{context.file_name('override')}"
    message = f"evidence: /override {decision} of #{pr} at {sha[:12]} by {requester}"
    _put_record(client, path, record_bytes(record), message, say)
    return path


def sync_bound(client: GitHubClient, folder: Path, say: Log = print) -> int:
    """Write every ``bound/*.verification.json`` under ``folder`` to the evidence branch where
    it differs; returns how many changed (0 on a re-run)."""
    changed = 0
    for path in sorted((folder / "bound").glob("*.verification.json")):
        relative = f"bound/{path.name}"
        data = path.read_bytes()
        json.loads(data)  # only what `hearbot publish --bound-out` wrote: JSON
        state = client.put_file(relative, data, EVIDENCE_BRANCH, f"publish: {relative}")
        if state != "unchanged":
            changed += 1
        say(f"{relative}: {state}")
    return changed
