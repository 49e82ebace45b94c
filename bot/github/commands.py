"""The maintainer commands a PR comment may hold, parsed strictly (pure: text in, command out).

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
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.common.schemas import leaderboard_facts

MAX_REASON_CHARS = 300
MAX_COMMAND_LINE_CHARS = 2000
HELP = (
    "Commands (maintainers with write access only): `/verify`, `/verify COLUMN, COLUMN`, "
    "`/verify-cancel`, `/override accept REASON`, `/override reject REASON`; "
    "see docs/maintainers.md."
)
_COMMAND_RE = re.compile(r"^/(?P<word>[A-Za-z][A-Za-z0-9-]*)(?:[ \t]+(?P<rest>.*))?$")
VERDICTS = ("accept", "reject")


@dataclass(frozen=True)
class Command:
    name: str  # "verify", "verify-cancel" or "override"
    columns: tuple[str, ...] = ()
    verdict: str | None = None  # "accept" / "reject" for override
    reason: str | None = None


@dataclass(frozen=True)
class Malformed:
    problem: str


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
    if word == "verify":
        return _verify(rest)
    if word == "verify-cancel":
        return Command("verify-cancel") if not rest else Malformed("/verify-cancel takes nothing")
    if word == "override":
        return _override(rest)
    return Malformed(f"unknown command /{word}")


def _verify(rest: str) -> Command | Malformed:
    columns = parse_columns(rest)
    return Command("verify", columns=columns) if isinstance(columns, tuple) else columns


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


def _override(rest: str) -> Command | Malformed:
    verdict, _, reason = rest.partition(" ")
    verdict, reason = verdict.lower(), reason.strip()
    if verdict not in VERDICTS:
        return Malformed("/override needs `accept` or `reject` and a reason")
    if not reason:
        return Malformed(f"/override {verdict} needs a reason")
    if len(reason) > MAX_REASON_CHARS:
        return Malformed(f"the /override reason is longer than {MAX_REASON_CHARS} characters")
    return Command("override", verdict=verdict, reason=reason)
