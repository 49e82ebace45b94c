"""``report-verification``: turn the verify job's outcome into the verification section of the
sticky comment, the ``hear-leaderboard / verify`` check run on the SHA, and labels.

The PR number and SHA come from the command job (trusted, checked when accepted); the artifact
is untrusted data (``bot.github.artifact``). The outcome is one of:

- ``pass`` / ``fail``: the verdict of a schema-valid verification result;
- ``error``: the verify job failed, was cancelled or timed out, left no usable artifact, or the
  result says ``error`` — never a pass or a fail; the hint is to re-run with ``/verify``;
- ``stale``: the PR's head is no longer the SHA (read again right before posting, threat model
  7): reported for the old SHA, and nothing is marked verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.github import Say, labels
from bot.github.artifact import ArtifactError, read_artifact
from bot.github.client import GitHubClient
from bot.github.posting import apply_label_changes, post_check_run, reread_head, upsert_section
from bot.github.verify_check import VERIFY_CHECK_NAME, verify_check_payload
from bot.report import code, render_verification, text

SECTION = "verification"
VERIFICATION_SECTION_CHARS = 16_000
RETRY_HINT = "A maintainer can re-run it with `/verify`."
TITLES = {
    "pass": "Verified: the claimed scores were reproduced",
    "fail": "Not reproduced: see the per-column table",
    "error": "Verification error: nothing was verified",
    "stale": "Stale: the pull request moved on; nothing was verified",
}


@dataclass(frozen=True)
class Outcome:
    verdict: str  # pass, fail, error, stale
    reason: str  # plain text (rendered escaped)
    result: dict[str, Any] | None = None


def decide(
    artifact_dir: Path, pr: int, sha: str, job_result: str, *, merged: bool = False
) -> Outcome:
    """The outcome from the artifact and the verify job's result, before the head re-check.

    ``merged``: the artifact is ``merge-results``' output, in which each shard that did not
    succeed already made its own columns ``error``; the (matrix) job result then matters only
    when there is no usable merged result.
    """
    try:
        artifact = read_artifact(artifact_dir, pr, sha)
    except ArtifactError as exc:
        if job_result != "success":
            return Outcome("error", f"the verify job ended as {job_result or 'unknown'}")
        if merged:
            return Outcome("error", "no shard left a usable result (the report job's log says why)")
        return Outcome("error", f"the verification artifact was rejected: {exc}")
    if artifact.stale is not None:
        return Outcome("stale", f"the head moved to {artifact.stale['current_head_sha']}")
    if job_result != "success" and not merged:
        return Outcome("error", f"the verify job ended as {job_result or 'unknown'}")
    assert artifact.result is not None
    verification = artifact.result["verification"]
    return Outcome(verification["verdict"], verification["reason"], artifact.result)


def report_verification(
    client: GitHubClient,
    bot_login: str,
    pr: int,
    sha: str,
    artifact_dir: Path,
    job_result: str,
    *,
    merged: bool = False,
    say: Say = print,
) -> Outcome:
    outcome = decide(artifact_dir, pr, sha, job_result, merged=merged)
    pull, moved_to = reread_head(client, pr, sha)
    if moved_to is not None and outcome.verdict != "stale":
        outcome = Outcome("stale", f"the head moved to {moved_to}", outcome.result)
    section = render_section(outcome, sha)
    say(f"PR #{pr} at {sha}: {outcome.verdict}: {outcome.reason}")
    say("  " + upsert_section(client, pr, SECTION, section, bot_login))
    summary = section.split("\n", 1)[1].lstrip("\n") if "\n" in section else section
    payload = verify_check_payload(outcome.verdict, TITLES[outcome.verdict], summary)
    say("  " + post_check_run(client, sha, VERIFY_CHECK_NAME, payload))
    changes = labels.verification_label_changes(pull.labels, outcome.verdict)
    say("  " + apply_label_changes(client, pr, changes))
    return outcome


def render_section(outcome: Outcome, sha: str) -> str:
    commit = code(sha[:12], in_table=False)
    heading = f"#### Verification of {commit}"
    reason = text(outcome.reason, 600)
    if outcome.verdict == "stale":
        return (
            f"{heading}\n\n⏭️ **Stale**: {reason}. The result for {commit} is not used and "
            f"nothing is marked verified. {RETRY_HINT}"
        )
    if outcome.verdict == "error" and outcome.result is None:
        return f"{heading}\n\n⚠️ **Verification error**: {reason}. {RETRY_HINT}"
    assert outcome.result is not None
    body = render_verification(outcome.result, max_chars=VERIFICATION_SECTION_CHARS)
    hint = f"\n\n{RETRY_HINT}" if outcome.verdict == "error" else ""
    return f"{heading}\n\n{body}{hint}"
