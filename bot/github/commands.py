"""The maintainer commands: one table (``COMMANDS``), and the strict parser of a PR comment
(``parse_command``, pure: text in, command out).

Only the first line of a comment is read, and only if it starts with ``/`` and a letter;
anything else is ordinary conversation and is ignored without a reply.

- ``/verify``                      verify every column the submission claims
- ``/verify COLUMN[, COLUMN ...]`` only these leaderboard columns (names as in the CSV header,
  comma-separated because names have spaces; case is forgiven, the canonical name is kept)
- ``/verify-cancel``               cancel the queued or running verifications of this PR
- ``/override accept REASON``      mark the verification passed (or ``reject``: failed), with a
  reason of 1 to ``MAX_REASON_CHARS`` characters

A line that looks like a command but is none of these is ``Malformed``; the bot answers it with
``HELP``.

Adding a command: one ``CommandSpec`` row in ``COMMANDS`` (its word, the ``Action`` that
``accept-command`` decides for it, who may use it, its usage for ``HELP``, the parser of the
rest of its line) and one handler in ``bot.github.command_handlers`` (its own writes and its
line in the command log). verify.yml's acknowledge job runs the handler for every action but
``ignore``; only an action that needs jobs of its own (as ``verify`` does) changes the workflow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.common.schemas import leaderboard_facts
from bot.github import command_handlers
from bot.github.permissions import Who

MAX_REASON_CHARS = 300
MAX_COMMAND_LINE_CHARS = 2000
_COMMAND_RE = re.compile(r"^/(?P<word>[A-Za-z][A-Za-z0-9-]*)(?:[ \t]+(?P<rest>.*))?$")


class Action(StrEnum):
    """What ``accept-command`` decided: verify.yml's job output ``needs.command.outputs.action``.

    verify.yml's ``if:`` conditions compare against these values (and ``''``, when the command
    job did not run); tests/github/test_commands_table.py checks that each value they name is
    one of them:

    - ``acknowledge`` runs for every action but ``ignore``;
    - ``plan``, ``verify`` and ``report`` run only for ``verify``.
    """

    VERIFY = "verify"  # /verify or a manual run: verify at the accepted head SHA
    CANCEL = "cancel"  # /verify-cancel
    OVERRIDE = "override"  # /override accept|reject REASON
    DENY = "deny"  # the commenter may not command: said so, nothing run
    HELP = "help"  # a malformed command, or the PR is not open: answered with HELP
    STALE = "stale"  # a manual run for a SHA that is no longer the PR's head
    IGNORE = "ignore"  # not a command for the bot at all: no answer


class OverrideVerdict(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


VERDICTS = tuple(verdict.value for verdict in OverrideVerdict)


@dataclass(frozen=True)
class Command:
    name: str  # a word of COMMANDS: "verify", "verify-cancel" or "override"
    columns: tuple[str, ...] = ()
    verdict: OverrideVerdict | None = None  # for override
    reason: str | None = None


@dataclass(frozen=True)
class Malformed:
    problem: str


@dataclass(frozen=True)
class CommandSpec:
    """One slash command."""

    word: str  # "/word" at the start of the comment's first line
    action: Action  # what accept-command decides when a maintainer uses it on an open PR
    who: Who  # who may use it; anyone else is answered with ``deny``
    usage: tuple[str, ...]  # its forms, as HELP lists them
    parse: Callable[[str], Command | Malformed]  # the rest of the line after the word
    acknowledge: command_handlers.Handler  # run by the acknowledge job


def parse_command(body: str) -> Command | Malformed | None:
    """The command on the comment's first non-blank line; None when it is not one."""
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    if not first.startswith("/") or len(first) < 2 or not first[1].isascii():
        return None
    if not first[1].isalpha():
        return None
    if len(first) > MAX_COMMAND_LINE_CHARS:
        return Malformed(f"the command line is longer than {MAX_COMMAND_LINE_CHARS} characters")
    match = _COMMAND_RE.match(first)
    if match is None:
        return Malformed("the command word may hold only letters, digits and '-'")
    word, rest = match["word"].lower(), (match["rest"] or "").strip()
    spec = COMMANDS.get(word)
    if spec is None:
        return Malformed(f"unknown command /{word}")
    return spec.parse(rest)


def parse_columns(text: str) -> tuple[str, ...] | Malformed:
    """Comma-separated leaderboard column names (blank: none, meaning all claimed)."""
    if not text.strip():
        return ()
    known = {name.casefold(): name for name in leaderboard_facts().score_columns}
    columns: list[str] = []
    for part in text.split(","):
        name = known.get(" ".join(part.split()).casefold())
        if name is None:
            return Malformed(
                f"/verify: {part.strip()!r} is not a leaderboard column; known columns: "
                + ", ".join(leaderboard_facts().score_columns)
            )
        if name not in columns:
            columns.append(name)
    return tuple(columns)


def _verify(rest: str) -> Command | Malformed:
    columns = parse_columns(rest)
    return Command("verify", columns=columns) if isinstance(columns, tuple) else columns


def _verify_cancel(rest: str) -> Command | Malformed:
    return Command("verify-cancel") if not rest else Malformed("/verify-cancel takes nothing")


def _override(rest: str) -> Command | Malformed:
    verdict, _, reason = rest.partition(" ")
    verdict, reason = verdict.lower(), reason.strip()
    if verdict not in VERDICTS:
        return Malformed("/override needs `accept` or `reject` and a reason")
    if not reason:
        return Malformed(f"/override {verdict} needs a reason")
    if len(reason) > MAX_REASON_CHARS:
        return Malformed(f"the /override reason is longer than {MAX_REASON_CHARS} characters")
    return Command("override", verdict=OverrideVerdict(verdict), reason=reason)


COMMANDS: dict[str, CommandSpec] = {
    spec.word: spec
    for spec in (
        CommandSpec(
            "verify",
            Action.VERIFY,
            Who.MAINTAINERS,
            ("/verify", "/verify COLUMN, COLUMN"),
            _verify,
            command_handlers.verify,
        ),
        CommandSpec(
            "verify-cancel",
            Action.CANCEL,
            Who.MAINTAINERS,
            ("/verify-cancel",),
            _verify_cancel,
            command_handlers.cancel,
        ),
        CommandSpec(
            "override",
            Action.OVERRIDE,
            Who.MAINTAINERS,
            ("/override accept REASON", "/override reject REASON"),
            _override,
            command_handlers.override,
        ),
    )
}
COMMAND_OF_ACTION: dict[Action, CommandSpec] = {spec.action: spec for spec in COMMANDS.values()}
HELP = (
    "Commands (maintainers with write access only): "
    + ", ".join(f"`{usage}`" for spec in COMMANDS.values() for usage in spec.usage)
    + "; see docs/maintainers.md."
)
