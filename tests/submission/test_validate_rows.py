"""One appended row, good or bad: the exact set of error codes, and where they point.

Every case appends one generated row to the real leaderboard.csv and validates it as of
``TODAY`` (2026-11-26), without a manifest.
"""

from __future__ import annotations

import pytest

from tests.rowgen import (
    GOOD_MODEL,
    NEW_LINE,
    SCORE_COLUMNS,
    append,
    check,
    error_codes,
    findings_of,
    make_row,
    warning_codes,
)

FIRST = SCORE_COLUMNS[0]  # Beehive


def case(case_id, row, codes, column=None):
    return pytest.param(row, set(codes), column, id=case_id)


def score(value, column=FIRST):
    return make_row(scores={column: value})


GOOD = [
    case("plain", make_row(), []),
    case(
        "score-0-1-1.0-9dp",
        make_row(scores=dict(zip(SCORE_COLUMNS, ["0", "1", "1.0", "0.123456789"], strict=False))),
        [],
    ),
    case("score-1.000000000", score("1.000000000"), []),
    case("one-score-rest-empty", make_row(default_score="", scores={"ESC-50": "0.7"}), []),
    case("date-today", make_row(date="2026-11-26"), []),
    case("date-first-day", make_row(date="2021-01-01"), []),
    case("name-punctuation", make_row(model="Acme Labs Net (e1+l)/v2_x.1"), []),
    case("name-non-ascii-letters", make_row(model="Université Côte Net"), []),
    case("name-3-chars", make_row(model="Abc"), []),
    case("name-100-chars", make_row(model="Acme " + "n" * 95), []),
    case("url-query-fragment", make_row(url="https://example.org/paper?id=1#sec-2"), []),
    case("url-subdomain", make_row(url="https://huggingface.co/acme/net"), []),
]

SCORES = [
    case("score-leading-dot", score(".5"), ["score-format"], FIRST),
    case("score-exponent", score("1e-3"), ["score-format"], FIRST),
    case("score-nan", score("nan"), ["score-format"], FIRST),
    case("score-inf", score("inf"), ["score-format"], FIRST),
    case("score-leading-space", score(" 0.5"), ["score-format"], FIRST),
    case("score-trailing-space", score("0.5 "), ["score-format"], FIRST),
    case("score-leading-zeros", score("00.5"), ["score-format"], FIRST),
    case("score-trailing-dot", score("0."), ["score-format"], FIRST),
    case("score-plus", score("+0.5"), ["score-format"], FIRST),
    case("score-percent", score("81%"), ["score-format"], FIRST),
    case("score-arabic-digits", score("٠.٥"), ["score-format"], FIRST),
    # A decimal comma splits the cell: one field too many.
    case("score-decimal-comma", score("0,5"), ["field-count"]),
    case("score-negative", score("-0.1"), ["score-range"], FIRST),
    case("score-above-one", score("1.5"), ["score-range"], FIRST),
    case("score-percentage", score("81.2", "ESC-50"), ["score-range"], "ESC-50"),
    case("score-10-decimals", score("0.1234567891"), ["score-precision"], FIRST),
    case(
        "score-above-one-and-10-decimals",
        score("1.0000000001"),
        ["score-range", "score-precision"],
        FIRST,
    ),
    case("score-tab", score("0.5\t"), ["score-format", "forbidden-character"], FIRST),
    case("score-negative-zero", score("-0"), ["score-format"], FIRST),
    case("score-negative-zero-decimal", score("-0.0"), ["score-format"], FIRST),
    case("no-scores", make_row(default_score=""), ["no-scores"]),
]

URLS = [
    case("url-http", make_row(url="http://github.com/acme/net"), ["url"], "URL"),
    case("url-no-scheme", make_row(url="github.com/acme/net"), ["url"], "URL"),
    case("url-no-dot", make_row(url="https://localhost/acme"), ["url"], "URL"),
    case("url-trailing-dot-host", make_row(url="https://github.com./acme"), ["url"], "URL"),
    case("url-credentials", make_row(url="https://user:pw@github.com/acme"), ["url"], "URL"),
    case("url-user-only", make_row(url="https://user@github.com/acme"), ["url"], "URL"),
    case("url-space", make_row(url="https://github.com/acme net"), ["url"], "URL"),
    case("url-non-ascii", make_row(url="https://github.com/acmé"), ["url"], "URL"),
    case("url-too-long", make_row(url="https://github.com/" + "a" * 300), ["url"], "URL"),
    case("url-empty", make_row(url=""), ["url"], "URL"),
    case(
        "url-zero-width",
        make_row(url="https://github.com/acme\u200b"),
        ["url", "forbidden-character"],
        "URL",
    ),
    case("url-formula", make_row(url="=HYPERLINK(1)"), ["url", "forbidden-character"], "URL"),
    case("url-no-host", make_row(url="https://"), ["url"], "URL"),
    case("url-empty-host-with-path", make_row(url="https:///acme/net"), ["url"], "URL"),
    case("url-broken-ipv6", make_row(url="https://[::1/acme"), ["url"], "URL"),
    case("url-port-out-of-range", make_row(url="https://github.com:99999/a"), ["url"], "URL"),
    case("url-port-not-a-number", make_row(url="https://github.com:abc/a"), ["url"], "URL"),
    case("url-host-only-dot-tld", make_row(url="https://.com/acme"), ["url"], "URL"),
    case("url-port-ok", make_row(url="https://example.org:8443/acme"), []),
]

DATES = [
    case("date-future", make_row(date="2026-11-27"), ["date"], "Submission Date"),
    case("date-next-year", make_row(date="2027-01-01"), ["date"], "Submission Date"),
    case("date-feb-30", make_row(date="2026-02-30"), ["date"], "Submission Date"),
    case("date-month-13", make_row(date="2026-13-01"), ["date"], "Submission Date"),
    case("date-legacy", make_row(date="HEAR 2021"), ["date"], "Submission Date"),
    case("date-slashes", make_row(date="2026/11/20"), ["date"], "Submission Date"),
    case("date-day-first", make_row(date="20-11-2026"), ["date"], "Submission Date"),
    case("date-no-dashes", make_row(date="20261120"), ["date"], "Submission Date"),
    case("date-before-hear", make_row(date="2020-12-31"), ["date"], "Submission Date"),
    case("date-empty", make_row(date=""), ["date"], "Submission Date"),
    case("date-leading-space", make_row(date=" 2026-11-20"), ["date"], "Submission Date"),
]

NAMES = [
    case("name-cyrillic-es", make_row(model="СP-JKU PaSST base"), ["duplicate-model"], "Model"),
    case("name-cyrillic-a", make_row(model="wаv2vec2"), ["duplicate-model"], "Model"),
    case("name-case", make_row(model="cp-jku passt BASE"), ["duplicate-model"], "Model"),
    case("name-upper", make_row(model="OPENL3"), ["duplicate-model"], "Model"),
    case(
        "name-double-space",
        make_row(model="CP-JKU  PaSST base"),
        ["duplicate-model", "model-name"],
        "Model",
    ),
    case("name-nbsp", make_row(model="CP-JKU\u00a0PaSST base"), ["duplicate-model"], "Model"),
    case("name-fullwidth", make_row(model="ＣＰ-ＪＫＵ PaSST base"), ["duplicate-model"], "Model"),
    case("name-fullwidth-digit", make_row(model="wav2vec２"), ["duplicate-model"], "Model"),
    case("name-zero-for-o", make_row(model="0penL3"), ["duplicate-model"], "Model"),
    case("name-capital-i-for-l", make_row(model="CP-JKU PaSST 2IvI"), ["duplicate-model"], "Model"),
    case("name-greek-lunate-sigma", make_row(model="ϹREPE"), ["duplicate-model"], "Model"),
    case("name-zero-width", make_row(model="Acme\u200bNet"), ["forbidden-character"], "Model"),
    case("name-bidi", make_row(model="Acme \u202eteN"), ["forbidden-character"], "Model"),
    case("name-double-quote", make_row(model='Acme "Net"'), ["forbidden-character"], "Model"),
    case("name-apostrophe", make_row(model="Acme's Net"), ["forbidden-character"], "Model"),
    case("name-formula-eq", make_row(model="=HYPERLINK(1)"), ["forbidden-character"], "Model"),
    case("name-formula-plus", make_row(model="+Acme Net"), ["forbidden-character"], "Model"),
    case("name-formula-minus", make_row(model="-Acme Net"), ["forbidden-character"], "Model"),
    case("name-formula-at", make_row(model="@acme net"), ["forbidden-character"], "Model"),
    case("name-tab", make_row(model="Acme\tNet"), ["forbidden-character"], "Model"),
    case("name-soft-hyphen", make_row(model="Ac\u00adme Net"), ["forbidden-character"], "Model"),
    case("name-too-short", make_row(model="ab"), ["model-name"], "Model"),
    case("name-too-long", make_row(model="Acme " + "n" * 96), ["model-name"], "Model"),
    case("name-leading-space", make_row(model=" Acme Net"), ["model-name"], "Model"),
    case("name-trailing-space", make_row(model="Acme Net "), ["model-name"], "Model"),
    case("name-no-letter", make_row(model="1234"), ["model-name"], "Model"),
    case("name-no-ascii", make_row(model="Ακμε Νετ"), ["model-name"], "Model"),
    case("name-empty", make_row(model=""), ["model-name"], "Model"),
    case("name-comma", make_row(model="Acme, Net"), ["field-count"]),
]

FIELDS = [
    case("missing-field", make_row().rsplit(",", 1)[0], ["field-count"]),
    case("extra-field", make_row() + ",0.5", ["field-count"]),
    case(
        "date-field-left-out",
        ",".join(make_row().split(",")[:2] + make_row().split(",")[3:]),
        ["field-count"],
    ),
]


@pytest.mark.parametrize(("row", "codes", "column"), GOOD + SCORES + URLS + DATES + NAMES + FIELDS)
def test_appended_row(row, codes, column):
    result = check(append(row))
    assert error_codes(result) == codes, result["errors"]
    assert result["ok"] is (not codes)
    for finding in result["errors"]:
        assert finding["line"] == NEW_LINE, finding
        assert finding["message"] and finding["fix"]
    if column is not None:
        assert {f["column"] for f in result["errors"]} == {column}


def test_every_row_case_covers_a_distinct_id():
    ids = [p.id for p in GOOD + SCORES + URLS + DATES + NAMES + FIELDS]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40


def test_every_problem_is_reported_at_once():
    row = make_row(
        model="=Acme\u200bNet",
        url="http://acme.example/net",
        date="2026/11/20",
        scores={"Beehive": ".5", "ESC-50": "81.2", "Gunshot": "0.1234567891"},
    )
    result = check(append(row))
    assert error_codes(result) == {
        "forbidden-character",
        "url",
        "date",
        "score-format",
        "score-range",
        "score-precision",
    }
    assert {(f["code"], f["column"]) for f in result["errors"]} >= {
        ("url", "URL"),
        ("date", "Submission Date"),
        ("score-format", "Beehive"),
        ("score-range", "ESC-50"),
        ("score-precision", "Gunshot"),
    }
    assert len(findings_of(result, "forbidden-character")) == 2  # the `=` and the U+200B


def test_messages_and_fixes_name_the_problem():
    result = check(append(score("81.2", "ESC-50")))
    (finding,) = result["errors"]
    assert "81.2" in finding["message"] and "[0, 1]" in finding["message"]
    assert "`0.812`" in finding["fix"]

    result = check(append(score("0.1234567895")))
    (finding,) = result["errors"]
    assert "10 decimals" in finding["message"]
    assert "`0.12345679`" in finding["fix"]  # rounded half-even to 9 decimals, zeros dropped

    result = check(append(make_row(date="2026-11-27")))
    (finding,) = result["errors"]
    assert "future" in finding["message"] and "2026-11-26" in finding["message"]

    result = check(append(make_row(model="\u202eAcme")))
    messages = " ".join(f["message"] for f in result["errors"])
    assert "U+202E" in messages and "RIGHT-TO-LEFT OVERRIDE" in messages


def test_duplicate_message_names_the_existing_row():
    result = check(append(make_row(model="СP-JKU PaSST base")))
    (finding,) = result["errors"]
    assert "CP-JKU PaSST base" in finding["message"]
    assert "row 7" in finding["message"]


def test_accepted_row_is_parsed_into_the_result():
    result = check(append(make_row(default_score="", scores={"ESC-50": "0.25"})))
    assert result["ok"] is True
    submission = result["submission"]
    assert submission["line"] == NEW_LINE
    assert submission["row"]["Model"] == GOOD_MODEL
    assert submission["row"]["ESC-50"] == "0.25"
    assert submission["slug"] == "acme-labs-acmenet-base"
    assert warning_codes(result) == {"manifest-not-checked"}


def test_top_score_is_pointed_out_but_not_an_error():
    result = check(append(make_row(default_score="", scores={"ESC-50": "0.99"})))
    assert result["ok"] is True
    (warning,) = findings_of(result, "claims-top-rank")
    assert warning["column"] == "ESC-50" and warning["line"] == NEW_LINE
    (rank,) = result["ranks"]
    assert rank["rank"] == 1 and rank["column"] == "ESC-50"


def test_a_tie_with_the_best_is_rank_one_without_a_warning():
    best = "0.966499996"  # the best existing ESC-50 score (RedRice ced_base)
    result = check(append(make_row(default_score="", scores={"ESC-50": best})))
    assert result["ok"] is True
    assert not findings_of(result, "claims-top-rank")
    assert result["ranks"][0]["rank"] == 1


def test_low_score_ranks_last():
    result = check(append(make_row(default_score="", scores={"ESC-50": "0"})))
    (rank,) = result["ranks"]
    assert rank["rank"] == rank["of"] == 35  # 34 existing ESC-50 scores, then this one
