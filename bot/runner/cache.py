"""The work directory's cache of embeddings, bounded by size: least recently used out first,
never an entry that a run is using; and the rules by which a run reuses what an earlier one
left (the check-model report, checked embeddings, scores).

An entry is everything kept for one model key: ``work/embeddings/<key>`` (written by the
sandbox), ``work/scores/<key>`` and ``work/checks/<key>.json`` (trusted). Its bookkeeping
lives in ``work/cache-state/`` where the sandbox never writes: ``<key>.lock`` (a shared
`flock` while a run uses the entry), ``<key>.used`` (when a run last used it) and
``<key>.bytes`` (the entry's size, measured under an exclusive lock after its last use: a
full HEAR entry is about a million files, too many to walk for every entry at every run).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.common import untrusted
from bot.common.fileio import write_atomic
from bot.common.log import Log
from bot.runner.sandbox import Limits, directory_bytes

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
        untrusted.remove_tree(embeddings_dir(work, key))  # sandbox-written: any depth
        shutil.rmtree(scores_dir(work, key), ignore_errors=True)
        for path in (work / CHECKS / f"{key}.json", state / f"{key}.used"):
            path.unlink(missing_ok=True)
        (state / f"{key}.bytes").unlink(missing_ok=True)
    # The lock file stays: a run may have opened it already and be waiting for it.
    return True


# ---------------------------------------------------------------------------------------------
# Reuse rules: what an earlier run left that a new run may take instead of running again.
# Everything here is read from and written to where the sandbox cannot write, the embeddings
# included: trusted code writes them from what the audio stream returns
# (bot/verify/streamed.py), and they are reused only while their tree digest, which covers
# every file's content, is the one recorded after they were written.

CHECKS = "checks"
SCORES = "scores"
EMBEDDINGS_RECORD = "hearbot-embeddings.json"
SCORES_SETTINGS_FILE = "hearbot-scores-settings.json"


def embeddings_dir(work: Path, key: str) -> Path:
    """Where the sandbox writes the embeddings of the model ``key`` (one folder per task)."""
    return work / EMBEDDINGS / key


def scores_dir(work: Path, key: str) -> Path:
    """Where trusted code keeps the model's scores and embedding records (one folder per task)."""
    return work / SCORES / key


def kept_checks(work: Path, key: str) -> tuple[Path, list[dict[str, str]] | None]:
    """The passing conformance report kept for the model ``key`` (and where it is kept), or
    None when there is none."""
    kept = work / CHECKS / f"{key}.json"
    if not kept.is_file():
        return kept, None
    return kept, json.loads(kept.read_text(encoding="utf-8"))


def keep_checks(
    work: Path, key: str, checks: list[dict[str, str]], seconds: float | None = None
) -> None:
    """Keep a passing conformance report: the next run of the same model reuses it (and how
    long the checks took, for its report)."""
    write_atomic(work / CHECKS / f"{key}.json", json.dumps(checks, indent=2).encode("utf-8"))
    if seconds is not None:
        write_atomic(work / CHECKS / f"{key}.seconds", f"{seconds:.3f}\n".encode())


def kept_checks_seconds(work: Path, key: str) -> float:
    """How long the kept checks of ``key`` took when they ran (0.0 when not recorded)."""
    try:
        return max(0.0, float((work / CHECKS / f"{key}.seconds").read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return 0.0


def reusable_embeddings(task_embeddings: Path, record: Path) -> str | None:
    """The recorded digest of ``task_embeddings`` when they are unchanged since they were
    checked (nothing rewrote them), else None."""
    recorded = _recorded_digest(record)
    if recorded is None or not task_embeddings.is_dir() or task_embeddings.is_symlink():
        return None
    try:
        current = tree_digest(task_embeddings)
    except untrusted.UntrustedFileError:
        return None
    return recorded if recorded == current else None


def record_embeddings(task_embeddings: Path, record: Path) -> str:
    """Record (where the sandbox cannot write) the digest of embeddings just checked."""
    digest = tree_digest(task_embeddings)
    write_atomic(record, json.dumps({"embeddings": digest}).encode())
    return digest


def _recorded_digest(record: Path) -> str | None:
    """The digest an earlier run recorded for checked embeddings, if any."""
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))["embeddings"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return recorded if isinstance(recorded, str) else None


def tree_digest(root: Path) -> str:
    """A digest of every file under ``root``: its path, size and the sha256 of its content
    (times are not in it: whoever wrote the files sets them). Walked iteratively, bounded in
    entries and depth, read through bot/common/untrusted.py; anything but a directory or a
    regular file raises `UntrustedFileError`."""
    digest = hashlib.sha256()
    limit = Limits().output_entries
    for where, info in untrusted.walk_files(root, max_entries=limit):
        if not stat.S_ISREG(info.st_mode):
            raise untrusted.UntrustedFileError(root / where, "not-a-file", "not a regular file")
        content = untrusted.sha256_file(root / where, info.st_size)
        digest.update(f"{where}\0{info.st_size}\0{content}\n".encode())
    return digest.hexdigest()


def scores_reusable(out: Path, scores_file: str, settings: dict[str, Any]) -> bool:
    """Whether ``out/scores_file`` was computed with exactly ``settings`` (which name the
    embeddings' digest). When not, the stale settings record is removed first, so that an
    interrupted evaluation is never taken for a finished one."""
    settings_file = out / SCORES_SETTINGS_FILE
    same_settings = (
        settings_file.exists() and json.loads(settings_file.read_text(encoding="utf-8")) == settings
    )
    if (out / scores_file).exists() and same_settings:
        return True
    settings_file.unlink(missing_ok=True)
    return False


def record_scores(out: Path, settings: dict[str, Any]) -> None:
    """Record the settings the scores in ``out`` were just computed with."""
    write_atomic(out / SCORES_SETTINGS_FILE, json.dumps(settings).encode())
