"""The real 2023 pull request that added the three RedRice CED rows, replayed on today's file.

Its leaderboard.csv (../shared/data/history/leaderboard-2023-08-25-4505d11.csv) has a BOM, a
final newline, 17-digit floats, the old header without "Submission Date", and three rows
appended at once. The maintainers later rounded those rows by hand to 9 decimals: the fixes
the validator proposes must be exactly the values that ended up in leaderboard.csv.
"""

from __future__ import annotations

import re

import pytest

from tests.rowgen import (
    BASE_LINES,
    BASE_ROWS,
    HEADER,
    HISTORY_FILE,
    check,
    error_codes,
    findings_of,
)

CED_MODELS = ["RedRice ced_mini", "RedRice ced_small", "RedRice ced_base"]


@pytest.fixture(scope="module")
def history_text():
    if not HISTORY_FILE.exists():
        pytest.skip(f"{HISTORY_FILE} is not available (../shared/data is absent)")
    data = HISTORY_FILE.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.endswith(b"\n")
    return data.decode("utf-8-sig")


@pytest.fixture(scope="module")
def replay(history_text):
    """(base, head, appended rows) of the 2023 PR rebuilt on today's header."""
    old_rows = history_text.rstrip("\n").split("\n")[-3:]
    assert [row.split(",", 1)[0] for row in old_rows] == CED_MODELS
    rows = []
    for row in old_rows:
        fields = row.split(",")
        fields.insert(2, "2023-08-25")
        rows.append(",".join(fields))
    assert [row.split(",", 1)[0] for row in BASE_ROWS[-3:]] == CED_MODELS
    base_lines = BASE_LINES[:-3]
    base = "\n".join(base_lines).encode("utf-8")
    head = b"\xef\xbb\xbf" + base + b"\n" + "\n".join(rows).encode("utf-8") + b"\n"
    return base, head, rows


def test_replayed_pr_gets_each_specific_finding(replay):
    base, head, _ = replay
    result = check(head, base)
    assert result["ok"] is False
    expected = {"bom", "trailing-newline", "multiple-new-rows", "score-precision"}
    assert error_codes(result) == expected

    (bom,) = findings_of(result, "bom")
    assert bom["line"] == 1 and "python3 -c" in bom["fix"]

    (newline,) = findings_of(result, "trailing-newline")
    assert newline["line"] == 35 and "python3 -c" in newline["fix"]

    (several,) = findings_of(result, "multiple-new-rows")
    assert several["line"] == 33
    assert "3 rows were added (lines 33, 34, 35" in several["message"]
    for model in CED_MODELS:
        assert model in several["message"]


def test_precision_fixes_are_the_values_the_maintainers_committed(replay):
    base, head, rows = replay
    result = check(head, base)
    committed = {
        row.split(",", 1)[0]: dict(zip(HEADER.split(","), row.split(","), strict=True))
        for row in BASE_ROWS[-3:]
    }
    precision = findings_of(result, "score-precision")
    # 57 scores, of which two (0.640209794, 0.643275606) already had 9 decimals.
    assert len(precision) == 55
    for finding in precision:
        model = rows[finding["line"] - 33].split(",", 1)[0]
        claimed = dict(zip(HEADER.split(","), rows[finding["line"] - 33].split(","), strict=True))
        value = claimed[finding["column"]]
        decimals = len(value.split(".")[1])
        assert decimals > 9
        assert f"score {value} has {decimals} decimals (at most 9)" in finding["message"]
        rounded = re.fullmatch(r"Round it to 9 decimals: `([0-9.]+)`\.", finding["fix"])
        assert rounded, finding["fix"]
        assert rounded.group(1) == committed[model][finding["column"]]


def test_the_2023_file_itself_against_todays_header(history_text, replay):
    base, _, _ = replay
    result = check(history_text.encode("utf-8"), base)
    codes = error_codes(result)
    assert {"header-changed", "trailing-newline"} <= codes
    (header,) = findings_of(result, "header-changed")
    assert "Field 3 should be 'Submission Date' but is 'Beehive'" in header["message"]
    assert result["ok"] is False


def test_one_ced_row_alone_with_rounded_scores_is_accepted(replay):
    """The PR as it should have been: one row, rounded, no BOM, no final newline."""
    base, _, _ = replay
    result = check(base + b"\n" + BASE_ROWS[-3].encode("utf-8"), base)
    assert result["ok"] is True, result["errors"]
