"""Shared test data: the real leaderboard, row builders and Hypothesis strategies.

Everything here is deterministic; ``TODAY`` is the fixed date every validation is judged at.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from bot.common.schemas import leaderboard_facts, schema_errors
from bot.submission.leaderboard.names import same_model, slug
from bot.submission.validate import ChangedFile, Submission, validate

REPO = Path(__file__).resolve().parent.parent
LEADERBOARD = REPO / "leaderboard.csv"
BASE = LEADERBOARD.read_bytes()
BASE_LINES = BASE.decode("utf-8").split("\n")
HEADER = BASE_LINES[0]
BASE_ROWS = BASE_LINES[1:]
EXISTING_MODELS = [row.split(",", 1)[0] for row in BASE_ROWS]
NEW_LINE = len(BASE_LINES) + 1  # the file line of a row appended to the real leaderboard

FACTS = leaderboard_facts()
SCORE_COLUMNS = FACTS.score_columns
TODAY = dt.date(2026, 11, 26)

SHARED_DATA = REPO.parent / "shared" / "data"
HISTORY_FILE = SHARED_DATA / "history" / "leaderboard-2023-08-25-4505d11.csv"

EXAMPLE_DIR = REPO / "examples" / "submission"
EXAMPLE_ROW = (EXAMPLE_DIR / "row.csv").read_text(encoding="utf-8").rstrip("\n")
EXAMPLE_MANIFEST_PATH = "submissions/hear-team-naive-baseline-example.json"
EXAMPLE_MANIFEST_BYTES = (EXAMPLE_DIR / EXAMPLE_MANIFEST_PATH).read_bytes()
EXAMPLE_MANIFEST: dict[str, Any] = json.loads(EXAMPLE_MANIFEST_BYTES)

GOOD_MODEL = "Acme Labs AcmeNet-base"
GOOD_URL = "https://github.com/acme/acmenet"
GOOD_DATE = "2026-11-20"
SHA = "0123456789abcdef" * 4
COMMIT = "0123456789abcdef0123456789abcdef01234567"


def make_row(
    model: str = GOOD_MODEL,
    url: str = GOOD_URL,
    date: str = GOOD_DATE,
    scores: dict[str, str] | None = None,
    default_score: str = "0.5",
) -> str:
    """One CSV line: every score column is ``default_score`` unless ``scores`` overrides it."""
    values = {column: default_score for column in SCORE_COLUMNS}
    values.update(scores or {})
    unknown = set(values) - set(SCORE_COLUMNS)
    assert not unknown, f"not score columns: {unknown}"
    return ",".join([model, url, date, *(values[column] for column in SCORE_COLUMNS)])


def append(*rows: str | bytes, base: bytes = BASE) -> bytes:
    """The base file with each row appended the right way (LF before it, no final newline)."""
    out = base
    for row in rows:
        out += b"\n" + (row.encode("utf-8") if isinstance(row, str) else row)
    return out


def check(
    head: bytes,
    base: bytes = BASE,
    *,
    manifests: dict[str, bytes] | None = None,
    named_manifest: tuple[str, bytes] | None = None,
    changed_files: tuple[ChangedFile, ...] | None = None,
    today: dt.date = TODAY,
) -> dict[str, Any]:
    return validate(
        Submission(
            base_csv=base,
            head_csv=head,
            manifests=manifests,
            named_manifest=named_manifest,
            changed_files=changed_files,
        ),
        today=today,
    )


def error_codes(result: dict[str, Any]) -> set[str]:
    return {finding["code"] for finding in result["errors"]}


def warning_codes(result: dict[str, Any]) -> set[str]:
    return {finding["code"] for finding in result["warnings"]}


def findings_of(result: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in result["errors"] + result["warnings"] if f["code"] == code]


def result_schema_errors(result: dict[str, Any]) -> list[str]:
    return [e.message for e in schema_errors("result.schema.json", result)]


# ---------------------------------------------------------------- Hypothesis strategies

_NAME_FIRST = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_NAME_REST = _NAME_FIRST + "0123456789-_()+./"


@st.composite
def model_names(draw: st.DrawFn) -> str:
    """Well-formed model names (team + model, single spaces) that no existing row resembles."""
    words = draw(
        st.lists(
            st.text(alphabet=_NAME_REST, min_size=1, max_size=12),
            min_size=1,
            max_size=5,
        )
    )
    first = draw(st.sampled_from(_NAME_FIRST))
    name = " ".join([first + words[0], *words[1:]])[:100]
    name = name.rstrip()
    if len(name) < 3:
        name = name + "Net"
    # Keep the property about the diff, not about uniqueness: skip accidental look-alikes.
    if any(same_model(name, existing) for existing in EXISTING_MODELS) or not slug(name):
        name = "Zq " + name[:90]
    return name


@st.composite
def score_values(draw: st.DrawFn) -> str:
    """A plain decimal in [0, 1] with at most 9 decimals, as a submitter would write it."""
    decimals = draw(st.integers(min_value=0, max_value=FACTS.score_max_decimals))
    scale = 10**decimals
    numerator = draw(st.integers(min_value=0, max_value=scale))
    if decimals == 0:
        return str(numerator)
    whole, fraction = divmod(numerator, scale)
    return f"{whole}.{fraction:0{decimals}d}"


@st.composite
def score_cells(draw: st.DrawFn) -> dict[str, str]:
    cells = draw(
        st.lists(
            st.one_of(st.just(""), score_values()),
            min_size=len(SCORE_COLUMNS),
            max_size=len(SCORE_COLUMNS),
        )
    )
    if all(cell == "" for cell in cells):
        cells[draw(st.integers(0, len(cells) - 1))] = draw(score_values())
    return dict(zip(SCORE_COLUMNS, cells, strict=True))


_LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@st.composite
def https_urls(draw: st.DrawFn) -> str:
    host = ".".join(draw(st.lists(_LABEL, min_size=1, max_size=3)))
    tld = draw(st.sampled_from(["com", "org", "io", "edu", "ai"]))
    path = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_./", max_size=40))
    return f"https://{host}.{tld}/{path}"


submission_dates = st.dates(min_value=dt.date(2021, 1, 1), max_value=TODAY).map(dt.date.isoformat)


@st.composite
def good_rows(draw: st.DrawFn) -> str:
    return make_row(
        model=draw(model_names()),
        url=draw(https_urls()),
        date=draw(submission_dates),
        scores=draw(score_cells()),
    )
