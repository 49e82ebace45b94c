"""``hearbot publish``: read leaderboard.csv, the manifests and the evidence store's records
from disk, bind them (bot.publish.tiers) and write the site (bot.publish.site) and, on request,
one bound file per row for the evidence branch.

Inputs are local folders: the default branch's checkout and a checkout of the evidence branch
(``records/<key>/*.json``). Nothing here talks to GitHub.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.publish.records import BOUND_DIR, RECORDS_DIR, RecordError, read_record
from bot.publish.rows import parse_leaderboard
from bot.publish.site import build_site
from bot.publish.tiers import Entry, bind_rows

MAX_MANIFEST_BYTES = 256 * 1024
BOUND_SUFFIX = ".verification.json"


class PublishInputError(ValueError):
    """An input folder or file cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Inputs:
    leaderboard: Path
    submissions: Path
    evidence: Path | None  # a checkout of the evidence branch, or None (no evidence yet)
    pulls: Path | None = None  # `hearbot github find-pulls --out` of this push, if any


def read_manifests(folder: Path, slugs: set[str]) -> dict[str, bytes]:
    manifests = {}
    for slug in sorted(slugs):
        if not slug:
            continue
        path = folder / f"{slug}.json"
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if len(data) > MAX_MANIFEST_BYTES:
            raise PublishInputError(f"{path} is larger than {MAX_MANIFEST_BYTES} bytes")
        manifests[slug] = data
    return manifests


def read_records(evidence: Path | None) -> dict[str, list[dict[str, Any]]]:
    """binding key -> its records, each checked; a record in the wrong folder is an error."""
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if evidence is None:
        return found
    if not evidence.is_dir():
        raise PublishInputError(f"--evidence {evidence} is not a folder")
    root = evidence / RECORDS_DIR
    if not root.is_dir():
        return found
    for path in sorted(root.glob("*/*.json")):
        where = str(path.relative_to(evidence))
        if path.is_symlink():
            raise PublishInputError(f"{where} is a symbolic link; the store holds plain files")
        try:
            record = read_record(path.read_bytes(), where)
        except RecordError as exc:
            raise PublishInputError(str(exc)) from None
        if record["binding"]["key"] != path.parent.name:
            raise PublishInputError(
                f"{where} is bound to {record['binding']['key']}, not to its folder's key"
            )
        found[path.parent.name].append(record)
    return found


def read_merged_pulls(inputs: Inputs) -> dict[str, dict[str, Any]]:
    """row content hash -> merged PR: what earlier runs bound (bound/ on the evidence branch),
    updated by this push's find-pulls answer."""
    found: dict[str, dict[str, Any]] = {}
    bound = inputs.evidence / BOUND_DIR if inputs.evidence is not None else None
    if bound is not None and bound.is_dir():
        for path in sorted(bound.glob(f"*{BOUND_SUFFIX}")):
            try:
                row = json.loads(path.read_bytes())["row"]
            except (ValueError, KeyError, TypeError):
                raise PublishInputError(f"{path} is not a bound file hearbot wrote") from None
            if isinstance(row, dict) and isinstance(row.get("merged_pull"), dict):
                found[str(row.get("row_sha256"))] = _pull(row["merged_pull"], str(path))
    if inputs.pulls is not None:
        try:
            document = json.loads(inputs.pulls.read_bytes())
            pulls = document["pulls"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PublishInputError(f"--pulls {inputs.pulls}: unreadable ({exc})") from None
        for row_hash, pull in pulls.items():
            found[row_hash] = _pull(pull, str(inputs.pulls))
    return found


def _pull(value: Any, where: str) -> dict[str, Any]:
    try:
        number, url = int(value["number"]), str(value["url"])
    except (KeyError, TypeError, ValueError):
        raise PublishInputError(f"{where}: a pull request without number and url") from None
    if number < 1 or not url.startswith("https://"):
        raise PublishInputError(f"{where}: pull request {number} {url!r} is not usable")
    return {"number": number, "url": url, "merge_commit_sha": value.get("merge_commit_sha")}


def bind(inputs: Inputs) -> list[Entry]:
    try:
        data = inputs.leaderboard.read_bytes()
    except OSError as exc:
        raise PublishInputError(f"{inputs.leaderboard}: {exc.strerror}") from None
    rows = parse_leaderboard(data)
    manifests = read_manifests(inputs.submissions, {row.slug for row in rows})
    return bind_rows(rows, manifests, read_records(inputs.evidence), read_merged_pulls(inputs))


def bound_document(entry: Entry) -> dict[str, Any]:
    """What ``bound/<page>.verification.json`` says about one row: its tier and every record
    bound to it (or that none is)."""
    return {"schema_version": 1, "row": entry.as_json(), "records": entry.records}


def bound_files(entries: list[Entry]) -> dict[str, bytes]:
    """Relative path on the evidence branch -> bytes, for every row after the bot's start."""
    files = {}
    for entry in entries:
        if entry.tier == "self-reported":
            continue
        text = json.dumps(bound_document(entry), indent=2, sort_keys=True, ensure_ascii=False)
        files[f"{BOUND_DIR}/{entry.page}{BOUND_SUFFIX}"] = text.encode() + b"\n"
    return files


def publish(inputs: Inputs, out: Path, *, repository: str | None, bound_out: Path | None) -> str:
    entries = bind(inputs)
    written = build_site(entries, out, repository=repository)
    if bound_out is not None:
        for name, data in bound_files(entries).items():
            target = bound_out / name
            if not (target.is_file() and target.read_bytes() == data):
                write_atomic(target, data)
    counts: dict[str, int] = defaultdict(int)
    for entry in entries:
        counts[entry.tier] += 1
    summary = ", ".join(f"{n} {tier}" for tier, n in sorted(counts.items()))
    return f"published {len(entries)} rows ({summary}) as {len(written)} files in {out}"
