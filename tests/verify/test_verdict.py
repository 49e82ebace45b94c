"""Per-column outcomes under the tolerance, and the overall verdict."""

from __future__ import annotations

import dataclasses

import pytest

from bot.common.schemas import leaderboard_facts
from bot.verify.verdict import (
    ColumnEvidence,
    column_score,
    judge_column,
    needs_exact_recheck,
    overall_verdict,
)

FACTS = leaderboard_facts()
ESC = FACTS.column("ESC-50")  # tolerance 0.03
BEEHIVE = FACTS.column("Beehive")  # mean of two task directories


@pytest.mark.parametrize(
    ("claimed", "reproduced", "outcome"),
    [
        ("0.8", 0.8, "reproduced"),
        ("0.8", 0.771, "reproduced"),
        ("0.8", 0.829, "reproduced"),
        ("0.8", 0.769, "mismatch"),
        ("0.8", 0.5, "mismatch"),
        ("0.8", 0.831, "above-claim"),
    ],
)
def test_outcome_follows_the_published_tolerance(
    claimed: str, reproduced: float, outcome: str
) -> None:
    judged = judge_column(ColumnEvidence(ESC, claimed, reproduced=reproduced))
    assert judged["outcome"] == outcome
    assert judged["tolerance"] == ESC.tolerance == 0.03
    assert judged["delta"] == pytest.approx(reproduced - float(claimed))


def test_mismatch_detail_names_both_numbers() -> None:
    judged = judge_column(ColumnEvidence(ESC, "0.9", reproduced=0.5))
    assert "0.5000" in judged["detail"] and "0.9" in judged["detail"]


def test_unclaimed_missing_and_failed_columns() -> None:
    assert judge_column(ColumnEvidence(ESC, ""))["outcome"] == "not-claimed"
    missing = judge_column(ColumnEvidence(ESC, "0.5", missing_task_dirs=("esc50-v2.0.0-full",)))
    assert missing["outcome"] == "not-run" and "esc50-v2.0.0-full" in missing["detail"]
    assert "`--stand-in 'ESC-50=TASK_DIR'`" in missing["detail"]
    assert "`--stand-ins synth`" in missing["detail"]
    failed = judge_column(ColumnEvidence(ESC, "0.5", error="embedding failed", log_tail="x"))
    assert failed["outcome"] == "error" and failed["log_tail"] == "x"


def _judged(*outcomes: str) -> list[dict[str, str]]:
    return [{"column": f"c{i}", "outcome": outcome} for i, outcome in enumerate(outcomes)]


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        (("reproduced", "reproduced"), "pass"),
        (("reproduced", "above-claim", "not-claimed"), "pass"),
        (("reproduced", "not-run"), "pass"),
        (("reproduced", "mismatch"), "fail"),
        (("mismatch", "error"), "fail"),
        (("reproduced", "error"), "error"),
        (("not-run", "not-claimed"), "error"),
        ((), "error"),
    ],
)
def test_overall_verdict(outcomes: tuple[str, ...], verdict: str) -> None:
    assert overall_verdict(_judged(*outcomes))[0] == verdict


def test_column_score_reads_the_score_key_and_averages_beehive() -> None:
    scores = {
        BEEHIVE.task_dirs[0]: {"test": {"test_score": 0.6}},
        BEEHIVE.task_dirs[1]: {"test": {"test_score": 0.8}},
        ESC.task_dirs[0]: {"aggregated_scores": {"test_score_mean": 0.7}},
    }
    assert column_score(BEEHIVE, scores) == pytest.approx(0.7)
    assert column_score(ESC, scores) == pytest.approx(0.7)
    with pytest.raises(KeyError, match=r"aggregated_scores\.test_score_mean"):
        column_score(ESC, {ESC.task_dirs[0]: {"test": {"test_score": 0.7}}})


@pytest.mark.parametrize(
    ("claimed", "reproduced", "recheck"),
    [
        ("0.8", 0.771, False),  # within the tolerance (0.03): reproduced
        ("0.8", 0.769, True),  # a mismatch by just over the tolerance
        ("0.8", 0.741, True),  # by just under twice the tolerance
        ("0.8", 0.739, False),  # by more than twice: a mismatch without a second run
        ("0.8", 0.85, False),  # above the claim is never re-checked
        ("", 0.5, False),  # nothing claimed
    ],
)
def test_batched_scores_close_to_a_mismatch_are_rechecked(
    claimed: str, reproduced: float, recheck: bool
) -> None:
    assert needs_exact_recheck(ESC, claimed, reproduced) is recheck
    lower_is_better = dataclasses.replace(ESC, higher_is_better=False)
    mirrored = 2 * float(claimed or 0) - reproduced  # the same distance on the other side
    assert needs_exact_recheck(lower_is_better, claimed, mirrored) is recheck


def test_a_note_says_how_the_score_was_obtained() -> None:
    judged = judge_column(ColumnEvidence(ESC, "0.8", reproduced=0.79, note="Re-checked."))
    assert judged["detail"] == "Within the tolerance of 0.03. Re-checked."
