"""How a verification ends on the pull request, in one table (docs/maintainers.md, "Outcomes").

Each ``ReportOutcome`` has one row in ``OUTCOMES``: the conclusion of the check run
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

from bot.verify.verdict import Verdict

VERIFIED = "verified"
VERIFICATION_FAILED = "verification-failed"
VERIFICATION_LABELS = (VERIFIED, VERIFICATION_FAILED)


class ReportOutcome(StrEnum):
    """``hearbot verify``'s verdict (``bot.verify.verdict.Verdict``: pass, fail, error), or
    stale when the PR moved on before the report."""

    PASS = Verdict.PASS.value
    FAIL = Verdict.FAIL.value
    ERROR = Verdict.ERROR.value
    STALE = "stale"


@dataclass(frozen=True)
class OnThePR:
    conclusion: str  # of the check run hear-leaderboard / verify
    title: str  # of that check run, after report-verification
    labels: tuple[str, ...] | None  # the verification labels the PR keeps; None: unchanged


OUTCOMES: dict[ReportOutcome, OnThePR] = {
    ReportOutcome.PASS: OnThePR(
        "success", "Verified: the claimed scores were reproduced", labels=(VERIFIED,)
    ),
    ReportOutcome.FAIL: OnThePR(
        "failure", "Not reproduced: see the per-column table", labels=(VERIFICATION_FAILED,)
    ),
    ReportOutcome.ERROR: OnThePR(
        "action_required", "Verification error: nothing was verified", labels=None
    ),
    ReportOutcome.STALE: OnThePR(
        "neutral", "Stale: the pull request moved on; nothing was verified", labels=()
    ),
}
