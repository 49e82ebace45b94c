"""Labels: every reported PR has ``submission`` and exactly one of ``valid`` / ``invalid``; a
verified one at most one of ``verified`` / ``verification-failed`` (``bot.github.outcomes``).

GitHub compares label names case-insensitively, and so does this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.github.outcomes import OUTCOMES, VERIFICATION_LABELS, ReportOutcome

SUBMISSION = "submission"
VALID = "valid"
INVALID = "invalid"


@dataclass(frozen=True)
class LabelChanges:
    add: tuple[str, ...]
    remove: tuple[str, ...]


def label_changes(current: Iterable[str], ok: bool) -> LabelChanges:
    current = list(current)
    have = {name.casefold() for name in current}
    verdict, other = (VALID, INVALID) if ok else (INVALID, VALID)
    add = tuple(name for name in (SUBMISSION, verdict) if name not in have)
    remove = tuple(name for name in current if name.casefold() == other)
    return LabelChanges(add=add, remove=remove)


def verification_label_changes(current: Iterable[str], outcome: str) -> LabelChanges:
    """The verification labels that ``outcome`` keeps (``bot.github.outcomes.OUTCOMES``) added,
    the other one removed; ``error`` changes nothing (a retry decides)."""
    current = list(current)
    have = {name.casefold() for name in current}
    wanted = OUTCOMES[ReportOutcome(outcome)].labels
    if wanted is None:
        return LabelChanges(add=(), remove=())
    unwanted = set(VERIFICATION_LABELS) - set(wanted)
    add = tuple(name for name in wanted if name not in have)
    remove = tuple(name for name in current if name.casefold() in unwanted)
    return LabelChanges(add=add, remove=remove)
