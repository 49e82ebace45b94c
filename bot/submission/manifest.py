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
        module = manifest.get("hear_module")
        findings += _pins(path, install, module if isinstance(module, str) else "")
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
                    f"Set it to the row's {column} cell: `{json.dumps(key)}: "
                    f"{json.dumps(row[column], ensure_ascii=False)}`",
                    column,
                )
            )
    not_run = manifest.get("tasks_not_run")
    if isinstance(not_run, dict):
        finding = _tasks_not_run_finding(path, not_run, row, score_columns)
        if finding is not None:
            findings.append(finding)
    return findings


REASON_PLACEHOLDER = "not run"


def _tasks_not_run_finding(
    path: str, not_run: dict[str, Any], row: dict[str, str], score_columns: tuple[str, ...]
) -> Finding | None:
    """One finding for every disagreement between `tasks_not_run` and the row's empty cells,
    with the whole `tasks_not_run` to paste (reasons already given are kept)."""
    empty = [name for name in score_columns if row.get(name, "") == ""]
    unexplained = [name for name in empty if name not in not_run]
    claimed = [name for name in not_run if name in score_columns and name not in empty]
    if not unexplained and not claimed:
        return None
    problems = []
    if unexplained:
        problems.append(
            f"the row leaves {_names(unexplained)} empty but `tasks_not_run` gives no reason"
        )
    if claimed:
        problems.append(f"`tasks_not_run` lists {_names(claimed)}, which the row claims")
    block = {name: str(not_run[name]) if name in not_run else REASON_PLACEHOLDER for name in empty}
    text = json.dumps(block, ensure_ascii=False)
    return _mismatch(
        path,
        "; ".join(problems) + ".",
        f'Replace `tasks_not_run` with `"tasks_not_run": {text}` (one entry per empty cell; '
        f'say why instead of "{REASON_PLACEHOLDER}" if you like), or fill in the scores.',
        (unexplained or claimed)[0] if len(unexplained) + len(claimed) == 1 else None,
    )


def _names(names: list[str], limit: int = 19) -> str:
    shown = ", ".join(names[:limit])
    count = f"{len(names)} columns: " if len(names) > 1 else ""
    return count + shown


def _pins(path: str, install: list[str], hear_module: str = "") -> list[Finding]:
    lines = [classify_install_line(text) for text in install]
    refused = [line for line in lines if line.kind == "unpinned"]
    findings = [
        Finding(
            code="manifest-unpinned",
            message=f"{path}: install line `{line.text.strip()}` is refused: {line.reason}.",
            fix=_unpinned_fix(line.text),
        )
        for line in refused
    ]
    # A refused URL or git line was the model's pin: its own finding says how to fix it.
    tried = any(_is_url_line(line.text) for line in refused)
    if not any(line.kind == "content-pinned" for line in lines) and not tried:
        package, version = _model_package(install, hear_module)
        findings.append(
            Finding(
                code="manifest-unpinned",
                message=f"{path}: no install line pins the model's own package (`{package}`) "
                "by content, so the bot could not be sure to verify what you submitted.",
                fix=f"Pin the file you published, by its sha256: `{package}=={version} "
                f"--hash=sha256:<64 hex>` (a file on PyPI) or `{package} @ https://…/"
                f"{package.replace('-', '_')}-{version}-py3-none-any.whl#sha256=<64 hex>`; get "
                f"the sha256 with `pip download {package}=={version} --no-deps -d dist` then "
                "`sha256sum dist/*` (macOS: `shasum -a 256 dist/*`).",
            )
        )
    return findings


def _is_url_line(text: str) -> bool:
    named = _NAMED_URL.fullmatch(text.strip())
    target = named.group("url") if named else text.strip()
    return "://" in target or target.startswith("git+")


def _model_package(install: list[str], hear_module: str) -> tuple[str, str]:
    """The model's own package as the submitter named it (the line whose name matches the
    HEAR module, else the first line), and its version if the line gives one."""
    wanted = hear_module.split(".")[0].replace("_", "-").lower()
    candidates = []
    for text in install:
        plain = _PLAIN_REQUIREMENT.fullmatch(text.strip())
        if plain:
            version = re.search(r"==\s*([A-Za-z0-9.+!_-]+)", plain.group("spec") or "")
            candidates.append((plain.group("name"), version.group(1) if version else "<version>"))
    for name, version in candidates:
        if name.replace("_", "-").lower() == wanted:
            return name, version
    if candidates and not wanted:
        return candidates[0]
    return (wanted or "<package>"), "<version>"


def _unpinned_fix(text: str) -> str:
    """A fix for one refused line, in the submitter's own names."""
    line = text.strip()
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in text):
        return "Put each requirement in its own list item, on one line."
    if line.startswith("-"):
        return "Delete the line: pip options cannot be passed; pin each package instead."
    named = _NAMED_URL.fullmatch(line)
    target = named.group("url") if named else line
    git = _GIT_URL.fullmatch(target)
    if git:
        url = target.split("@", 1)[0].removeprefix("git+")
        revision = git.group("rev")
        pinned = line.replace(f"@{revision}", "@<40-hex commit>", 1)
        return (
            f"Pin the commit instead of `{revision}`: `{pinned}`; "
            f"`git ls-remote {url} {revision}` prints it."
        )
    if target.startswith("https://") and "#sha256=" not in target:
        file_name = target.rsplit("/", 1)[-1] or "FILE"
        return (
            f"Add the file's sha256: `{line}#sha256=<64 hex>`; get it with "
            f"`sha256sum {file_name}` (macOS: `shasum -a 256 {file_name}`)."
        )
    plain = _PLAIN_REQUIREMENT.fullmatch(line)
    if plain and not plain.group("spec"):
        name = plain.group("name")
        return (
            f"Give the version you tested with, e.g. `{name}==<version>` (`pip show {name}` "
            f"prints it) or an upper bound `{name}<<next major>`; or delete the line if your "
            f"package already requires {name}."
        )
    return (
        "Pin by content: an https wheel/sdist URL with #sha256=, git+https://...@<40-hex "
        "commit>, or name==version --hash=sha256:...; plain `name==version` or "
        "`name<version` lines may constrain dependencies."
    )
