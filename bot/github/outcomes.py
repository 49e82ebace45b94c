"""How a verification ends on the pull request, in one table (docs/maintainers.md, "Outcomes").

Each ``Outcome`` has one row in ``OUTCOMES``: the conclusion of the check run
``hear-leaderboard / verify``, the check run's title, and the verification label the PR keeps.

- ``pass`` → success, label ``verified``;
- ``fail`` → failure, label ``verification-failed``;
- ``error`` → action_required (a maintainer must act: re-run with ``/verify``; never success,
  and unlike ``neutral`` it does not satisfy a required check); labels unchanged (a retry
  decides);
- ``stale`` → neutral (the check sits on a commit that is no longer the PR's head, so it gates
  nothing; the new head has no verify check until someone runs one); neither label, so nothing
  stays marked verified.

An ``/override`` sets pass or fail with a title of its own (``bot.github.command_handlers``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

VERIFIED = "verified"
VERIFICATION_FAILED = "verification-failed"
VERIFICATION_LABELS = (VERIFIED, VERIFICATION_FAILED)


class Outcome(StrEnum):
    """``hearbot verify``'s verdict (pass, fail, error: ``verification.verdict`` in
    schemas/result.schema.json), or stale when the PR moved on before the report."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    STALE = "stale"


@dataclass(frozen=True)
class OnThePR:
    conclusion: str  # of the check run hear-leaderboard / verify
    title: str  # of that check run, after report-verification
    labels: tuple[str, ...] | None  # the verification labels the PR keeps; None: unchanged


OUTCOMES: dict[Outcome, OnThePR] = {
    Outcome.PASS: OnThePR(
        "success", "Verified: the claimed scores were reproduced", labels=(VERIFIED,)
    ),
    Outcome.FAIL: OnThePR(
        "failure", "Not reproduced: see the per-column table", labels=(VERIFICATION_FAILED,)
    ),
    Outcome.ERROR: OnThePR(
        "action_required", "Verification error: nothing was verified", labels=None
    ),
    Outcome.STALE: OnThePR(
        "neutral", "Stale: the pull request moved on; nothing was verified", labels=()
    ),
}
