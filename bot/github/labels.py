"""Labels: every reported PR has ``submission`` and exactly one of ``valid`` / ``invalid``.

GitHub compares label names case-insensitively, and so does this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

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


VERIFIED = "verified"
VERIFICATION_FAILED = "verification-failed"


def verification_label_changes(current: Iterable[str], outcome: str) -> LabelChanges:
    """``pass``: verified; ``fail``: verification-failed; ``stale``: neither (the head moved, so
    nothing stays marked verified); ``error``: unchanged (a retry decides)."""
    current = list(current)
    have = {name.casefold() for name in current}
    wanted = {"pass": (VERIFIED,), "fail": (VERIFICATION_FAILED,), "stale": ()}.get(outcome)
    if wanted is None:
        return LabelChanges(add=(), remove=())
    unwanted = {VERIFIED, VERIFICATION_FAILED} - set(wanted)
    add = tuple(name for name in wanted if name not in have)
    remove = tuple(name for name in current if name.casefold() in unwanted)
    return LabelChanges(add=add, remove=remove)
