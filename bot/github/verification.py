"""``report-verification``: turn the verify job's outcome into the verification section of the
sticky comment, the ``hear-leaderboard / verify`` check run on the SHA, and labels.

The PR number and SHA come from the command job (trusted, checked when accepted); the artifact
is untrusted data (``bot.github.artifact``). The outcome (``bot.github.outcomes``) is one of:

- ``pass`` / ``fail``: the verdict of a schema-valid verification result;
- ``error``: the verify job failed, was cancelled or timed out, left no usable artifact, or the
  result says ``error`` — never a pass or a fail; the hint is to re-run with ``/verify``;
- ``stale``: the PR's head is no longer the SHA (read again right before posting, threat model
  7): reported for the old SHA, and nothing is marked verified.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.common.log import Log
from bot.common.result import ResultDocument
from bot.github import labels
from bot.github.artifact import ArtifactError, read_artifact
from bot.github.client import GitHubClient
from bot.github.outcomes import OUTCOMES, ReportOutcome
from bot.github.posting import apply_label_changes, post_check_run, reread_head, upsert_section
from bot.github.run_status import final_status
from bot.github.verify_check import VERIFY_CHECK_NAME, verify_check_payload
from bot.report import code, render_verification, text

SECTION = "verification"
VERIFICATION_SECTION_CHARS = 16_000
RETRY_HINT = "A maintainer can re-run it with `/verify`."


@dataclass(frozen=True)
class Report:
    outcome: ReportOutcome
    reason: str  # plain text (rendered escaped)
    result: ResultDocument | None = None


def decide(
    artifact_dir: Path, pr: int, sha: str, job_result: str, *, merged: bool = False
) -> Report:
    """The outcome from the artifact and the verify job's result, before the head re-check.

    ``merged``: the artifact is ``merge-results``' output, in which each shard that did not
    succeed already made its own columns ``error``; the (matrix) job result then matters only
    when there is no usable merged result.
    """
    try:
        artifact = read_artifact(artifact_dir, pr, sha)
    except ArtifactError as exc:
        if job_result != "success":
            return Report(ReportOutcome.ERROR, f"the verify job ended as {job_result or 'unknown'}")
        if merged:
            return Report(
                ReportOutcome.ERROR, "no shard left a usable result (the report job's log says why)"
            )
        return Report(ReportOutcome.ERROR, f"the verification artifact was rejected: {exc}")
    if artifact.stale is not None:
        return Report(
            ReportOutcome.STALE, f"the head moved to {artifact.stale['current_head_sha']}"
        )
    if job_result != "success" and not merged:
        return Report(ReportOutcome.ERROR, f"the verify job ended as {job_result or 'unknown'}")
    assert artifact.result is not None
    verification = artifact.result["verification"]
    return Report(ReportOutcome(verification["verdict"]), verification["reason"], artifact.result)


def report_verification(
    client: GitHubClient,
    bot_login: str,
    pr: int,
    sha: str,
    artifact_dir: Path,
    job_result: str,
    *,
    merged: bool = False,
    run_url: str | None = None,
    say: Log = print,
) -> Report:
    report = decide(artifact_dir, pr, sha, job_result, merged=merged)
    pull, moved_to = reread_head(client, pr, sha)
    if moved_to is not None and report.outcome != ReportOutcome.STALE:
        report = Report(ReportOutcome.STALE, f"the head moved to {moved_to}", report.result)
    section = render_section(report, sha)
    say(f"PR #{pr} at {sha}: {report.outcome}: {report.reason}")
    status = final_status(str(report.outcome), run_url, dt.datetime.now(dt.UTC))
    say("  " + upsert_section(client, pr, SECTION, section, bot_login, status=status))
    summary = section.split("\n", 1)[1].lstrip("\n") if "\n" in section else section
    payload = verify_check_payload(report.outcome, OUTCOMES[report.outcome].title, summary)
    say("  " + post_check_run(client, sha, VERIFY_CHECK_NAME, payload))
    changes = labels.verification_label_changes(pull.labels, report.outcome)
    say("  " + apply_label_changes(client, pr, changes))
    return report


def render_section(report: Report, sha: str) -> str:
    commit = code(sha[:12], in_table=False)
    heading = f"#### Verification of {commit}"
    reason = text(report.reason, 600)
    if report.outcome == ReportOutcome.STALE:
        return (
            f"{heading}\n\n⏭️ **Stale**: {reason}. The result for {commit} is not used and "
            f"nothing is marked verified. {RETRY_HINT}"
        )
    if report.outcome == ReportOutcome.ERROR and report.result is None:
        return f"{heading}\n\n⚠️ **Verification error**: {reason}. {RETRY_HINT}"
    assert report.result is not None
    body = render_verification(report.result, max_chars=VERIFICATION_SECTION_CHARS)
    hint = f"\n\n{RETRY_HINT}" if report.outcome == ReportOutcome.ERROR else ""
    return f"{heading}\n\n{body}{hint}"
