"""The work directory's cache of embeddings, bounded by size: least recently used out first,
never an entry that a run is using.

An entry is everything kept for one model key: ``work/embeddings/<key>`` (written by the
sandbox), ``work/scores/<key>`` and ``work/checks/<key>.json`` (trusted). Its bookkeeping
lives in ``work/cache-state/`` where the sandbox never writes: ``<key>.lock`` (a shared
`flock` while a run uses the entry) and ``<key>.used`` (when a run last used it).
"""

from __future__ import annotations

import fcntl
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.sandbox import directory_bytes

STATE = "cache-state"
EMBEDDINGS = "embeddings"

Log = Callable[[str], None]


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
            found.append(Entry(folder.name, directory_bytes(folder), _last_used(work, folder)))
    return sorted(found, key=lambda entry: (entry.last_used, entry.key))


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
    state.mkdir(parents=True, exist_ok=True)
    with open(state / f"{key}.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        try:
            shutil.rmtree(work / EMBEDDINGS / key, ignore_errors=True)
            shutil.rmtree(work / "scores" / key, ignore_errors=True)
            for path in (work / "checks" / f"{key}.json", state / f"{key}.used"):
                path.unlink(missing_ok=True)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    # The lock file stays: a run may have opened it already and be waiting for it.
    return True
