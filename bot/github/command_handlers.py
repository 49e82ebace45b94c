"""What each maintainer command does in verify.yml's acknowledge job, once ``accept-command``
accepted it: its own writes, and its line in the command log (``bot.github.acknowledge``).
One handler per row of ``bot.github.commands.COMMANDS``.

Every value in a line is already rendered (``Acknowledging``'s fields) or rendered here through
``bot.report``, so a login or reason cannot mention, link or forge a marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.common.log import Log
from bot.github import labels
from bot.github.evidence import store_override
from bot.github.outcomes import ReportOutcome
from bot.github.posting import apply_label_changes, post_check_run
from bot.github.verify_check import VERIFY_CHECK_NAME, verify_check_payload
from bot.report import code, text

if TYPE_CHECKING:
    from bot.github.client import GitHubClient
    from bot.github.decision import Decision

WORKFLOW_FILE = "verify.yml"
RUN_NAME_PREFIX = "hearbot verify PR #"  # verify.yml's run-name; keep the two in step


@dataclass(frozen=True)
class Acknowledging:
    """A decision being acknowledged, with its parts already rendered for the log line."""

    client: GitHubClient
    decision: Decision
    who: str  # the requester, as a code span
    when: str  # the request's time, as a code span
    commit: str  # the accepted SHA's first 12 characters, as a code span (or "?")
    command: str  # "/word", as a code span
    own_run_id: int | None  # the acknowledging workflow run, which /verify-cancel spares
    say: Log


Handler = Callable[[Acknowledging], str]


def verify(ack: Acknowledging) -> str:
    """/verify: nothing to do here; the plan, verify and report jobs do the work."""
    columns = ", ".join(code(c, in_table=False) for c in ack.decision.columns)
    return (
        f"{ack.when} {ack.who}: {ack.command} accepted for {ack.commit} "
        f"({columns or 'all claimed columns'}); waiting for the `gpu-verification` "
        "environment approval."
    )


def cancel(ack: Acknowledging) -> str:
    """/verify-cancel: cancel this PR's queued and running verify.yml runs, but this one."""
    cancelled = cancel_verifications(ack.client, ack.decision.pr or 0, ack.own_run_id, ack.say)
    return f"{ack.when} {ack.who}: {ack.command}: {cancelled} verification run(s) cancelled."


def override(ack: Acknowledging) -> str:
    """/override accept|reject REASON: set the verify check run and the labels by hand."""
    d, client = ack.decision, ack.client
    assert d.sha is not None and d.pr is not None and d.verdict is not None
    outcome = ReportOutcome.PASS if d.verdict == "accept" else ReportOutcome.FAIL
    reason = text(d.note or "", 300)
    done = "accepted" if outcome == ReportOutcome.PASS else "rejected"
    title = f"Verification overridden: {done} by {d.requester}"
    summary = f"Overridden by {ack.who} at {ack.when}: {reason}"
    payload = verify_check_payload(outcome, title, summary)
    ack.say(post_check_run(client, d.sha, VERIFY_CHECK_NAME, payload))
    pull = client.pull(d.pr)
    changes = labels.verification_label_changes(pull.labels, outcome)
    ack.say(apply_label_changes(client, d.pr, changes))
    # The durable record the publish workflow binds to the merged row (tier `overridden`).
    store_override(client, d.verdict.value, d.note or "", d.pr, d.sha, d.requester or "unknown",
                   say=ack.say)  # fmt: skip
    return (
        f"{ack.when} {ack.who}: verification of {ack.commit} overridden: {done}. Reason: {reason}"
    )


def cancel_verifications(client: GitHubClient, pr: int, own_run_id: int | None, say: Log) -> int:
    """Cancel the active verify.yml runs of PR ``pr`` (found by their ``run-name``)."""
    pattern = re.compile(rf"^{re.escape(RUN_NAME_PREFIX)}{pr}(?!\d)")
    cancelled = 0
    for run in client.active_workflow_runs(WORKFLOW_FILE):
        if run.id == own_run_id or not pattern.match(run.display_title):
            continue
        if client.cancel_workflow_run(run.id):
            cancelled += 1
            say(f"cancelled workflow run {run.id} ({run.status})")
    return cancelled
