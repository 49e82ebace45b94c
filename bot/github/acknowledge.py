"""``acknowledge``: answer an accepted, refused or malformed command in the sticky comment.

The commands section of the one sticky comment is a log of the last ``MAX_LOG_ENTRIES``
commands, newest last, each one line: who, when, what, and for which commit. Every value in
it is rendered through ``bot.report`` (code spans), so a login or reason cannot mention,
link or forge a marker. An accepted command's line, and its own writes (``/override`` sets the
verify check run and labels; ``/verify-cancel`` cancels this PR's queued and running verify.yml
runs except the run doing the cancelling), come from its handler in the command table
(``bot.github.commands.COMMANDS``); the refusals' lines are here.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.common.log import Log
from bot.github.client import GitHubClient
from bot.github.command_handlers import RUN_NAME_PREFIX as RUN_NAME_PREFIX  # tests read it here
from bot.github.command_handlers import Acknowledging
from bot.github.commands import COMMAND_OF_ACTION, HELP, Action
from bot.github.decision import Decision
from bot.github.posting import current_section, upsert_section
from bot.report import code, text

SECTION = "commands"
HEADING = "#### Maintainer commands"
MAX_LOG_ENTRIES = 10
MAX_ENTRY_CHARS = 380


def acknowledge(
    client: GitHubClient,
    bot_login: str,
    decision: Decision,
    *,
    own_run_id: int | None = None,
    say: Log = print,
) -> int:
    if decision.action == Action.IGNORE or decision.pr is None:
        say("nothing to acknowledge")
        return 0
    entry = _entry(client, decision, own_run_id, say)
    previous = current_section(client, decision.pr, SECTION, bot_login)
    say(upsert_section(client, decision.pr, SECTION, log_section(previous, entry), bot_login))
    return 0


def log_section(previous: str, entry: str) -> str:
    """The command log with ``entry`` appended and the oldest entries dropped."""
    kept = [line for line in previous.splitlines() if line.startswith("- ")]
    kept = [*kept, f"- {entry}"][-MAX_LOG_ENTRIES:]
    return "\n".join([HEADING, "", *kept])


def _entry(client: GitHubClient, d: Decision, own_run_id: int | None, say: Log) -> str:
    ack = Acknowledging(
        client=client,
        decision=d,
        who=code(d.requester or "unknown", in_table=False),
        when=code(d.requested_at or "?", in_table=False),
        commit=code(d.sha[:12], in_table=False) if d.sha else "?",
        command=code("/" + d.command if d.command else "command", in_table=False),
        own_run_id=own_run_id,
        say=say,
    )
    spec = COMMAND_OF_ACTION.get(d.action)
    line = spec.acknowledge(ack) if spec is not None else REFUSALS[d.action](ack)
    return line if len(line) <= MAX_ENTRY_CHARS * 2 else line[: MAX_ENTRY_CHARS * 2] + "…"


def _deny(ack: Acknowledging) -> str:
    return (
        f"{ack.when} {ack.who}: {ack.command}: only maintainers with write access can start a "
        "verification or use bot commands; nothing was run."
    )


def _help(ack: Acknowledging) -> str:
    return f"{ack.when} {ack.who}: {text(ack.decision.note or 'not a command', 200)}. {HELP}"


def _stale(ack: Acknowledging) -> str:
    newer = code((ack.decision.note or "?")[:12], in_table=False)
    return (
        f"{ack.when} {ack.who}: {ack.command} for {ack.commit} refused: the PR's head is now "
        f"{newer}; nothing was run (re-run for the new head)."
    )


# The actions accept-command decides without accepting a command (IGNORE is never logged).
REFUSALS: dict[Action, Callable[[Acknowledging], str]] = {
    Action.DENY: _deny,
    Action.HELP: _help,
    Action.STALE: _stale,
}
