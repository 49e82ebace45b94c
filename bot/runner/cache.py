"""The work directory's cache of embeddings, bounded by size: least recently used out first,
never an entry that a run is using.

An entry is everything kept for one model key: ``work/embeddings/<key>`` (written by the
sandbox), ``work/scores/<key>`` and ``work/checks/<key>.json`` (trusted). Its bookkeeping
lives in ``work/cache-state/`` where the sandbox never writes: ``<key>.lock`` (a shared
`flock` while a run uses the entry), ``<key>.used`` (when a run last used it) and
``<key>.bytes`` (the entry's size, measured under an exclusive lock after its last use: a
full HEAR entry is about a million files, too many to walk for every entry at every run).
"""

from __future__ import annotations

import fcntl
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.common.fileio import write_atomic
from bot.common.log import Log
from bot.runner.sandbox import directory_bytes

STATE = "cache-state"
EMBEDDINGS = "embeddings"


@dataclass(frozen=True)
class Entry:
    key: str
    bytes: int
    last_used: float


@contextmanager
def using(work: Path, key: str) -> Iterator[None]:
    """Hold ``key``'s entry for the duration of a run (eviction skips it) and stamp its use."""
    state = work / STATE
    state.mkdir(parents=True, exist_ok=True)
    with open(state / f"{key}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        try:
            (state / f"{key}.used").write_text(f"{time.time():.3f}\n")
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def entries(work: Path) -> list[Entry]:
    """The cache's entries, least recently used first."""
    root = work / EMBEDDINGS
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.is_symlink():
            last_used = _last_used(work, folder)
            found.append(Entry(folder.name, _entry_bytes(work, folder, last_used), last_used))
    return sorted(found, key=lambda entry: (entry.last_used, entry.key))


def _entry_bytes(work: Path, folder: Path, last_used: float) -> int:
    """The size recorded since the entry's last use, or else walked. An entry no run holds is
    walked under an exclusive lock (a run that wants it waits) and its size recorded with the
    use stamp it belongs to: any later use changes the stamp and so voids the record. An entry
    in use may still grow: it is walked every time and nothing is recorded."""
    record = work / STATE / f"{folder.name}.bytes"
    try:
        recorded = json.loads(record.read_text())
        if recorded["last_used"] == last_used:
            return int(recorded["bytes"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    with _exclusive(work, folder.name) as idle:
        size = directory_bytes(folder)
        if idle:  # the use stamp cannot change while the lock is held
            stamp = _last_used(work, folder)
            document = json.dumps({"bytes": size, "last_used": stamp}) + "\n"
            write_atomic(record, document.encode(), durable=False)  # a lost record is re-walked
    return size


@contextmanager
def _exclusive(work: Path, key: str) -> Iterator[bool]:
    """Hold ``key``'s lock exclusively if no run holds it; yields whether it could."""
    state = work / STATE
    state.mkdir(parents=True, exist_ok=True)
    with open(state / f"{key}.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _last_used(work: Path, folder: Path) -> float:
    try:
        return float((work / STATE / f"{folder.name}.used").read_text())
    except (OSError, ValueError):
        return folder.stat().st_mtime


def evict(work: Path, max_bytes: int, log: Log) -> list[str]:
    """Remove least recently used entries until the embeddings fit in ``max_bytes``; entries
    in use are skipped. Returns the evicted keys."""
    current = entries(work)
    total = sum(entry.bytes for entry in current)
    evicted = []
    for entry in current:
        if total <= max_bytes:
            break
        if _remove_unless_in_use(work, entry.key):
            total -= entry.bytes
            evicted.append(entry.key)
            log(f"cache: evicted {entry.key} ({entry.bytes >> 20} MB, least recently used)")
    if total > max_bytes:
        log(f"cache: {total >> 20} MB kept, over the {max_bytes >> 20} MB bound (entries in use)")
    return evicted


def _remove_unless_in_use(work: Path, key: str) -> bool:
    state = work / STATE
    with _exclusive(work, key) as idle:
        if not idle:
            return False
        shutil.rmtree(work / EMBEDDINGS / key, ignore_errors=True)
        shutil.rmtree(work / "scores" / key, ignore_errors=True)
        for path in (work / "checks" / f"{key}.json", state / f"{key}.used"):
            path.unlink(missing_ok=True)
        (state / f"{key}.bytes").unlink(missing_ok=True)
    # The lock file stays: a run may have opened it already and be waiting for it.
    return True
