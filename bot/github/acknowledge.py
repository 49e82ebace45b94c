"""``acknowledge``: answer an accepted, refused or malformed command in the sticky comment.

The commands section of the one sticky comment is a log of the last ``MAX_LOG_ENTRIES``
commands, newest last, each one line: who, when, what, and for which commit. Every value in
it is rendered through ``bot.report`` (code spans), so a login or reason cannot mention,
link or forge a marker. ``/override`` also sets the verify check run and labels;
``/verify-cancel`` cancels this PR's queued and running verify.yml runs (found by the
``run-name`` that verify.yml gives them) except the run doing the cancelling.
"""

from __future__ import annotations

import re

from bot.github import Say, labels
from bot.github.client import GitHubClient
from bot.github.commands import HELP
from bot.github.decision import Decision
from bot.github.posting import apply_label_changes, current_section, post_check_run, upsert_section
from bot.github.verify_check import VERIFY_CHECK_NAME, verify_check_payload
from bot.report import code, text

SECTION = "commands"
HEADING = "#### Maintainer commands"
MAX_LOG_ENTRIES = 10
MAX_ENTRY_CHARS = 380
WORKFLOW_FILE = "verify.yml"
RUN_NAME_PREFIX = "hearbot verify PR #"  # verify.yml's run-name; keep the two in step


def acknowledge(
    client: GitHubClient,
    bot_login: str,
    decision: Decision,
    *,
    own_run_id: int | None = None,
    say: Say = print,
) -> int:
    if decision.action == "ignore" or decision.pr is None:
        say("nothing to acknowledge")
        return 0
    entry = _entry(client, bot_login, decision, own_run_id, say)
    previous = current_section(client, decision.pr, SECTION, bot_login)
    say(upsert_section(client, decision.pr, SECTION, log_section(previous, entry), bot_login))
    return 0


def log_section(previous: str, entry: str) -> str:
    """The command log with ``entry`` appended and the oldest entries dropped."""
    kept = [line for line in previous.splitlines() if line.startswith("- ")]
    kept = [*kept, f"- {entry}"][-MAX_LOG_ENTRIES:]
    return "\n".join([HEADING, "", *kept])


def _entry(
    client: GitHubClient, bot_login: str, d: Decision, own_run_id: int | None, say: Say
) -> str:
    who = code(d.requester or "unknown", in_table=False)
    when = code(d.requested_at or "?", in_table=False)
    commit = code(d.sha[:12], in_table=False) if d.sha else "?"
    command = code("/" + d.command if d.command else "command", in_table=False)
    if d.action == "verify":
        columns = ", ".join(code(c, in_table=False) for c in d.columns) or "all claimed columns"
        line = (
            f"{when} {who}: {command} accepted for {commit} ({columns}); waiting for the "
            "`gpu-verification` environment approval."
        )
    elif d.action == "deny":
        line = (
            f"{when} {who}: {command}: only maintainers with write access can start a "
            "verification or use bot commands; nothing was run."
        )
    elif d.action == "help":
        line = f"{when} {who}: {text(d.note or 'not a command', 200)}. {HELP}"
    elif d.action == "stale":
        newer = code((d.note or "?")[:12], in_table=False)
        line = (
            f"{when} {who}: {command} for {commit} refused: the PR's head is now {newer}; "
            "nothing was run (re-run for the new head)."
        )
    elif d.action == "cancel":
        cancelled = cancel_verifications(client, d.pr or 0, own_run_id, say)
        line = f"{when} {who}: {command}: {cancelled} verification run(s) cancelled."
    else:  # override
        line = _override(client, d, who, when, commit, say)
    return line if len(line) <= MAX_ENTRY_CHARS * 2 else line[: MAX_ENTRY_CHARS * 2] + "…"


def _override(client: GitHubClient, d: Decision, who: str, when: str, commit: str, say: Say) -> str:
    assert d.sha is not None and d.pr is not None and d.verdict is not None
    outcome = "pass" if d.verdict == "accept" else "fail"
    reason = text(d.note or "", 300)
    done = "accepted" if outcome == "pass" else "rejected"
    title = f"Verification overridden: {done} by {d.requester}"
    summary = f"Overridden by {who} at {when}: {reason}"
    say(
        post_check_run(
            client, d.sha, VERIFY_CHECK_NAME, verify_check_payload(outcome, title, summary)
        )
    )
    pull = client.pull(d.pr)
    say(apply_label_changes(client, d.pr, labels.verification_label_changes(pull.labels, outcome)))
    return f"{when} {who}: verification of {commit} overridden: {done}. Reason: {reason}"


def cancel_verifications(client: GitHubClient, pr: int, own_run_id: int | None, say: Say) -> int:
    pattern = re.compile(rf"^{re.escape(RUN_NAME_PREFIX)}{pr}(?!\d)")
    cancelled = 0
    for run in client.active_workflow_runs(WORKFLOW_FILE):
        if run.id == own_run_id or not pattern.match(run.display_title):
            continue
        if client.cancel_workflow_run(run.id):
            cancelled += 1
            say(f"cancelled workflow run {run.id} ({run.status})")
    return cancelled
