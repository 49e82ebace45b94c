"""Rules for the cells of one new row. Each returns findings; none stops at the first."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import urlsplit

from bot.common.schemas import LeaderboardFacts
from bot.submission.findings import Finding

_SCORE = re.compile(r"^-?(0|[1-9][0-9]*)(\.([0-9]+))?$")
_DATE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_FORMULA_START = "=+-@"
MAX_CHARACTER_FINDINGS = 5
_ZERO_WIDTH = {"\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e"}
_BIDI = (
    {"\u061c", "\u200e", "\u200f"}
    | {chr(c) for c in range(0x202A, 0x202F)}
    | {chr(c) for c in range(0x2066, 0x206A)}
)
EARLIEST_DATE = dt.date(2021, 1, 1)


_CONTROL_NAMES = {
    "\t": "CHARACTER TABULATION (tab)",
    "\n": "LINE FEED",
    "\r": "CARRIAGE RETURN",
    "\x00": "NULL",
    "\x1b": "ESCAPE",
    "\x7f": "DELETE",
}


def _describe(char: str) -> str:
    name = _CONTROL_NAMES.get(char) or unicodedata.name(char, "control character")
    return f"U+{ord(char):04X} {name}"


def _delete_fix(column: str, value: str, char: str) -> str:
    """Delete the character; for a quote (visible), the cell as it must read, to paste."""
    if char in "\"'":
        cleaned = value.replace('"', "").replace("'", "")
        if cleaned and "`" not in cleaned:
            return f"Delete the quotes (cells are never quoted): {column} becomes `{cleaned}`"
    return "Delete it: cells are never quoted and must be plain visible text."


def forbidden_characters(line: int, column: str, value: str, *, is_score: bool) -> list[Finding]:
    """Quotes, control/bidi/zero-width characters anywhere; formula starts in text cells."""
    findings = []
    seen: set[str] = set()
    for char in value:
        if char in seen or len(seen) >= MAX_CHARACTER_FINDINGS:
            continue
        kind = None
        if char in "\"'":
            kind = "a quote"
        elif char in _BIDI:
            kind = "a bidirectional control character"
        elif char in _ZERO_WIDTH:
            kind = "a zero-width character"
        elif unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            kind = "a control or invisible character"
        if kind:
            seen.add(char)
            findings.append(
                Finding(
                    code="forbidden-character",
                    line=line,
                    column=column,
                    message=f"{column} contains {kind} ({_describe(char)}).",
                    fix=_delete_fix(column, value, char),
                )
            )
    if not is_score and value[:1] and value[0] in _FORMULA_START:
        findings.append(
            Finding(
                code="forbidden-character",
                line=line,
                column=column,
                message=f"{column} starts with {value[0]!r}, which spreadsheets run as a formula.",
                fix=f"Start the {column} cell with a letter or digit.",
            )
        )
    return findings


def model_name(line: int, value: str) -> list[Finding]:
    problems = []
    if value != value.strip():
        problems.append("has leading or trailing spaces")
    if "  " in value:
        problems.append("has repeated spaces")
    if not 3 <= len(value) <= 100:
        problems.append(f"is {len(value)} characters long (allowed: 3 to 100)")
    if not any(char.isalpha() for char in value):
        problems.append("has no letter")
    if not problems:
        return []
    return [
        Finding(
            code="model-name",
            line=line,
            column="Model",
            message=f"The model name {' and '.join(problems)}.",
            fix="Use 'team/institution + short model name', e.g. `Acme Labs AcmeNet-base`.",
        )
    ]


def _url_problem(value: str) -> str | None:
    if not value.startswith("https://"):
        return "does not start with https://"
    if not value.isascii():
        return "contains non-ASCII characters (percent-encode them)"
    if any(char.isspace() for char in value):
        return "contains spaces"
    if len(value) > 300:
        return f"is {len(value)} characters long (at most 300)"
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
        parts.port  # noqa: B018 - parsing the port raises on a malformed one
    except ValueError as exc:
        return f"cannot be parsed ({exc})"
    if "@" in parts.netloc:
        return "contains credentials (user@host)"
    if not hostname or "." not in hostname.strip(".") or hostname.endswith("."):
        return f"has no valid host name ({hostname or ''!r})"
    return None


def url(line: int, value: str) -> list[Finding]:
    problem = _url_problem(value)
    if problem is None:
        return []
    return [
        Finding(
            code="url",
            line=line,
            column="URL",
            message=f"The URL {problem}.",
            fix="Link the model's repository or paper with a full https URL, "
            "e.g. `https://github.com/acme/acmenet`.",
        )
    ]


def submission_date(
    line: int, value: str, facts: LeaderboardFacts, latest_allowed: dt.date
) -> list[Finding]:
    def finding(message: str) -> list[Finding]:
        return [
            Finding(
                code="date",
                line=line,
                column="Submission Date",
                message=message,
                fix="Write the date you submit, as YYYY-MM-DD, e.g. "
                f"`{latest_allowed.isoformat()}`.",
            )
        ]

    if value == facts.legacy_date:
        return finding(
            f"`{facts.legacy_date}` marks only the original 2021 rows; a new row gives its "
            "submission date."
        )
    match = _DATE.match(value)
    if not match:
        return finding(f"The submission date is not in YYYY-MM-DD form (found {value!r}).")
    try:
        day = dt.date(*(int(part) for part in match.groups()))
    except ValueError as exc:
        return finding(f"{value} is not a real date ({exc}).")
    if day > latest_allowed:
        return finding(f"{value} is in the future (latest allowed: {latest_allowed.isoformat()}).")
    if day < EARLIEST_DATE:
        return finding(f"{value} is before HEAR existed ({EARLIEST_DATE.isoformat()}).")
    return []


def rounded(value: str, decimals: int) -> str:
    quantum = Decimal(1).scaleb(-decimals)
    text = format(Decimal(value).quantize(quantum, rounding=ROUND_HALF_EVEN), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def score(line: int, column: str, value: str, max_decimals: int) -> list[Finding]:
    """An empty cell means 'not run'; otherwise a plain decimal in [0, 1], ≤ max_decimals."""
    if value == "":
        return []
    match = _SCORE.match(value)
    if not match or (value.startswith("-") and Decimal(value) == 0):
        return [
            Finding(
                code="score-format",
                line=line,
                column=column,
                message=f"{column} score {value!r} is not a plain decimal number.",
                fix="Write digits with a decimal point, e.g. `0.812`; leave the cell empty if "
                "the task was not run.",
            )
        ]
    findings = []
    number = Decimal(value)
    if not Decimal(0) <= number <= Decimal(1):
        hint = f"`{rounded(str(number / 100), max_decimals)}`" if 1 < number <= 100 else None
        findings.append(
            Finding(
                code="score-range",
                line=line,
                column=column,
                message=f"{column} score {value} is outside [0, 1].",
                fix=f"Scores are fractions, not percentages: {hint}."
                if hint
                else "Copy the score from test.predicted-scores.json; it lies in [0, 1].",
            )
        )
    decimals = len(match.group(3) or "")
    if decimals > max_decimals:
        findings.append(
            Finding(
                code="score-precision",
                line=line,
                column=column,
                message=f"{column} score {value} has {decimals} decimals (at most {max_decimals}).",
                fix=f"Round it to {max_decimals} decimals: `{rounded(value, max_decimals)}`.",
            )
        )
    return findings
