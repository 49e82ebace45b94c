"""Writing files so that nothing is ever half-written: a temp file beside the target, renamed."""

from __future__ import annotations

import hashlib
import itertools
import os
import tempfile
from pathlib import Path

# Temp names are this process's id and a counter: one exclusive open, no random name to draw
# (embedding writes thousands of small files, and tempfile's names cost more than the write).
_COUNTER = itertools.count()
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
_FLAGS |= getattr(os, "O_CLOEXEC", 0)


def write_atomic(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write ``data`` to ``path`` through a temp file and a rename: readers see the old file
    or the whole new one, never part of it. ``durable`` also flushes it to the disk before
    the rename (skip that for many small files a rerun can recreate, such as embeddings).
    The file gets the mode a plain open() would give; missing parent directories are made."""
    path = Path(path)
    fd, tmp_name = _open_temp(path)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


def _open_temp(path: Path) -> tuple[int, str]:
    """A new temp file beside `path`, created exclusively (never an existing file, never
    through a link) with the mode a plain open() gives (0o666 less the umask: the sandbox's
    user must be able to read task files the bot wrote)."""
    name = os.path.join(path.parent, f".{path.name}.{os.getpid()}-{next(_COUNTER)}.tmp")
    try:
        return os.open(name, _FLAGS, 0o666), name
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        pass  # left by an earlier process with this id: take a random name instead
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    return fd, name


def _umask() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return current


def sha256_of(path: Path) -> str:
    """The sha256 of the file's bytes, read a MiB at a time."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
