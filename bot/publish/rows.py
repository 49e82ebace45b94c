"""leaderboard.csv as the publisher reads it: parsed with ``csv`` (quoted fields with commas
work), each row with its content hash, and whether it is one of the rows from before the bot.

A row's content hash is the sha256 of its fields as a compact JSON list, so it does not
depend on quoting or line endings: a squash or rebase merge changes the commit, never this.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from functools import cache

from bot.common.schemas import leaderboard_facts, load_json_file
from bot.submission.leaderboard.names import slug

SELF_REPORTED_FILE = "self-reported-rows.json"


class LeaderboardReadError(ValueError):
    """leaderboard.csv cannot be published as it is; the message says what to fix."""


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line of the record's start in leaderboard.csv
    fields: tuple[str, ...]
    model: str
    url: str
    date: str
    scores: dict[str, str]  # score column -> cell text ("" when not run)
    row_sha256: str
    slug: str


def row_sha256(fields: tuple[str, ...] | list[str]) -> str:
    canonical = json.dumps(list(fields), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse_leaderboard(data: bytes) -> list[Row]:
    """Every row of leaderboard.csv, in file order, checked against the header of tasks.json."""
    facts = leaderboard_facts()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LeaderboardReadError(f"leaderboard.csv is not UTF-8 (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as exc:
        raise LeaderboardReadError(f"leaderboard.csv line {reader.line_num}: {exc}") from None
    if not records:
        raise LeaderboardReadError("leaderboard.csv is empty")
    header = tuple(records[0][1])
    if header != facts.header:
        raise LeaderboardReadError(
            "leaderboard.csv's header is not the one schemas/tasks.json defines "
            f"({len(header)} fields; expected {', '.join(facts.header)})"
        )
    rows: list[Row] = []
    line = 1
    for end_line, record in records[1:]:
        start = line + 1
        line = end_line
        if not record:
            continue
        if len(record) != len(header):
            raise LeaderboardReadError(
                f"leaderboard.csv line {start} has {len(record)} fields, the header {len(header)}"
            )
        fields = tuple(record)
        model, url, date = fields[:3]
        scores = dict(zip(facts.score_columns, fields[3:], strict=True))
        rows.append(Row(start, fields, model, url, date, scores, row_sha256(fields), slug(model)))
    return rows


@cache
def self_reported_hashes() -> frozenset[str]:
    """Content hashes of the rows from before hearbot (schemas/self-reported-rows.json)."""
    document = load_json_file(SELF_REPORTED_FILE)
    return frozenset(entry["row_sha256"] for entry in document["rows"])


def score_value(cell: str) -> float | None:
    """A score cell as a number; None when empty or not a plain finite number."""
    if cell.strip() == "":
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None
