"""schemas/ and the files derived from them agree with each other and with leaderboard.csv."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from bot.cli import codes_markdown
from bot.common.schema_build import stale_schemas
from bot.common.schemas import schema_errors
from bot.submission.findings import CODES
from bot.submission.leaderboard import cells
from tests.rowgen import (
    BASE,
    BASE_ROWS,
    EXAMPLE_MANIFEST,
    EXAMPLE_ROW,
    FACTS,
    HEADER,
    LEADERBOARD,
    REPO,
    SHARED_DATA,
)

LEADERBOARD_SHA256 = "caf6938fc9734a062ac0689ee28ecba4ed97e4b8c874e87c3f591b7cd35b1f2b"

ISSUE_CODES = [
    "encoding",
    "bom",
    "line-endings",
    "trailing-newline",
    "header-changed",
    "row-modified",
    "row-removed",
    "no-new-row",
    "multiple-new-rows",
    "field-count",
    "forbidden-character",
    "model-name",
    "duplicate-model",
    "url",
    "date",
    "score-format",
    "score-range",
    "score-precision",
    "no-scores",
    "unexpected-file",
    "manifest-missing",
    "manifest-invalid",
    "manifest-mismatch",
    "manifest-unpinned",
]
ISSUE_WARNINGS = ["manifest-not-checked", "claims-top-rank"]


def test_tasks_json_columns_spell_the_header():
    tasks = json.loads((REPO / "schemas" / "tasks.json").read_text(encoding="utf-8"))
    names = [column["column"] for column in tasks["columns"]]
    assert len(names) == 19
    assert ",".join(["Model", "URL", "Submission Date", *names]) == HEADER
    assert FACTS.header == tuple(HEADER.split(","))
    assert tasks["leaderboard"]["fixed_columns"] == ["Model", "URL", "Submission Date"]


def test_tasks_json_follows_its_schema():
    tasks = json.loads((REPO / "schemas" / "tasks.json").read_text(encoding="utf-8"))
    assert [e.message for e in schema_errors("tasks.schema.json", tasks)] == []


def test_leaderboard_bytes_are_the_published_file():
    assert hashlib.sha256(BASE).hexdigest() == LEADERBOARD_SHA256
    assert not BASE.startswith(b"\xef\xbb\xbf")
    assert b"\r" not in BASE
    assert not BASE.endswith(b"\n")
    assert len(BASE_ROWS) == 34


def test_leaderboard_is_identical_to_the_shared_data():
    shared = SHARED_DATA / "leaderboard.csv"
    if not shared.exists():
        pytest.skip(f"{shared} is not available (../shared/data is absent)")
    assert shared.read_bytes() == LEADERBOARD.read_bytes()


def test_generated_schemas_are_up_to_date():
    assert stale_schemas() == []


def test_error_codes_doc_is_generated():
    doc = REPO / "docs" / "error-codes.md"
    assert doc.exists(), "run `hearbot codes --format markdown > docs/error-codes.md`"
    assert doc.read_text(encoding="utf-8") == codes_markdown()


def test_every_code_is_documented():
    documented = re.findall(r"^## `([a-z0-9-]+)` \((error|warning)\)$", codes_markdown(), re.M)
    assert [name for name, _ in documented] == list(CODES)
    for name, severity in documented:
        assert CODES[name].severity == severity
        assert CODES[name].rule and CODES[name].bad and CODES[name].fix


def test_every_code_of_the_issue_exists():
    assert [code for code in ISSUE_CODES if code not in CODES] == []
    assert all(CODES[code].severity == "error" for code in ISSUE_CODES)
    assert all(CODES[code].severity == "warning" for code in ISSUE_WARNINGS)


def _row_dict(row: str) -> dict[str, str]:
    return dict(zip(FACTS.header, row.split(","), strict=True))


@pytest.mark.parametrize("row", BASE_ROWS, ids=[row.split(",", 1)[0] for row in BASE_ROWS])
def test_every_existing_row_follows_the_row_schema(row):
    assert [e.message for e in schema_errors("leaderboard-row.schema.json", _row_dict(row))] == []


def test_example_row_and_manifest_follow_their_schemas():
    row = _row_dict(EXAMPLE_ROW)
    assert [e.message for e in schema_errors("leaderboard-row.schema.json", row)] == []
    assert [e.message for e in schema_errors("submission.schema.json", EXAMPLE_MANIFEST)] == []


@pytest.mark.parametrize(
    "value",
    [
        "",
        "0",
        "1",
        "1.0",
        "0.5",
        "0.123456789",
        "1.000000000",
        "-0",
        "-0.0",
        ".5",
        "1e-3",
        "nan",
        " 0.5",
        "-0.1",
        "1.5",
        "81.2",
        "0.1234567891",
        "00.5",
        "0.",
        "+0.5",
        "1.01",
    ],
)
def test_row_schema_and_validator_agree_on_scores(value):
    row = _row_dict(EXAMPLE_ROW)
    row["Beehive"] = value
    schema_ok = not schema_errors("leaderboard-row.schema.json", row)
    validator_ok = not cells.score(2, "Beehive", value, FACTS.score_max_decimals)
    assert schema_ok == validator_ok
