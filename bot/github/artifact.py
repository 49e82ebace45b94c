"""The verify job's artifact, read as untrusted data (threat model 8).

The GPU job ran a stranger's code, so what it uploaded is checked before anything is believed:
a directory holding at most ``ALLOWED_FILES`` (plain files, no links, no sub-directories, no
other names), ``MAX_ARTIFACT_BYTES`` in all, strict JSON (no NaN, no duplicate keys),
``result.json`` valid against schemas/result.schema.json with ``kind: verification``, and
nothing in it may name another pull request or commit than the trusted ones the report job was
given by the command job. Any failure is an ``ArtifactError``: reported as ``error``.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.common import strict_json
from bot.common.result import ResultDocument, StaleNote
from bot.common.schemas import json_pointer, schema_errors

RESULT_FILE = "result.json"
STALE_FILE = "stale.json"
ALLOWED_FILES = frozenset({RESULT_FILE, STALE_FILE})
MAX_ARTIFACT_BYTES = 5 * 1024 * 1024


class ArtifactError(ValueError):
    """The artifact is missing or not what the verify job is allowed to produce."""


@dataclass(frozen=True)
class Artifact:
    result: ResultDocument | None
    stale: StaleNote | None


def read_artifact(directory: Path, pr: int, sha: str) -> Artifact:
    files = _listing(directory)
    total = sum(size for size in files.values())
    if total > MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"the artifact is {total} bytes, more than {MAX_ARTIFACT_BYTES}")
    stale = _stale(_json(directory / STALE_FILE), pr, sha) if STALE_FILE in files else None
    result = _result(_json(directory / RESULT_FILE), pr, sha) if RESULT_FILE in files else None
    if stale is None and result is None:
        raise ArtifactError(f"the artifact holds neither {RESULT_FILE} nor {STALE_FILE}")
    return Artifact(result=result, stale=stale)


def _listing(directory: Path) -> dict[str, int]:
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        raise ArtifactError("the verify job left no artifact") from None
    except OSError as exc:
        raise ArtifactError(f"the artifact cannot be listed: {exc.strerror}") from None
    files: dict[str, int] = {}
    for entry in entries:
        shown = ascii(entry.name)[:80]
        if entry.name not in ALLOWED_FILES:
            raise ArtifactError(f"unexpected file {shown} in the artifact")
        info = entry.lstat()
        if not stat.S_ISREG(info.st_mode):
            raise ArtifactError(f"{shown} in the artifact is not a plain file")
        files[entry.name] = info.st_size
    return files


def _json(path: Path) -> Any:
    if path.stat().st_size > MAX_ARTIFACT_BYTES:
        raise ArtifactError(f"{path.name} is larger than {MAX_ARTIFACT_BYTES} bytes")
    try:
        return strict_json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{path.name} is not strict JSON: {str(exc)[:200]}") from None


def _result(data: Any, pr: int, sha: str) -> ResultDocument:
    errors = schema_errors("result.schema.json", data)
    if errors:
        first = errors[0]
        where = json_pointer(first) or "/"
        raise ArtifactError(
            f"{RESULT_FILE} does not match result.schema.json ({len(errors)} error(s); first at "
            f"{ascii(where)[:100]}: {first.validator})"
        )
    if data["kind"] != "verification" or not data.get("verification"):
        raise ArtifactError(f"{RESULT_FILE} is not a verification result")
    pull = data.get("pull_request")
    if pull is not None and (pull["number"] != pr or pull["head_sha"] != sha):
        raise ArtifactError(f"{RESULT_FILE} claims another pull request or commit")
    return data


def _stale(data: Any, pr: int, sha: str) -> StaleNote:
    if (
        not isinstance(data, dict)
        or set(data) != {"pr", "sha", "current_head_sha"}
        or not all(isinstance(data[key], str) for key in ("sha", "current_head_sha"))
        or type(data["pr"]) is not int
    ):
        raise ArtifactError(f"{STALE_FILE} is not a stale note")
    if data["pr"] != pr or data["sha"] != sha:
        raise ArtifactError(f"{STALE_FILE} claims another pull request or commit")
    return data
