"""The GPU shards' artifacts as the report job downloads them, read as untrusted data.

``actions/download-artifact`` with ``pattern: hearbot-verification-shard-*`` puts each artifact
in a folder of its own name under the download path. Each planned shard's folder is checked by
``bot.github.artifact.read_artifact`` (plain files only, size, strict JSON, schema, same PR
and SHA); a missing or rejected one becomes that shard's problem, never an exception. Other
entries are only named, in notes, and never read.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Sequence
from pathlib import Path

from bot.github.artifact import ArtifactError, read_artifact
from bot.github.shard_merge import ShardInput
from bot.github.shards import MAX_SHARDS, Shard

ARTIFACT_PREFIX = "hearbot-verification-shard-"
_NAME_RE = re.compile(rf"^{re.escape(ARTIFACT_PREFIX)}([1-9][0-9]?)$")
MAX_ENTRIES = 4 * MAX_SHARDS


def artifact_name(shard: int) -> str:
    return f"{ARTIFACT_PREFIX}{shard}"


def read_shard_inputs(
    directory: Path, plan: Sequence[Shard], pr: int, sha: str
) -> tuple[list[ShardInput], list[str]]:
    """(one input per planned shard and per other shard folder found, notes on the rest)."""
    notes: list[str] = []
    try:
        entries = sorted(directory.iterdir()) if directory.is_dir() else []
    except OSError as exc:
        entries = []
        notes.append(f"The shards' artifacts could not be listed: {exc.strerror}.")
    if len(entries) > MAX_ENTRIES:
        notes.append(f"{len(entries)} entries were downloaded; none was read.")
        entries = []
    found: dict[int, Path] = {}
    for entry in entries:
        match = _NAME_RE.match(entry.name)
        if match is None:
            notes.append(f"Unexpected download {ascii(entry.name)[:80]} was ignored.")
        else:
            found[int(match.group(1))] = entry
    planned = {shard.number for shard in plan}
    inputs = [_read(found.get(number), pr, sha, number) for number in sorted(planned)]
    inputs += [ShardInput(number, None, "not planned") for number in sorted(set(found) - planned)]
    return inputs, notes


def _read(folder: Path | None, pr: int, sha: str, number: int) -> ShardInput:
    if folder is None:
        return ShardInput(
            number, None, "its job left no artifact (it failed, was cancelled or timed out)"
        )
    if not stat.S_ISDIR(folder.lstat().st_mode):
        return ShardInput(number, None, "its artifact is not a plain folder")
    try:
        return ShardInput(number, read_artifact(folder, pr, sha))
    except ArtifactError as exc:
        return ShardInput(number, None, f"its artifact was rejected: {exc}")
