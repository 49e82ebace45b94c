"""The one sticky comment per pull request: found by the hidden marker AND the bot's login.

A comment by anyone else that carries the marker (a spoof, or a quote of the bot) is never
edited. Should a retried POST ever have left two bot comments, the oldest is kept and edited
and the others deleted, so every run ends with exactly one.

The comment holds sections (``SECTION_ORDER``), each between hidden start and end markers, so
that updating one (say, the verification) keeps the others (the validation, the command log).
Only the bot writes these markers: every piece of untrusted text in a section is rendered by
``bot.report``, which turns ``<`` into ``&lt;`` in prose and breaks ``<!--`` in code, so no
submitted text can forge one (``tests/test_report.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.github.client import CommentInfo
from bot.report import STICKY_MARKER

# GitHub rejects comment bodies over 65,536 characters.
MAX_COMMENT_CHARS = 65_536
TRUNCATION_NOTE = "\n\n*(Report truncated: it exceeded GitHub's comment size limit.)*\n"

SECTION_ORDER = ("validation", "commands", "status", "verification")
_SECTION_RE = re.compile(
    r"<!-- hearbot:section:(?P<name>[a-z]+) -->\n(?P<content>.*?)\n<!-- hearbot:end:(?P=name) -->",
    re.DOTALL,
)


@dataclass(frozen=True)
class StickyPlan:
    edit_id: int | None
    delete_ids: tuple[int, ...]
    body: str | None = None  # the current body of the comment to edit


def plan_sticky(comments: Iterable[CommentInfo], bot_login: str, marker: str) -> StickyPlan:
    mine = sorted(
        (c for c in comments if c.login == bot_login and marker in c.body), key=lambda c: c.id
    )
    if not mine:
        return StickyPlan(edit_id=None, delete_ids=())
    return StickyPlan(
        edit_id=mine[0].id, delete_ids=tuple(c.id for c in mine[1:]), body=mine[0].body
    )


def section_start(name: str) -> str:
    return f"<!-- hearbot:section:{name} -->"


def section_end(name: str) -> str:
    return f"<!-- hearbot:end:{name} -->"


def parse_sections(body: str | None) -> dict[str, str]:
    """The known sections of a bot comment (a comment from before sections has none)."""
    if not body or not body.startswith(STICKY_MARKER):
        return {}
    found: dict[str, str] = {}
    for match in _SECTION_RE.finditer(body):
        if match["name"] in SECTION_ORDER and match["name"] not in found:
            found[match["name"]] = match["content"]
    return found


def compose(body: str | None, name: str, content: str, **more: str) -> str:
    """``body`` (the bot's current comment, or None) with section ``name`` set to ``content``
    (and each further section named in ``more`` set to its content: one edit for several)."""
    changes = {name: content, **more}
    unknown = [key for key in changes if key not in SECTION_ORDER]
    if unknown:
        raise ValueError(f"unknown sticky-comment section {unknown[0]!r}")
    sections = parse_sections(body)
    for key, value in changes.items():
        sections[key] = value.replace(STICKY_MARKER, "").strip("\n")
    parts = [STICKY_MARKER]
    for section in SECTION_ORDER:
        if section in sections:
            parts.append(f"{section_start(section)}\n{sections[section]}\n{section_end(section)}")
    return fit_comment("\n".join(parts))


def fit_comment(body: str) -> str:
    """The body, cut at a line break if it would exceed GitHub's limit (the renderers keep
    each section within its budget, so this only guards against a renderer bug)."""
    if len(body) <= MAX_COMMENT_CHARS:
        return body
    cut = body.rfind("\n", 0, MAX_COMMENT_CHARS - len(TRUNCATION_NOTE))
    cut = cut if cut > 0 else MAX_COMMENT_CHARS - len(TRUNCATION_NOTE)
    return body[:cut] + TRUNCATION_NOTE
