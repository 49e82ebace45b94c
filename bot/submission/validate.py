"""Validation of a submission: base and head leaderboard.csv (+ manifest, + changed files).

Pure: bytes and lists in, a result dict (schemas/result.schema.json) out.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bot import __version__
from bot.common.result import ResultDocument
from bot.common.schemas import LeaderboardFacts, leaderboard_facts
from bot.submission.findings import CODES, Finding
from bot.submission.leaderboard import cells
from bot.submission.leaderboard.diff import HeadRow, RowDiff, diff_rows
from bot.submission.leaderboard.names import comparison_keys, same_model, slug
from bot.submission.leaderboard.text import DecodedCsv, decode_csv
from bot.submission.manifest import MANIFEST_DIR, check_manifest, manifest_path

LEADERBOARD_PATH = "leaderboard.csv"
MAX_HEAD_BYTES = 256 * 1024
MAX_LISTED_ERRORS = 1000
MAX_ROW_VALUE_CHARS = 500
MAX_SLUG_CHARS = 150  # names are at most 100 characters; longer ones are rejected anyway
RESTORE = "run `git checkout origin/main -- leaderboard.csv` and append your row again"
STRIP_FINAL_NEWLINES = (
    "python3 -c \"import pathlib; p = pathlib.Path('leaderboard.csv'); "
    "p.write_bytes(p.read_bytes().rstrip(b'\\r\\n'))\""
)
"""Removes every final newline, the same on macOS and Linux (`truncate -s -1` is GNU only)."""
STRIP_BOM = (
    "python3 -c \"import pathlib; p = pathlib.Path('leaderboard.csv'); "
    "p.write_bytes(p.read_bytes().removeprefix(b'\\xef\\xbb\\xbf'))\""
)
"""Removes a leading UTF-8 byte-order mark, the same on macOS and Linux (`sed -i` is not)."""


class BaseFileError(ValueError):
    """The BASE leaderboard.csv (trusted, from the default branch) is itself unusable."""


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # GitHub's PR-files status: added|removed|modified|renamed|copied|changed|...


@dataclass(frozen=True)
class Submission:
    base_csv: bytes
    head_csv: bytes
    changed_files: tuple[ChangedFile, ...] | None = None
    manifests: dict[str, bytes] | None = None
    named_manifest: tuple[str, bytes] | None = None
    """A manifest given explicitly (file mode): checked whatever its path is called."""


def latest_allowed_date(now: dt.datetime | None = None) -> dt.date:
    """Today somewhere on Earth: the date in UTC+14, the earliest time zone."""
    now = now or dt.datetime.now(dt.UTC)
    return (now.astimezone(dt.UTC) + dt.timedelta(hours=14)).date()


def validate(submission: Submission, *, today: dt.date | None = None) -> ResultDocument:
    facts = leaderboard_facts()
    latest = today or latest_allowed_date()
    base_rows = _base_rows(submission.base_csv, facts)
    findings: list[Finding] = []
    growth = len(submission.head_csv) - len(submission.base_csv)
    if len(submission.head_csv) > MAX_HEAD_BYTES and growth > MAX_HEAD_BYTES // 2:
        findings.append(
            Finding(
                code="file-too-large",
                message=f"leaderboard.csv grew by {growth} bytes to {len(submission.head_csv)}; "
                "a submission adds one row of a few hundred bytes.",
                fix=f"{RESTORE.capitalize()}.",
            )
        )
        return _result(findings, None, [], submission, manifest_checked=False)
    decoded = decode_csv(submission.head_csv)
    head_lines = decoded.lines
    head_rows = head_lines[1:]
    row_diff = diff_rows(base_rows, head_rows)
    findings += _file_findings(decoded, len(base_rows), row_diff)
    header = head_lines[0] if head_lines else ""
    if header != ",".join(facts.header):
        findings.append(_header_finding(header, facts))
    findings += _existing_row_findings(row_diff, base_rows, len(head_lines))
    findings += _blank_line_findings(row_diff.new_rows)
    new_rows = [row for row in row_diff.new_rows if row.text.strip()]
    findings += _count_findings(new_rows)
    parsed: list[tuple[HeadRow, dict[str, str]]] = []
    for row in new_rows:
        row_findings, fields = _row_findings(row, facts, base_rows, latest)
        findings += row_findings
        if fields is not None:
            parsed.append((row, fields))
    findings += _duplicates_among_new(parsed)
    submission_block = None
    ranks: list[dict[str, Any]] = []
    manifest_checked = False
    if len(new_rows) == 1 and parsed:
        row, fields = parsed[0]
        model_slug = slug(fields["Model"])[:MAX_SLUG_CHARS] or None
        manifest_findings, used_path, manifest_checked = _manifest_findings(
            submission, fields, model_slug, facts
        )
        findings += manifest_findings
        submission_block = {
            "line": row.line,
            "row": {column: _shortened(value) for column, value in fields.items()},
            "slug": model_slug,
            "manifest_path": used_path,
        }
        ranks = _ranks(fields, base_rows, facts)
    if submission.changed_files is not None:
        expected = manifest_path(submission_block["slug"]) if submission_block else None
        findings += _changed_file_findings(submission.changed_files, expected)
    if submission_block is not None:
        findings += _rank_warnings(ranks, submission_block["line"])
    if submission.manifests is None and submission.named_manifest is None:
        findings.append(
            Finding(
                code="manifest-not-checked",
                message="No manifest was given, so the manifest checks were skipped.",
                fix="Pass `--manifest submissions/<slug>.json` (or validate from git with --repo).",
            )
        )
    return _result(findings, submission_block, ranks, submission, manifest_checked)


def _result(
    findings: list[Finding],
    submission_block: dict[str, Any] | None,
    ranks: list[dict[str, Any]],
    submission: Submission,
    manifest_checked: bool,
) -> dict[str, Any]:
    errors = [f for f in findings if CODES[f.code].severity == "error"]
    warnings = [f for f in findings if CODES[f.code].severity == "warning"]
    if len(errors) > MAX_LISTED_ERRORS:
        unlisted = len(errors) - MAX_LISTED_ERRORS
        errors = errors[:MAX_LISTED_ERRORS]
        warnings.append(
            Finding(
                code="too-many-findings",
                message=f"{unlisted} further error(s) are not listed.",
                fix="Fix the errors above (most likely the file was rewritten) and validate again.",
            )
        )
    return {
        "schema_version": 1,
        "tool": {"name": "hearbot", "version": __version__},
        "kind": "validation",
        "ok": not errors,
        "errors": [f.to_json() for f in errors],
        "warnings": [f.to_json() for f in warnings],
        "submission": submission_block,
        "ranks": ranks,
        "checked": {
            "manifest": manifest_checked,
            "changed_files": submission.changed_files is not None,
        },
    }


def _shortened(value: str) -> str:
    if len(value) <= MAX_ROW_VALUE_CHARS:
        return value
    return f"{value[: MAX_ROW_VALUE_CHARS - 30]}… (+{len(value) - MAX_ROW_VALUE_CHARS + 30} chars)"


def _base_rows(base_csv: bytes, facts: LeaderboardFacts) -> list[str]:
    decoded = decode_csv(base_csv)
    if not decoded.lines or decoded.lines[0] != ",".join(facts.header):
        raise BaseFileError(
            "the base leaderboard.csv header does not match schemas/tasks.json; the default "
            "branch must change both together"
        )
    return decoded.lines[1:]


def _file_findings(decoded: DecodedCsv, base_count: int, row_diff: RowDiff) -> list[Finding]:
    findings = []
    for line in decoded.bad_utf8_lines:
        findings.append(
            Finding(
                code="encoding",
                line=line,
                message=f"Line {line} is not valid UTF-8.",
                fix="Save leaderboard.csv as UTF-8 (without BOM).",
            )
        )
    if decoded.had_bom:
        findings.append(
            Finding(
                code="bom",
                line=1,
                message="leaderboard.csv starts with a UTF-8 byte-order mark (BOM).",
                fix="Save it as 'UTF-8' rather than 'UTF-8 with BOM', or run "
                f"`{STRIP_BOM}` (macOS and Linux).",
            )
        )
    findings += _line_ending_findings(decoded, base_count)
    if decoded.trailing_newlines:
        count = decoded.trailing_newlines
        findings.append(
            Finding(
                code="trailing-newline",
                line=len(decoded.lines),
                message="leaderboard.csv ends with "
                + ("a final newline" if count == 1 else f"{count} newlines")
                + "; the site splits on newlines, so it would show an empty row.",
                fix=f"Remove {'it' if count == 1 else 'them'} (macOS and Linux): "
                f"`{STRIP_FINAL_NEWLINES}`; the repository's .editorconfig and "
                ".gitattributes keep editors and git from adding one again.",
            )
        )
    return findings


def _line_ending_findings(decoded: DecodedCsv, base_count: int) -> list[Finding]:
    bad_lines = sorted(set(decoded.crlf_lines) | set(decoded.cr_lines))
    existing = [line for line in bad_lines if line <= base_count + 1]
    if not bad_lines:
        return []
    kind = "CRLF (\\r\\n)" if decoded.crlf_lines else "CR (\\r)"
    existing_rows = [line for line in existing if line > 1]
    if base_count and len(existing_rows) >= base_count:
        header = " (and the header)" if 1 in existing else ""
        message = (
            f"Your editor changed the line endings of all {base_count} existing rows"
            f"{header} to {kind}."
        )
        fix = f"{RESTORE.capitalize()} with LF endings (`git config core.autocrlf false`)."
    elif existing:
        message = f"{len(existing)} existing line(s) now end with {kind}: {_line_list(existing)}."
        fix = f"{RESTORE.capitalize()} with LF endings."
    else:
        message = f"Line(s) {_line_list(bad_lines)} end with {kind} instead of LF."
        fix = "Save your row with LF (\\n) line endings (`git config core.autocrlf false`)."
    return [Finding(code="line-endings", line=bad_lines[0], message=message, fix=fix)]


def _line_list(lines: list[int], limit: int = 10) -> str:
    shown = ", ".join(str(line) for line in lines[:limit])
    return shown + (f" and {len(lines) - limit} more" if len(lines) > limit else "")


def _header_finding(header: str, facts: LeaderboardFacts) -> Finding:
    found = header.split(",")
    expected = list(facts.header)
    detail = ""
    for index, name in enumerate(expected):
        if index >= len(found) or found[index] != name:
            seen = repr(found[index]) if index < len(found) else "nothing"
            detail = f" Field {index + 1} should be {name!r} but is {seen}."
            break
    else:
        if len(found) > len(expected):
            detail = f" It has {len(found) - len(expected)} extra field(s)."
    return Finding(
        code="header-changed",
        line=1,
        message=f"The header line differs from the default branch.{detail}",
        fix="Restore line 1 exactly: `git checkout origin/main -- leaderboard.csv`, then append "
        "your row again.",
    )


def _changed_cells(before: str, after: str, limit: int = 3) -> str:
    """What changed in a row, cell by cell: `column` was `old`, is now `new`."""
    header = leaderboard_facts().header
    old, new = before.split(","), after.split(",")
    if len(old) != len(new):
        return f"it had {len(old)} fields and now has {len(new)}: was `{before}`, is now `{after}`"
    changes = [
        f"{header[index] if index < len(header) else f'field {index + 1}'} was `{a}`, is now `{b}`"
        for index, (a, b) in enumerate(zip(old, new, strict=True))
        if a != b
    ]
    if not changes:  # the same cells: the bytes around them differ (spaces, line endings)
        return f"was `{before!r}`, is now `{after!r}`"
    more = f" and {len(changes) - limit} more cell(s)" if len(changes) > limit else ""
    return "; ".join(changes[:limit]) + more


def _model_of(row_text: str) -> str:
    return row_text.split(",", 1)[0]


def _existing_row_findings(
    row_diff: RowDiff, base_rows: list[str], head_line_count: int
) -> list[Finding]:
    findings = []
    for base_line, head_row in row_diff.modified:
        findings.append(
            Finding(
                code="row-modified",
                line=head_row.line,
                message=f"Existing row {base_line} ({_model_of(base_rows[base_line - 2])}) "
                f"was changed: {_changed_cells(base_rows[base_line - 2], head_row.text)}.",
                fix=f"Existing rows must stay byte-for-byte unchanged; {RESTORE}.",
            )
        )
    for head_row in row_diff.inserted:
        findings.append(
            Finding(
                code="row-modified",
                line=head_row.line,
                message=f"Line {head_row.line} inserts a row between existing rows.",
                fix="New rows go at the end of the file; move it to the last line.",
            )
        )
    for base_line, text, head_line in row_diff.removed:
        findings.append(
            Finding(
                code="row-removed",
                line=head_line if head_line <= head_line_count else None,
                message=f"Existing row {base_line} ({_model_of(text)}) was removed.",
                fix=f"Rows are never removed in a submission; {RESTORE}.",
            )
        )
    for base_line, head_row in row_diff.moved:
        findings.append(
            Finding(
                code="row-removed",
                line=head_row.line,
                message=f"Existing row {base_line} ({_model_of(head_row.text)}) was moved to "
                f"line {head_row.line}.",
                fix=f"Existing rows stay in place; {RESTORE}.",
            )
        )
    return findings


def _blank_line_findings(new_rows: list[HeadRow]) -> list[Finding]:
    return [
        Finding(
            code="field-count",
            line=row.line,
            message=f"Line {row.line} is blank.",
            fix=f"Delete line {row.line}; rows follow each other without blank lines.",
        )
        for row in new_rows
        if not row.text.strip()
    ]


def _count_findings(new_rows: list[HeadRow]) -> list[Finding]:
    if not new_rows:
        return [
            Finding(
                code="no-new-row",
                message="No row was appended to leaderboard.csv.",
                fix="Append your model's row as the last line (no final newline).",
            )
        ]
    if len(new_rows) > 1:
        lines = [row.line for row in new_rows]
        names = [_shortened(_model_of(row.text))[:100] or "(empty)" for row in new_rows]
        models = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        return [
            Finding(
                code="multiple-new-rows",
                line=lines[0],
                message=f"{len(new_rows)} rows were added (lines {_line_list(lines)}: "
                f"{models}); a pull request submits one model.",
                fix="Keep one row here and open one pull request per other model, each with "
                "its own submissions/<slug>.json.",
            )
        ]
    return []


def _row_findings(
    row: HeadRow, facts: LeaderboardFacts, base_rows: list[str], latest: dt.date
) -> tuple[list[Finding], dict[str, str] | None]:
    values = row.text.split(",")
    header = facts.header
    if len(values) != len(header):
        quoted = _quoted_comma_finding(row, len(header))
        if quoted is not None:
            return [quoted], None
        return [
            Finding(
                code="field-count",
                line=row.line,
                message=f"Line {row.line} has {len(values)} fields; the header has {len(header)}.",
                fix="Write one field per header column (empty for tasks not run), separated by "
                "commas, and no comma inside a field.",
            )
        ], None
    fields = dict(zip(header, values, strict=True))
    findings: list[Finding] = []
    for column, value in fields.items():
        findings += cells.forbidden_characters(
            row.line, column, value, is_score=column in facts.score_columns
        )
    findings += cells.model_name(row.line, fields["Model"])
    if not slug(fields["Model"]):
        findings.append(
            Finding(
                code="model-name",
                line=row.line,
                column="Model",
                message="The model name has no ASCII letter or digit, so it gives no manifest "
                "file name.",
                fix="Include the model's name in Latin letters or digits.",
            )
        )
    findings += _duplicate_findings(row, fields["Model"], base_rows)
    findings += cells.url(row.line, fields["URL"])
    findings += cells.submission_date(row.line, fields["Submission Date"], facts, latest)
    for column in facts.score_columns:
        findings += cells.score(row.line, column, fields[column], facts.score_max_decimals)
    if all(fields[column] == "" for column in facts.score_columns):
        findings.append(
            Finding(
                code="no-scores",
                line=row.line,
                message="The row claims no score at all.",
                fix="Fill in the score of every task you ran.",
            )
        )
    return findings, fields


def _quoted_comma_finding(row: HeadRow, expected: int) -> Finding | None:
    """The root cause when a field was quoted because it holds a comma (as a spreadsheet
    writes it): named as such, with the line as it must be."""
    try:
        (values,) = list(csv.reader([row.text]))
    except (csv.Error, ValueError):
        return None
    culprits = [value for value in values if "," in value]
    if len(values) != expected or not culprits:
        return None
    fixed = [" ".join(value.replace(",", " ").split()) for value in values]
    return Finding(
        code="field-count",
        line=row.line,
        message=f"Line {row.line} quotes a field that contains a comma "
        f'(`"{culprits[0]}"`): fields are never quoted and cannot contain commas, so the '
        f"line splits into {len(row.text.split(','))} fields where the header has {expected}.",
        fix=f"Drop the quotes and the comma; the line becomes `{','.join(fixed)}`",
    )


def _duplicate_findings(row: HeadRow, model: str, base_rows: list[str]) -> list[Finding]:
    for index, text in enumerate(base_rows):
        existing = _model_of(text)
        if text == row.text:
            return [
                Finding(
                    code="duplicate-model",
                    line=row.line,
                    column="Model",
                    message=f"Line {row.line} is an exact copy of existing row {index + 2} "
                    f"({existing}).",
                    fix="Delete the copied line and append your own model's row.",
                )
            ]
        if same_model(model, existing):
            return [
                Finding(
                    code="duplicate-model",
                    line=row.line,
                    column="Model",
                    message=f"The model name {model!r} is the same as existing row "
                    f"{index + 2}'s {existing!r} (ignoring case, spacing, Unicode form and "
                    "look-alike characters).",
                    fix="Choose a name that says how your model differs.",
                )
            ]
    return []


def _duplicates_among_new(parsed: list[tuple[HeadRow, dict[str, str]]]) -> list[Finding]:
    findings = []
    first_with_key: dict[str, tuple[HeadRow, str]] = {}
    for row, fields in parsed:
        keys = comparison_keys(fields["Model"])
        earlier = next((first_with_key[key] for key in keys if key in first_with_key), None)
        if earlier is not None:
            earlier_row, earlier_model = earlier
            findings.append(
                Finding(
                    code="duplicate-model",
                    line=row.line,
                    column="Model",
                    message=f"Line {row.line} repeats the model of line {earlier_row.line} "
                    f"({earlier_model[:100]}).",
                    fix="Delete the repeated line.",
                )
            )
        for key in keys:
            first_with_key.setdefault(key, (row, fields["Model"]))
    return findings


def _manifest_findings(
    submission: Submission, fields: dict[str, str], model_slug: str | None, facts: LeaderboardFacts
) -> tuple[list[Finding], str | None, bool]:
    """(findings, the manifest path used, whether a manifest was checked)."""
    if submission.named_manifest is not None:
        path, data = submission.named_manifest
        return (
            check_manifest(path, data, _unquoted(fields), facts.score_columns),
            repository_path(path),
            True,
        )
    if submission.manifests is None or model_slug is None:
        return [], None, False
    expected = manifest_path(model_slug)
    if expected in submission.manifests:
        data = submission.manifests[expected]
        return (
            check_manifest(expected, data, _unquoted(fields), facts.score_columns),
            expected,
            True,
        )
    others = sorted(submission.manifests)
    found = f" Found instead: {', '.join(others)}." if others else ""
    if len(others) == 1:
        return (
            [
                Finding(
                    code="manifest-missing",
                    message=f"The manifest for {fields['Model']!r} must be named {expected} "
                    f"(from the Model cell); the pull request adds {others[0]} instead.",
                    fix=f"Rename it: `git mv {others[0]} {expected}`",
                )
            ],
            None,
            False,
        )
    return (
        [
            Finding(
                code="manifest-missing",
                message=f"The pull request does not add {expected}, the manifest for "
                f"{fields['Model']!r}.{found}",
                fix=f"Add {expected} (the name is the Model lower-cased, with each run of "
                "characters other than a-z and 0-9 replaced by '-').",
            )
        ],
        None,
        False,
    )


def _unquoted(fields: dict[str, str]) -> dict[str, str]:
    """The row's cells without the quotes already reported as `forbidden-character`: the
    manifest is compared with what the cell must become, so the fix never copies a quote."""
    return {column: value.strip("\"'") for column, value in fields.items()}


def repository_path(path: str) -> str:
    """A manifest path as the repository names it (`submissions/<name>.json`), not where a
    file-mode run read it from."""
    parts = path.replace("\\", "/").split("/")
    if MANIFEST_DIR in parts[:-1]:
        index = len(parts) - 1 - parts[::-1].index(MANIFEST_DIR)
        return "/".join(parts[index:])
    return f"{MANIFEST_DIR}/{parts[-1]}"


def _changed_file_findings(
    changed_files: tuple[ChangedFile, ...], expected_manifest: str | None
) -> list[Finding]:
    findings = []
    expected_present = any(
        changed.path == expected_manifest and changed.status == "added" for changed in changed_files
    )
    for changed in changed_files:
        if changed.path == LEADERBOARD_PATH and changed.status == "modified":
            continue
        if changed.path == expected_manifest and changed.status == "added":
            continue
        is_manifest = changed.path.startswith(MANIFEST_DIR + "/") and changed.status == "added"
        if is_manifest and not expected_present:
            continue  # reported as manifest-missing, naming the expected path
        findings.append(
            Finding(
                code="unexpected-file",
                message=f"The pull request changes {changed.path} ({changed.status}).",
                fix="A submission only edits leaderboard.csv and adds its own manifest; move "
                "other changes to a separate pull request.",
            )
        )
    return findings


def _ranks(
    fields: dict[str, str], base_rows: list[str], facts: LeaderboardFacts
) -> list[dict[str, Any]]:
    ranks = []
    for position, column in enumerate(facts.score_columns):
        claimed = _as_score(fields[column])
        if claimed is None:
            continue
        existing = []
        for text in base_rows:
            values = text.split(",")
            if len(values) == len(facts.header):
                value = _as_score(values[len(facts.fixed_columns) + position])
                if value is not None:
                    existing.append(value)
        higher = facts.column(column).higher_is_better
        better = sum(1 for value in existing if (value > claimed if higher else value < claimed))
        best = (max(existing) if higher else min(existing)) if existing else None
        ranks.append(
            {
                "column": column,
                "claimed": float(claimed),
                "rank": better + 1,
                "of": len(existing) + 1,
                "best_existing": float(best) if best is not None else None,
            }
        )
    return ranks


def _as_score(value: str) -> Decimal | None:
    if not value or cells.score(0, "", value, 17):
        return None
    return Decimal(value)


def _rank_warnings(ranks: list[dict[str, Any]], line: int) -> list[Finding]:
    findings = []
    for rank in ranks:
        best = rank["best_existing"]
        if rank["rank"] == 1 and best is not None and rank["claimed"] != best:
            findings.append(
                Finding(
                    code="claims-top-rank",
                    line=line,
                    column=rank["column"],
                    message=f"Claims #1 on {rank['column']}: {rank['claimed']:.4f} against the "
                    f"best existing {best:.4f}.",
                    fix="Nothing to fix if the score is real; reviewers will want it reproduced.",
                )
            )
    return findings
