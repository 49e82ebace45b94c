"""The submission manifest (submissions/<slug>.json): parsing, schema, pins, agreement.

The schema is schemas/submission.schema.json; this module adds what a schema cannot say.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.common import strict_json
from bot.common.schemas import json_pointer, schema_errors
from bot.submission.findings import Finding

MANIFEST_DIR = "submissions"
_NAME = r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?"
_SHA256 = r"[0-9a-f]{64}"
_PLAIN_REQUIREMENT = re.compile(
    rf"(?P<name>{_NAME})(\[[A-Za-z0-9._, -]*\])?[ \t]*"
    r"(?P<spec>(~=|==|!=|<=|>=|<|>|===)\s*[A-Za-z0-9.*+!_-]+"
    r"(\s*,\s*(~=|==|!=|<=|>=|<|>|===)\s*[A-Za-z0-9.*+!_-]+)*)?"
    r"\s*(;\s*[^;\r\n]+)?"
)
_HASHED_REQUIREMENT = re.compile(
    rf"(?P<name>{_NAME})(\[[A-Za-z0-9._, -]*\])?\s*==\s*[A-Za-z0-9.+!_-]+"
    rf"(\s+--hash=sha256:{_SHA256})+\s*"
)
_ARCHIVE_URL = re.compile(
    rf"https://[^\s#@]+\.(whl|tar\.gz|zip|tar\.bz2)#sha256=(?P<sha>{_SHA256})"
)
_GIT_URL = re.compile(
    r"git\+https://[^\s@#]+@(?P<rev>[^\s#]+)(#(egg|subdirectory)=[A-Za-z0-9._/=&-]+)?"
)
_COMMIT = re.compile(r"[0-9a-f]{40}")
_NAMED_URL = re.compile(rf"(?P<name>{_NAME})(\[[^\]]*\])?\s*@\s*(?P<url>\S+)\s*(;\s*[^;\r\n]+)?")


def manifest_path(slug: str) -> str:
    return f"{MANIFEST_DIR}/{slug}.json"


@dataclass(frozen=True)
class InstallLine:
    text: str
    kind: str  # "content-pinned", "constraint" or "unpinned"
    reason: str = ""


def classify_install_line(text: str) -> InstallLine:
    """Is this requirement line pinned by content, a dependency constraint, or refused?"""
    line = text.strip()
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return InstallLine(text, "unpinned", "it contains a line break or control character")
    if line.startswith("-"):
        return InstallLine(
            text,
            "unpinned",
            "pip options (editable installs, other indexes, "
            "requirement files, find-links) are not allowed",
        )
    if _HASHED_REQUIREMENT.fullmatch(line):
        return InstallLine(text, "content-pinned")
    named = _NAMED_URL.fullmatch(line)
    target = named.group("url") if named else line
    if "://" in target or target.startswith(("git+", "file:", ".", "/")):
        return _classify_url(text, target)
    plain = _PLAIN_REQUIREMENT.fullmatch(line)
    if plain and plain.group("spec"):
        return InstallLine(text, "constraint")
    if plain:
        return InstallLine(
            text,
            "unpinned",
            "a dependency line must pin or constrain its version "
            "(e.g. `librosa==0.9.2` or `librosa<0.10`)",
        )
    return InstallLine(text, "unpinned", "this is not a requirement pip understands")


def _classify_url(text: str, target: str) -> InstallLine:
    if _ARCHIVE_URL.fullmatch(target):
        return InstallLine(text, "content-pinned")
    git = _GIT_URL.fullmatch(target)
    if git:
        if _COMMIT.fullmatch(git.group("rev")):
            return InstallLine(text, "content-pinned")
        return InstallLine(
            text,
            "unpinned",
            f"git revision {git.group('rev')!r} is not a 40-hex commit SHA "
            "(branches and tags can move)",
        )
    if target.startswith("https://") and "#sha256=" not in target:
        return InstallLine(text, "unpinned", "the URL has no #sha256=<64 hex> of the file")
    return InstallLine(
        text,
        "unpinned",
        "only https archive URLs with #sha256= and git+https URLs at a 40-hex commit are allowed",
    )


def _strict_json(data: bytes) -> tuple[Any, str | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"it is not UTF-8 ({exc.reason} at byte {exc.start})"
    if text.startswith("\ufeff"):
        return None, "it starts with a byte-order mark"
    try:
        return strict_json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"it is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
    except ValueError as exc:
        return None, f"it is not valid JSON ({exc})"


def check_manifest(
    path: str,
    data: bytes,
    row: dict[str, str],
    score_columns: tuple[str, ...],
) -> list[Finding]:
    """Every problem of the manifest at ``path`` against the appended ``row``."""
    manifest, error = _strict_json(data)
    if error:
        return [
            Finding(
                code="manifest-invalid",
                message=f"{path}: {error}.",
                fix="Save the manifest as UTF-8 JSON; start from the example in the README.",
            )
        ]
    findings = [
        Finding(
            code="manifest-invalid",
            message=f"{path}{'#' + json_pointer(e) if e.absolute_path else ''}: {e.message}.",
            fix="See schemas/submission.schema.json for the field's rules.",
        )
        for e in schema_errors("submission.schema.json", manifest)
    ]
    if not isinstance(manifest, dict):
        return findings
    findings += _agreement(path, manifest, row, score_columns)
    install = manifest.get("install")
    if isinstance(install, list) and all(isinstance(item, str) for item in install):
        findings += _pins(path, install)
    return findings


def _mismatch(path: str, message: str, fix: str, column: str | None = None) -> Finding:
    return Finding(code="manifest-mismatch", column=column, message=f"{path}: {message}", fix=fix)


def _agreement(
    path: str, manifest: dict[str, Any], row: dict[str, str], score_columns: tuple[str, ...]
) -> list[Finding]:
    findings = []
    for key, column in (("model", "Model"), ("url", "URL")):
        value = manifest.get(key)
        if isinstance(value, str) and column in row and value != row[column]:
            findings.append(
                _mismatch(
                    path,
                    f"`{key}` is {value!r} but the row's {column} is {row[column]!r}.",
                    f"Make `{key}` exactly the row's {column} cell.",
                    column,
                )
            )
    not_run = manifest.get("tasks_not_run")
    if isinstance(not_run, dict):
        empty = [name for name in score_columns if row.get(name, "") == ""]
        for name in empty:
            if name not in not_run:
                findings.append(
                    _mismatch(
                        path,
                        f"the row leaves {name} empty but `tasks_not_run` gives no reason.",
                        f'Add "{name}": "<why it was not run>" to `tasks_not_run`, or fill in '
                        "the score.",
                        name,
                    )
                )
        for name in not_run:
            if name in score_columns and name not in empty:
                findings.append(
                    _mismatch(
                        path,
                        f"`tasks_not_run` lists {name} but the row claims a score for it.",
                        f"Remove {name} from `tasks_not_run`, or empty its cell.",
                        name,
                    )
                )
    return findings


def _pins(path: str, install: list[str]) -> list[Finding]:
    lines = [classify_install_line(text) for text in install]
    findings = [
        Finding(
            code="manifest-unpinned",
            message=f"{path}: install line {line.text!r} is refused: {line.reason}.",
            fix="Pin by content: an https wheel/sdist URL with #sha256=, git+https://...@<40-hex "
            "commit>, or name==version --hash=sha256:...; plain `name==version` or "
            "`name<version` lines may constrain dependencies.",
        )
        for line in lines
        if line.kind == "unpinned"
    ]
    if not any(line.kind == "content-pinned" for line in lines):
        findings.append(
            Finding(
                code="manifest-unpinned",
                message=f"{path}: no install line pins the model's own package by content.",
                fix="Add e.g. `acmenet @ https://.../acmenet-1.0-py3-none-any.whl#sha256=<64 hex>`"
                " or `acmenet==1.0 --hash=sha256:<64 hex>` (sha256 of the published file).",
            )
        )
    return findings
