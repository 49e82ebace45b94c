"""The check run ``hear-leaderboard / verify`` on the verified SHA (pure payloads).

Conclusions: ``pass`` → success, ``fail`` → failure, ``error`` → action_required (a maintainer
must act: re-run with ``/verify``; never success, and unlike ``neutral`` it does not satisfy a
required check), ``stale`` → neutral (the check sits on a commit that is no longer the PR's
head, so it gates nothing; the new head has no verify check until someone runs one).
An ``/override`` sets success or failure and says so in the title.
"""

from __future__ import annotations

from typing import Any

from bot.github.checks import MAX_OUTPUT_CHARS, MAX_TITLE_CHARS

VERIFY_CHECK_NAME = "hear-leaderboard / verify"
CONCLUSIONS = {
    "pass": "success",
    "fail": "failure",
    "error": "action_required",
    "stale": "neutral",
}


def verify_check_payload(outcome: str, title: str, summary: str) -> dict[str, Any]:
    return {
        "status": "completed",
        "conclusion": CONCLUSIONS[outcome],
        "output": {
            "title": _clip(title, MAX_TITLE_CHARS),
            "summary": _clip(summary, MAX_OUTPUT_CHARS),
        },
    }


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
