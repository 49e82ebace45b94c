"""Per-column outcomes under the published interval rule, and the overall verdict."""

from __future__ import annotations

import dataclasses
import math

import pytest

from bot.common.schemas import leaderboard_facts
from bot.verify.verdict import (
    ColumnEvidence,
    column_score,
    judge_column,
    needs_exact_recheck,
    overall_verdict,
    prediction_interval,
    student_t,
)

FACTS = leaderboard_facts()
# The rule's numbers are fixed here, not read from tasks.json, so that a recalibration does not
# silently move what these tests check.
ESC = dataclasses.replace(FACTS.column("ESC-50"), floor=0.01, cap=0.1, confidence=0.99)
BEEHIVE = FACTS.column("Beehive")  # mean of two task directories
# Five members: mean 0.80, sample sd sqrt(0.001 / 4) = 0.0158114.
MEMBERS = (0.80, 0.82, 0.78, 0.81, 0.79)
# Student t, 4 degrees of freedom, two-sided 99 %: 4.604 (printed tables).
HALF = 4.604094 * math.sqrt(0.001 / 4) * math.sqrt(1 + 1 / 5)


def judge(claimed: str, members: tuple[float, ...], column=ESC) -> dict:
    return judge_column(ColumnEvidence(column, claimed, reproduced=members[0], members=members))


def test_student_t_matches_the_printed_tables() -> None:
    assert student_t(0.99, 4) == pytest.approx(4.604094, abs=1e-5)
    assert student_t(0.95, 9) == pytest.approx(2.262157, abs=1e-5)
    assert student_t(0.99, 1000) == pytest.approx(2.5808, abs=1e-3)


def test_the_interval_is_mean_plus_minus_t_sd_sqrt_one_plus_one_over_k() -> None:
    interval = prediction_interval(MEMBERS, floor=0.01, cap=0.1, confidence=0.99)
    assert interval.mean == pytest.approx(0.80)
    assert interval.sd == pytest.approx(math.sqrt(0.001 / 4))
    assert interval.half_width == pytest.approx(HALF)
    assert (interval.low, interval.high) == pytest.approx((0.80 - HALF, 0.80 + HALF))


@pytest.mark.parametrize(
    ("claimed", "outcome"),
    [
        (0.80 + HALF - 1e-6, "reproduced"),  # just inside, above the mean
        (0.80 + HALF + 1e-6, "mismatch"),  # just outside: the claim beats every plausible run
        (0.80 - HALF + 1e-6, "reproduced"),  # just inside, below the mean
        (0.80 - HALF - 1e-6, "above-claim"),  # reproduced better than claimed: flagged only
        (0.80, "reproduced"),
    ],
)
def test_a_claim_just_inside_and_just_outside_the_interval(claimed: float, outcome: str) -> None:
    judged = judge(f"{claimed:.9f}", MEMBERS)
    assert judged["outcome"] == outcome, judged["detail"]
    assert judged["tolerance"] == pytest.approx(HALF)
    assert judged["members"] == list(MEMBERS)
    assert judged["mean"] == pytest.approx(0.80)
    assert judged["interval"]["k"] == 5 and judged["interval"]["confidence"] == 0.99
    # Lower is better: the same distances mirrored around the mean give the same outcome.
    lower = dataclasses.replace(ESC, higher_is_better=False)
    mirrored = tuple(1.6 - m for m in MEMBERS)
    assert judge(f"{1.6 - claimed:.9f}", mirrored, lower)["outcome"] == outcome


def test_zero_spread_falls_back_to_the_floor() -> None:
    same = (0.8,) * 5
    assert judge("0.8099", same)["outcome"] == "reproduced"
    judged = judge("0.8101", same)
    assert judged["outcome"] == "mismatch"
    assert judged["tolerance"] == 0.01 and judged["sd"] == 0.0
    assert judge("0.7899", same)["outcome"] == "above-claim"


def test_one_member_has_no_spread_so_the_floor_is_the_interval() -> None:
    judged = judge("0.8099", (0.8,))
    assert judged["outcome"] == "reproduced" and judged["interval"]["k"] == 1
    assert "floor" in judged["detail"]
    assert judge("0.8101", (0.8,))["outcome"] == "mismatch"
    # Without members the evidence's reproduced score is the one member.
    alone = judge_column(ColumnEvidence(ESC, "0.8101", reproduced=0.8))
    assert alone["outcome"] == "mismatch" and alone["members"] == [0.8]


def test_a_larger_per_clip_sd_replaces_the_members_sd() -> None:
    """Members that agree on a score by chance while getting different clips right: their
    per-clip sd (0.018) is larger than their sample sd (0.0158), so it sets the width."""
    wide = 4.604094 * 0.018 * math.sqrt(1 + 1 / 5)
    claim = 0.80 + (HALF + wide) / 2  # outside the sample-sd interval, inside the per-clip one
    assert judge(f"{claim:.9f}", MEMBERS)["outcome"] == "mismatch"
    evidence = ColumnEvidence(ESC, f"{claim:.9f}", reproduced=0.80, members=MEMBERS, clip_sd=0.018)
    judged = judge_column(evidence)
    assert judged["outcome"] == "reproduced", judged["detail"]
    assert judged["tolerance"] == pytest.approx(wide)
    assert judged["sd"] == pytest.approx(math.sqrt(0.001 / 4))  # still the members' own
    assert judged["interval"]["clip_sd"] == 0.018
    assert "per-clip sd 0.0180 is larger" in judged["detail"]
    outside = dataclasses.replace(evidence, claimed=f"{0.80 + wide + 1e-6:.9f}")
    assert judge_column(outside)["outcome"] == "mismatch"


def test_a_smaller_per_clip_sd_changes_nothing_and_a_bad_one_is_an_error() -> None:
    small = ColumnEvidence(ESC, "0.80", reproduced=0.80, members=MEMBERS, clip_sd=0.001)
    judged = judge_column(small)
    assert judged["tolerance"] == pytest.approx(HALF)
    assert judged["interval"]["clip_sd"] == 0.001 and "per-clip" not in judged["detail"]
    assert "clip_sd" not in judge("0.80", MEMBERS)["interval"]
    for bad in (math.nan, -0.01):
        broken = judge_column(dataclasses.replace(small, clip_sd=bad))
        assert broken["outcome"] == "error" and "per-clip sd" in broken["detail"]


def test_spread_beyond_the_cap_is_inconclusive_whatever_the_claim() -> None:
    noisy = (0.60, 0.75, 0.55, 0.70, 0.65)  # sd 0.079: half-width 0.40 > cap 0.1
    for claimed in ("0.65", "0.99", "0.1"):
        judged = judge(claimed, noisy)
        assert judged["outcome"] == "inconclusive", claimed
        assert "too noisy" in judged["detail"].lower() and "cap 0.1" in judged["detail"]
        assert judged["tolerance"] > ESC.cap


def test_real_drift_of_the_official_kit_is_never_a_mismatch() -> None:
    """The official kit on the same spoken_digit embeddings gave top1 0.370 under torch 2.6
    and 0.240 under torch 2.13 (the issue's numbers; hearbot's exact mode equals the 2.13 run).
    A submitter who ran the kit under torch 2.6 claims 0.370; hearbot's member 0 is 0.240.

    The spread of the other members is the one measured on the real spoken_digit task (5 folds
    of 20 test clips): the kit's result for hearbaseline.naive as only the run changes
    (tests/verify/test_hearbaseline.py, KIT_SPREAD: 0.07 on the recording machine, 0.09 on a
    Xeon with 2 threads, 0.03 / 0.04 / 0.10 with 1 thread under three CPU kernel paths), each
    taken as a deviation from the recording machine's 0.07."""
    measured = (0.07, 0.09, 0.03, 0.04, 0.10)
    members = tuple(0.240 + m - measured[0] for m in measured)
    column = FACTS.column("ESC-50")  # 5-fold top1 like spoken_digit, with the published rule
    judged = judge_column(ColumnEvidence(column, "0.370", reproduced=0.240, members=members))
    assert judged["outcome"] in ("reproduced", "inconclusive"), judged["detail"]
    # The spread is that of 20 test clips a fold: too wide to judge anything, and it says so.
    assert judged["outcome"] == "inconclusive" and "too noisy" in judged["detail"].lower()
    # The same with the protocol's own seed spread on that task, measured: `hearbot evaluate
    # --seeds 10` on hearbaseline.naive's spoken_digit embeddings (2026-12-06, this CPU; member
    # k seeded 42 + k; docs/tolerances.md). Every 5-member window of those seeds, as deviations
    # from member 0 around 0.240, judges the claim 0.370 inconclusive or reproduced.
    seeds = (0.10, 0.11, 0.06, 0.06, 0.06, 0.17, 0.04, 0.06, 0.11, 0.05)
    for start in range(len(seeds) - 4):
        window = seeds[start : start + 5]
        members = tuple(0.240 + m - window[0] for m in window)
        judged = judge_column(ColumnEvidence(column, "0.370", reproduced=0.240, members=members))
        assert judged["outcome"] in ("reproduced", "inconclusive"), (window, judged["detail"])
    # With K = 1 (no spread) the same claim would be failed by the floor alone: the ensemble
    # is what keeps an honest submitter from being failed.
    alone = judge_column(ColumnEvidence(column, "0.370", reproduced=0.240))
    assert alone["outcome"] == "mismatch"


def test_non_finite_members_are_an_error_not_a_verdict() -> None:
    judged = judge("0.8", (0.8, float("nan")))
    assert judged["outcome"] == "error" and "cannot be judged" in judged["detail"]


def test_mismatch_detail_names_the_claim_and_the_interval() -> None:
    judged = judge("0.9", MEMBERS)
    assert "0.9" in judged["detail"] and f"{0.80 + HALF:.4f}" in judged["detail"]


def test_unclaimed_missing_and_failed_columns() -> None:
    assert judge_column(ColumnEvidence(ESC, ""))["outcome"] == "not-claimed"
    missing = judge_column(ColumnEvidence(ESC, "0.5", missing_task_dirs=("esc50-v2.0.0-full",)))
    assert missing["outcome"] == "not-run" and "esc50-v2.0.0-full" in missing["detail"]
    assert "`--stand-in 'ESC-50=TASK_DIR'`" in missing["detail"]
    assert "`--stand-ins synth`" in missing["detail"]
    failed = judge_column(ColumnEvidence(ESC, "0.5", error="embedding failed", log_tail="x"))
    assert failed["outcome"] == "error" and failed["log_tail"] == "x"
    assert "interval" not in failed


def _judged(*outcomes: str) -> list[dict[str, str]]:
    return [{"column": f"c{i}", "outcome": outcome} for i, outcome in enumerate(outcomes)]


@pytest.mark.parametrize(
    ("outcomes", "verdict"),
    [
        (("reproduced", "reproduced"), "pass"),
        (("reproduced", "above-claim", "not-claimed"), "pass"),
        (("reproduced", "not-run"), "pass"),
        (("reproduced", "inconclusive"), "pass"),
        (("inconclusive", "mismatch"), "fail"),
        (("inconclusive", "not-claimed"), "error"),
        (("reproduced", "mismatch"), "fail"),
        (("mismatch", "error"), "fail"),
        (("reproduced", "error"), "error"),
        (("not-run", "not-claimed"), "error"),
        ((), "error"),
    ],
)
def test_overall_verdict(outcomes: tuple[str, ...], verdict: str) -> None:
    assert overall_verdict(_judged(*outcomes))[0] == verdict


def test_the_reason_names_inconclusive_columns() -> None:
    verdict, reason = overall_verdict(_judged("reproduced", "inconclusive"))
    assert verdict == "pass" and "too noisy to judge (inconclusive): c1" in reason


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
    ("claimed", "members", "recheck"),
    [
        ("0.8", (0.8,), False),  # reproduced (floor 0.01)
        ("0.8", (0.789,), True),  # a mismatch by just over the floor
        ("0.8", (0.781,), True),  # by just under one more half-width
        ("0.8", (0.779,), False),  # by more: a mismatch without a second run
        ("0.8", (0.85,), False),  # above the claim is never re-checked
        ("", (0.5,), False),  # nothing claimed
        ("0.99", (0.60, 0.75, 0.55, 0.70, 0.65), False),  # inconclusive: nothing to re-check
    ],
)
def test_batched_scores_close_to_a_mismatch_are_rechecked(
    claimed: str, members: tuple[float, ...], recheck: bool
) -> None:
    assert needs_exact_recheck(ESC, claimed, members) is recheck
    lower_is_better = dataclasses.replace(ESC, higher_is_better=False)
    mirrored = tuple(2 * float(claimed or 0) - m for m in members)
    assert needs_exact_recheck(lower_is_better, claimed, mirrored) is recheck


def test_a_note_says_how_the_score_was_obtained() -> None:
    judged = judge_column(ColumnEvidence(ESC, "0.8", reproduced=0.79, note="Re-checked."))
    assert judged["outcome"] == "reproduced" and judged["detail"].endswith(" Re-checked.")


def test_every_column_publishes_a_consistent_rule() -> None:
    for column in FACTS.columns:
        assert 0 < column.floor <= column.cap < 1, column.name
        assert 0.5 <= column.confidence < 1, column.name
