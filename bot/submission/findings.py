"""Findings and the registry of stable codes, each documented like a linter rule.

A code never changes meaning once released; new problems get new codes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Finding:
    """One problem (or warning) with the submission: what, where, and how to fix it."""

    code: str
    message: str
    fix: str
    line: int | None = None
    column: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unregistered finding code {self.code!r}")

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        return {key: data[key] for key in ("code", "line", "column", "message", "fix")}


@dataclass(frozen=True)
class CodeDoc:
    rule: str
    bad: str
    fix: str
    severity: str = "error"


CODES: dict[str, CodeDoc] = {
    "encoding": CodeDoc(
        rule="leaderboard.csv must be valid UTF-8.",
        bad="A row saved as Latin-1: `Universit\\xe9 X net,...`",
        fix="Save the file as UTF-8 (without BOM).",
    ),
    "bom": CodeDoc(
        rule="leaderboard.csv must not start with a UTF-8 byte-order mark.",
        bad="`\\xef\\xbb\\xbfModel,URL,...` (Excel and some Windows editors add it).",
        fix="Save as 'UTF-8' rather than 'UTF-8 with BOM', or run (macOS and Linux) "
        "`python3 -c \"import pathlib; p = pathlib.Path('leaderboard.csv'); "
        "p.write_bytes(p.read_bytes().removeprefix(b'\\xef\\xbb\\xbf'))\"`.",
    ),
    "line-endings": CodeDoc(
        rule="Lines end with LF (`\\n`) only, never CRLF or CR.",
        bad="Every line ending in `\\r\\n` after editing on Windows.",
        fix="Restore the file with `git checkout origin/main -- leaderboard.csv`, append your "
        "row again with LF endings (`git config core.autocrlf false`).",
    ),
    "trailing-newline": CodeDoc(
        rule="The file ends without a final newline (the site splits on `\\n`, so a final "
        "newline adds an empty row).",
        bad="`...,0.2593\\n` at the end of the file.",
        fix='Remove every final newline (macOS and Linux): `python3 -c "import pathlib; '
        "p = pathlib.Path('leaderboard.csv'); p.write_bytes(p.read_bytes().rstrip(b'\\r\\n'))\"`"
        "; the repository's .editorconfig and .gitattributes keep it from coming back.",
    ),
    "file-too-large": CodeDoc(
        rule="leaderboard.csv grows by one row, not by hundreds of kilobytes (the diff of a "
        "huge file is not computed).",
        bad="A generated file with thousands of rows.",
        fix="Restore the file with `git checkout origin/main -- leaderboard.csv` and append "
        "your one row.",
    ),
    "header-changed": CodeDoc(
        rule="The header line is exactly as on the default branch.",
        bad="`Model,URL,Submission Date,Beehive,...,My New Task`",
        fix="Restore line 1 from the default branch; new columns are added by maintainers.",
    ),
    "row-modified": CodeDoc(
        rule="Existing rows stay byte-for-byte unchanged, in their place; new rows go at the end.",
        bad="Re-rounding another team's scores, or inserting your row in the middle.",
        fix="Restore the file with `git checkout origin/main -- leaderboard.csv` and append "
        "only your row at the end.",
    ),
    "row-removed": CodeDoc(
        rule="No existing row is removed (or moved).",
        bad="Deleting an old row of your own team to replace it.",
        fix="Restore the file with `git checkout origin/main -- leaderboard.csv`; to retract "
        "a row, ask the maintainers in an issue.",
    ),
    "no-new-row": CodeDoc(
        rule="The pull request appends one row.",
        bad="A PR that only adds a manifest, or changes nothing in leaderboard.csv.",
        fix="Append your model's row as the last line of leaderboard.csv.",
    ),
    "multiple-new-rows": CodeDoc(
        rule="Exactly one row is appended per pull request (one model per PR).",
        bad="Three variants of a model appended at once.",
        fix="Keep one row in this PR and open one PR per other model, each with its manifest.",
    ),
    "field-count": CodeDoc(
        rule="Every row has exactly as many comma-separated fields as the header.",
        bad="A row missing the Submission Date field, a comma inside the model name, or a "
        "blank line.",
        fix="Write one field per header column, empty fields for tasks not run; no commas "
        "inside a field.",
    ),
    "forbidden-character": CodeDoc(
        rule="No quotes, control, bidi or zero-width characters in any field, and no field "
        "starting with `=`, `+`, `-` or `@` (spreadsheet formula injection).",
        bad='`"My, Model"` or `=HYPERLINK(...)` or a name with U+202E.',
        fix="Remove the character; fields are never quoted, so they cannot contain commas.",
    ),
    "model-name": CodeDoc(
        rule="Model is 'team/institution + short model name': 3–100 characters, no leading "
        "or trailing space, no repeated spaces, at least one letter.",
        bad="`model`, ` Acme Net`, `Acme  Net`",
        fix="Use e.g. `Acme Labs AcmeNet-base`.",
    ),
    "duplicate-model": CodeDoc(
        rule="Model names are unique, compared after Unicode NFKC, case folding, whitespace "
        "collapsing and mapping of confusable look-alike characters.",
        bad="`CP-JKU PaSST base` again, or `СP-JKU PaSST base` with a Cyrillic С.",
        fix="Choose a distinct name that says how your model differs.",
    ),
    "url": CodeDoc(
        rule="URL is an `https://` link to the model's repository or paper, with a host name "
        "and without spaces or credentials.",
        bad="`http://example.org/model`, `github.com/acme/net`",
        fix="Use the full https URL, e.g. `https://github.com/acme/net`.",
    ),
    "date": CodeDoc(
        rule="A new row's Submission Date is a real `YYYY-MM-DD` date, not in the future; "
        "`HEAR 2021` is reserved for the original rows.",
        bad="`2024/03/01`, `HEAR 2021` on a new row, a date next year.",
        fix="Use today's date, e.g. `2026-11-26`.",
    ),
    "score-format": CodeDoc(
        rule="A score is a plain decimal (`0.8123`), or empty when the task was not run.",
        bad="`.81`, `8.1e-1`, `81%`, `nan`, `0,81`, ` 0.81`",
        fix="Write the number as digits with a decimal point: `0.81`.",
    ),
    "score-range": CodeDoc(
        rule="A score lies in [0, 1].",
        bad="`81.2` (a percentage) or `-0.1`.",
        fix="Divide percentages by 100: `0.812`.",
    ),
    "score-precision": CodeDoc(
        rule="A score has at most 9 decimals.",
        bad="`0.89500000479999997` (a float printed with 17 digits).",
        fix="Round to 9 decimals: `0.895000005`.",
    ),
    "no-scores": CodeDoc(
        rule="A new row claims at least one score.",
        bad="`Acme Labs Net,https://...,2026-11-26,,,,,,,,,,,,,,,,,,,`",
        fix="Fill in the scores of the tasks you ran.",
    ),
    "unexpected-file": CodeDoc(
        rule="A submission PR changes only leaderboard.csv and adds its own "
        "submissions/<slug>.json.",
        bad="A PR that also edits bot/ or README.md, or another team's manifest.",
        fix="Move other changes to a separate pull request.",
    ),
    "manifest-missing": CodeDoc(
        rule="The PR adds the manifest submissions/<slug>.json, slug derived from Model.",
        bad="No manifest, or submissions/AcmeNet.json for Model `Acme Labs AcmeNet`.",
        fix="Add submissions/<slug>.json (slug: Model lower-cased, each run of characters "
        "other than a-z and 0-9 replaced by `-`, no leading or trailing `-`).",
    ),
    "manifest-invalid": CodeDoc(
        rule="The manifest is UTF-8 JSON that satisfies schemas/submission.schema.json.",
        bad="A missing `hear_module`, or `sample_rate: 8000`.",
        fix="Fix the field the message names; see schemas/submission.schema.json.",
    ),
    "manifest-mismatch": CodeDoc(
        rule="The manifest agrees with the row: same model name and URL, and tasks_not_run "
        "names exactly the empty score columns.",
        bad="`tasks_not_run` lists Beehive but the row has a Beehive score.",
        fix="Make the manifest and the row say the same thing.",
    ),
    "manifest-unpinned": CodeDoc(
        rule="The model's own package is pinned by content: an https wheel/sdist URL with "
        "`#sha256=`, `git+https://...@<40-hex commit>`, or `name==version "
        "--hash=sha256:...`; no editable, local, branch or index-changing lines.",
        bad="`git+https://github.com/acme/net@main`, `acmenet>=1.0`, `--extra-index-url ...`",
        fix="Pin the exact artifact: `acmenet @ https://.../acmenet-1.0-py3-none-any.whl"
        "#sha256=<sha256 of the file>`.",
    ),
    "manifest-not-checked": CodeDoc(
        rule="Without a manifest, the manifest checks are skipped (warning).",
        bad="`hearbot validate --base-file B --head-file H` without `--manifest`.",
        fix="Pass `--manifest submissions/<slug>.json` to check it too.",
        severity="warning",
    ),
    "too-many-findings": CodeDoc(
        rule="At most 1000 errors are listed; the rest are counted (warning).",
        bad="A file rewritten into thousands of malformed rows.",
        fix="Restore the file from the default branch and append one row.",
        severity="warning",
    ),
    "claims-top-rank": CodeDoc(
        rule="A claimed score that beats every existing row of its column is pointed out to "
        "reviewers (warning).",
        bad="A new row claiming 0.99 on ESC-50.",
        fix="Nothing to fix if the score is real; the verifier will reproduce it.",
        severity="warning",
    ),
}
