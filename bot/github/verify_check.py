"""The check run ``hear-leaderboard / verify`` on the verified SHA (pure payloads).

Its conclusion is the outcome's (``bot.github.outcomes.OUTCOMES``); the title is the outcome's,
or an ``/override``'s own.
"""

from __future__ import annotations

from typing import Any

from bot.github.checks import MAX_OUTPUT_CHARS, MAX_TITLE_CHARS, clip
from bot.github.outcomes import OUTCOMES, ReportOutcome

VERIFY_CHECK_NAME = "hear-leaderboard / verify"


def verify_check_payload(outcome: ReportOutcome, title: str, summary: str) -> dict[str, Any]:
    return {
        "status": "completed",
        "conclusion": OUTCOMES[outcome].conclusion,
        "output": {
            "title": clip(title, MAX_TITLE_CHARS),
            "summary": clip(summary, MAX_OUTPUT_CHARS),
        },
    }
