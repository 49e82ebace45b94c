"""File-level problems of leaderboard.csv: bytes, line endings, the append-only diff, row count.

Each case is one of the mistakes seen in the real history of the file, rebuilt on the current
leaderboard.csv (34 rows), with the specific message and a pasteable fix.
"""

from __future__ import annotations

import contextlib
import signal
import time

import pytest

from bot.submission.validate import MAX_HEAD_BYTES, BaseFileError
from tests.rowgen import (
    BASE,
    BASE_LINES,
    BASE_ROWS,
    HEADER,
    NEW_LINE,
    SCORE_COLUMNS,
    append,
    check,
    error_codes,
    findings_of,
    make_row,
    result_schema_errors,
)

RESTORE = "git checkout origin/main -- leaderboard.csv"
ROW = make_row()
EXISTING = len(BASE_ROWS)  # 34


def only(result, code):
    (finding,) = findings_of(result, code)
    return finding


def join(lines):
    return "\n".join(lines).encode("utf-8")


# ------------------------------------------------------------------ bytes and line endings


def test_crlf_whole_file_rewrite():
    head = append(ROW).replace(b"\n", b"\r\n")
    result = check(head)
    assert error_codes(result) == {"line-endings"}
    finding = only(result, "line-endings")
    assert finding["line"] == 1
    assert f"all {EXISTING} existing rows" in finding["message"]
    assert EXISTING == 34
    assert "CRLF" in finding["message"]
    assert RESTORE in finding["fix"] and "append your row again" in finding["fix"]
    assert result["submission"]["row"]["Model"] == make_row().split(",")[0]


def test_crlf_whole_file_rewrite_with_final_newline():
    head = (append(ROW) + b"\n").replace(b"\n", b"\r\n")
    result = check(head)
    assert error_codes(result) == {"line-endings", "trailing-newline"}


def test_crlf_on_the_new_row_only_is_not_blamed_on_existing_rows():
    head = append(ROW) + b"\r\n"
    result = check(head)
    assert error_codes(result) == {"line-endings", "trailing-newline"}
    finding = only(result, "line-endings")
    assert finding["line"] == NEW_LINE
    assert "existing" not in finding["message"]
    assert RESTORE not in finding["fix"]


def test_some_existing_lines_with_crlf_are_listed():
    lines = BASE_LINES[:]
    head = ("\r\n".join(lines[:3]) + "\n" + "\n".join(lines[3:]) + "\n" + ROW).encode()
    result = check(head)
    finding = only(result, "line-endings")
    assert error_codes(result) == {"line-endings"}
    assert "2 existing line(s)" in finding["message"] and ": 1, 2." in finding["message"]


def test_cr_only_whole_file_rewrite():
    head = append(ROW).replace(b"\n", b"\r")
    result = check(head)
    assert error_codes(result) == {"line-endings"}
    finding = only(result, "line-endings")
    assert f"all {EXISTING} existing rows" in finding["message"]
    assert RESTORE in finding["fix"]


def test_crlf_rows_but_lf_header_does_not_blame_the_header():
    head = (HEADER + "\n" + "\r\n".join(BASE_ROWS) + "\r\n" + ROW).encode()
    finding = only(check(head), "line-endings")
    assert f"all {EXISTING} existing rows" in finding["message"]
    assert "header" not in finding["message"]


def test_bom_alone():
    result = check(b"\xef\xbb\xbf" + append(ROW))
    assert error_codes(result) == {"bom"}
    finding = only(result, "bom")
    assert finding["line"] == 1
    assert "byte-order mark" in finding["message"]
    assert "removeprefix(b'\\xef\\xbb\\xbf')" in finding["fix"]
    assert result["submission"]["line"] == NEW_LINE


def test_final_newline_alone():
    result = check(append(ROW) + b"\n")
    assert error_codes(result) == {"trailing-newline"}
    finding = only(result, "trailing-newline")
    assert finding["line"] == NEW_LINE
    assert "a final newline" in finding["message"]
    assert "truncate" not in finding["fix"]  # GNU only; the fix runs on macOS too
    assert "`python3 -c " in finding["fix"]


def test_two_final_newlines():
    result = check(append(ROW) + b"\n\n")
    assert error_codes(result) == {"trailing-newline"}
    finding = only(result, "trailing-newline")
    assert "2 newlines" in finding["message"]
    assert finding["fix"].startswith("Remove them (macOS and Linux): `python3 -c ")


def test_latin1_row_is_an_encoding_error_on_its_line():
    row = make_row(model="Université X net").encode("latin-1")
    result = check(append(row))
    assert error_codes(result) == {"encoding"}
    finding = only(result, "encoding")
    assert finding["line"] == NEW_LINE
    assert "UTF-8" in finding["message"]


def test_invalid_utf8_inside_an_existing_row():
    lines = BASE.split(b"\n")
    assert lines[3].startswith(b"Sony ")
    lines[3] = lines[3].replace(b"Sony", b"S\xffny")
    result = check(b"\n".join(lines) + b"\n" + ROW.encode())
    assert error_codes(result) == {"encoding", "row-modified"}
    assert only(result, "encoding")["line"] == 4
    assert only(result, "row-modified")["line"] == 4


# ------------------------------------------------------------------ how many rows


def test_three_rows_appended_at_once():
    rows = [make_row(model=f"Acme Labs Net {size}") for size in ("mini", "small", "base")]
    result = check(append(*rows))
    assert error_codes(result) == {"multiple-new-rows"}
    finding = only(result, "multiple-new-rows")
    assert finding["line"] == NEW_LINE
    assert "3 rows were added" in finding["message"]
    assert f"lines {NEW_LINE}, {NEW_LINE + 1}, {NEW_LINE + 2}" in finding["message"]
    for size in ("mini", "small", "base"):
        assert f"Acme Labs Net {size}" in finding["message"]
    assert "one pull request per other model" in finding["fix"]
    assert result["submission"] is None


def test_each_of_several_new_rows_is_still_checked():
    result = check(append(make_row(), make_row(model="Acme Labs Other", date="HEAR 2021")))
    assert error_codes(result) == {"multiple-new-rows", "date"}
    assert only(result, "date")["line"] == NEW_LINE + 1


def test_the_same_model_twice_among_new_rows():
    result = check(append(make_row(), make_row(model=make_row().split(",")[0].upper())))
    assert error_codes(result) == {"multiple-new-rows", "duplicate-model"}
    finding = only(result, "duplicate-model")
    assert finding["line"] == NEW_LINE + 1
    assert f"line {NEW_LINE}" in finding["message"]


def test_no_new_row():
    result = check(BASE)
    assert error_codes(result) == {"no-new-row"}
    assert only(result, "no-new-row")["line"] is None


def test_blank_line_before_the_row():
    result = check(BASE + b"\n\n" + ROW.encode())
    assert error_codes(result) == {"field-count"}
    finding = only(result, "field-count")
    assert finding["line"] == NEW_LINE
    assert "blank" in finding["message"]
    assert result["submission"]["line"] == NEW_LINE + 1


@pytest.mark.parametrize(
    ("row_index", "extra_codes"),
    [
        pytest.param(5, {"date"}, id="legacy-row-HEAR-2021"),
        pytest.param(29, set(), id="dated-row-2023"),
    ],
)
def test_duplicate_of_an_existing_row(row_index, extra_codes):
    copied = BASE_ROWS[row_index]
    result = check(append(copied))
    assert error_codes(result) == {"duplicate-model"} | extra_codes
    finding = only(result, "duplicate-model")
    assert finding["line"] == NEW_LINE
    assert f"exact copy of existing row {row_index + 2}" in finding["message"]
    assert copied.split(",")[0] in finding["message"]


def test_17_digit_floats():
    values = {
        "Beehive": "0.59170042439999992",
        "ESC-50": "0.95349998469999997",
        "Gunshot": "0.86011906179999997",
    }
    result = check(append(make_row(scores=values)))
    assert error_codes(result) == {"score-precision"}
    fixes = {f["column"]: f["fix"] for f in findings_of(result, "score-precision")}
    assert fixes.keys() == values.keys()
    assert "`0.591700424`" in fixes["Beehive"]
    assert "`0.953499985`" in fixes["ESC-50"]
    assert "`0.860119062`" in fixes["Gunshot"]
    for finding in findings_of(result, "score-precision"):
        assert "17 decimals" in finding["message"]


# ------------------------------------------------------------------ existing rows


def test_header_changed():
    lines = BASE_LINES[:]
    lines[0] = lines[0].replace("ESC-50", "ESC50")
    result = check(join([*lines, ROW]))
    assert error_codes(result) == {"header-changed"}
    finding = only(result, "header-changed")
    assert finding["line"] == 1
    assert "Field 8 should be 'ESC-50' but is 'ESC50'" in finding["message"]


def test_header_with_a_new_column():
    lines = BASE_LINES[:]
    lines[0] += ",My Task"
    result = check(join([*lines, ROW + ",0.5"]))
    assert error_codes(result) == {"header-changed", "field-count"}
    assert "1 extra field" in only(result, "header-changed")["message"]


def test_rerounded_existing_row():
    lines = BASE_LINES[:]
    lines[9] = lines[9].replace("0.93634752", "0.9363")
    result = check(join([*lines, ROW]))
    assert error_codes(result) == {"row-modified"}
    finding = only(result, "row-modified")
    assert finding["line"] == 10
    assert "Existing row 10 (Descript/MARL Wav2CLIP) was changed" in finding["message"]
    assert RESTORE in finding["fix"]


def test_removed_row():
    lines = BASE_LINES[:]
    del lines[4]
    result = check(join([*lines, ROW]))
    assert error_codes(result) == {"row-removed"}
    finding = only(result, "row-removed")
    assert "Existing row 5 (CP-JKU PaSST 2lvl) was removed" in finding["message"]
    assert RESTORE in finding["fix"]


def test_moved_row():
    lines = BASE_LINES[:]
    lines.insert(len(lines), lines.pop(1))
    result = check(join([*lines, ROW]))
    assert error_codes(result) == {"row-removed"}
    finding = only(result, "row-removed")
    assert "was moved to line 35" in finding["message"]
    assert finding["line"] == 35


def test_row_inserted_in_the_middle():
    lines = BASE_LINES[:]
    lines.insert(5, ROW)
    result = check(join(lines))
    assert error_codes(result) == {"row-modified"}
    finding = only(result, "row-modified")
    assert finding["line"] == 6
    assert "inserts a row between existing rows" in finding["message"]
    assert "end of the file" in finding["fix"]
    assert result["submission"]["line"] == 6


def test_empty_head():
    result = check(b"")
    assert result["ok"] is False
    assert {"header-changed", "row-removed", "no-new-row"} <= error_codes(result)
    assert len(findings_of(result, "row-removed")) == EXISTING


def test_file_too_large():
    head = append(*([make_row(default_score="")] * (MAX_HEAD_BYTES // 60)))
    assert len(head) > MAX_HEAD_BYTES
    result = check(head)
    assert error_codes(result) == {"file-too-large"}
    assert RESTORE in only(result, "file-too-large")["fix"]


def test_base_with_another_header_is_refused():
    base = BASE.replace(b"Beehive", b"Bees", 1)
    with pytest.raises(BaseFileError, match=r"tasks\.json"):
        check(append(ROW, base=base), base=base)


def test_result_follows_its_schema():
    for head in (append(ROW), BASE, append(ROW, ROW) + b"\r\n", b"\xef\xbb\xbf" + BASE):
        assert result_schema_errors(check(head)) == []


# ------------------------------------------------------------------ hostile sizes


@pytest.mark.parametrize(
    "head",
    [
        pytest.param(
            append(make_row(model="Acme " + "x" * 2500)),
            id="2500-character-model-cell",
        ),
        pytest.param(
            append(*(make_row(model=f"Acme Labs Very Long Model Name {i}") for i in range(150))),
            id="150-new-rows",
        ),
        pytest.param(
            append(make_row(model="Acme " + "".join(chr(0xE000 + i) for i in range(5100)))),
            id="5100-distinct-invisible-characters",
        ),
    ],
)
def test_hostile_input_still_gives_a_result_that_follows_the_schema(head):
    result = check(head)
    assert result["ok"] is False
    assert result_schema_errors(result) == []


def test_thousands_of_errors_are_capped_and_counted():
    bad = make_row(model="=Acme", url="http://a", date="soon", default_score=".5")
    result = check(append(*(bad.replace("Acme", f"Acme{i}") for i in range(80))))
    assert len(result["errors"]) == 1000
    (warning,) = findings_of(result, "too-many-findings")
    assert "further error(s) are not listed" in warning["message"]
    assert result_schema_errors(result) == []


def test_forbidden_characters_are_listed_once_each_and_capped():
    result = check(append(make_row(model="Ac\u200bme\u200b \u202eNet \u2066x\u2067y\u2068z\u2069")))
    found = findings_of(result, "forbidden-character")
    assert 1 <= len(found) <= 5
    assert sum("U+200B" in f["message"] for f in found) == 1


@contextlib.contextmanager
def time_limit(seconds):
    def expire(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_thousands_of_appended_rows_are_validated_quickly():
    rows = [
        make_row(model=f"Acme {i}", url="https://a.io", default_score="", scores={"ESC-50": "0.5"})
        for i in range(2000)
    ]
    head = append(*rows)
    assert len(head) < MAX_HEAD_BYTES
    start = time.monotonic()
    with time_limit(3):
        result = check(head)
    assert error_codes(result) == {"multiple-new-rows"}
    assert time.monotonic() - start < 3


def test_score_columns_are_the_header_tail():
    assert HEADER.split(",")[3:] == list(SCORE_COLUMNS)


def test_every_registered_code_is_produced_by_some_submission():
    """No dead codes: each one in CODES comes out of a realistic scenario."""
    from bot.submission.findings import CODES
    from bot.submission.validate import ChangedFile
    from tests.rowgen import EXAMPLE_MANIFEST_BYTES, EXAMPLE_MANIFEST_PATH, EXAMPLE_ROW

    manifest = {EXAMPLE_MANIFEST_PATH: EXAMPLE_MANIFEST_BYTES}
    example = append(EXAMPLE_ROW)
    moved = BASE_LINES[:1] + BASE_LINES[2:] + BASE_LINES[1:2]
    bad_row = make_row(model="=Acme\u200b", url="http://x", date="HEAR 2021", default_score=".5")
    scenarios = [
        check(append(make_row(model="Universit\xe9").encode("latin-1"))),
        check(b"\xef\xbb\xbf" + append(ROW) + b"\n"),
        check(append(ROW).replace(b"\n", b"\r\n")),
        check(join([HEADER + ",X", BASE_ROWS[0] + "1", *BASE_ROWS[1:], ROW + ",1"])),
        check(join(moved)),
        check(BASE),
        check(append(*([bad_row] * 60))),
        check(append(*([make_row(default_score="")] * (MAX_HEAD_BYTES // 60)))),
        check(
            append(
                make_row(
                    model="ab",
                    url="https://x",
                    date="2030-01-01",
                    scores={"Beehive": "1.5", "ESC-50": "0.1234567891"},
                )
            )
        ),
        check(append(make_row(model="CREPE", default_score=""))),
        check(append(make_row(default_score="", scores={"ESC-50": "0.99"}))),
        check(example, manifests={}),
        check(example, manifests={EXAMPLE_MANIFEST_PATH: b"[]"}),
        check(
            example,
            manifests={
                EXAMPLE_MANIFEST_PATH: EXAMPLE_MANIFEST_BYTES.replace(
                    b"hearbaseline==2021.1.1 --hash", b"-e . --hash"
                )
            },
        ),
        check(
            example,
            manifests={
                EXAMPLE_MANIFEST_PATH: EXAMPLE_MANIFEST_BYTES.replace(
                    b'"model": "HEAR', b'"model": "Not HEAR'
                )
            },
        ),
        check(example, manifests=manifest, changed_files=(ChangedFile("README.md", "modified"),)),
    ]
    produced = set()
    for result in scenarios:
        produced |= {f["code"] for f in result["errors"] + result["warnings"]}
    assert produced == set(CODES), sorted(set(CODES) - produced)
