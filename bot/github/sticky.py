"""The one sticky comment per pull request: found by the hidden marker AND the bot's login.

A comment by anyone else that carries the marker (a spoof, or a quote of the bot) is never
edited. Should a retried POST ever have left two bot comments, the oldest is kept and edited
and the others deleted, so every run ends with exactly one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.github.client import CommentInfo

# GitHub rejects comment bodies over 65,536 characters.
MAX_COMMENT_CHARS = 65_536
TRUNCATION_NOTE = "\n\n*(Report truncated: it exceeded GitHub's comment size limit.)*\n"


@dataclass(frozen=True)
class StickyPlan:
    edit_id: int | None
    delete_ids: tuple[int, ...]


def plan_sticky(comments: Iterable[CommentInfo], bot_login: str, marker: str) -> StickyPlan:
    mine = sorted(
        (c for c in comments if c.login == bot_login and marker in c.body), key=lambda c: c.id
    )
    if not mine:
        return StickyPlan(edit_id=None, delete_ids=())
    return StickyPlan(edit_id=mine[0].id, delete_ids=tuple(c.id for c in mine[1:]))


def fit_comment(body: str) -> str:
    """The body, cut at a line break if it would exceed GitHub's limit (the renderer keeps it
    under 65,000 characters, so this only guards against a renderer bug)."""
    if len(body) <= MAX_COMMENT_CHARS:
        return body
    cut = body.rfind("\n", 0, MAX_COMMENT_CHARS - len(TRUNCATION_NOTE))
    cut = cut if cut > 0 else MAX_COMMENT_CHARS - len(TRUNCATION_NOTE)
    return body[:cut] + TRUNCATION_NOTE
