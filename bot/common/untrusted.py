"""The one way trusted code reads bytes that sandboxed code wrote: bounded, never following a
link, never blocking, never recursing.

Everything the sandbox can write (embeddings, timestamps and labels JSON, the check-model
report, installed packages' `METADATA`, the install marker) is read through here:

- `lstat` first: only a regular file is opened (no FIFO, socket, device or symbolic link);
- opened with ``O_NOFOLLOW | O_NONBLOCK`` (a FIFO swapped in after the `lstat` cannot block,
  a link cannot be followed) and checked again with `fstat` on the open descriptor;
- its size checked against a cap *before* anything is read, and never more than the cap read
  (a file that grows while it is read is refused);
- an `.npy` file's header is parsed first and the data its shape declares must be exactly what
  the file holds and at most the caller's cap, before any array is allocated (a sparse file
  declaring gigabytes, or a header declaring more than the file holds, is refused);
- directory trees are walked iteratively (a stack, not recursion: no `RecursionError` however
  deep), with bounds on entries and depth, and removed the same way (`remove_tree`).

Each refusal is an `UntrustedFileError` whose ``check`` names the rule that refused it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads when an array is read: the light install has none
    import numpy as np

OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
NPY_MAX_HEADER_BYTES = 10_000  # numpy's own default bound on an .npy header
MAX_WALK_DEPTH = 64
"""Deeper nesting than this is refused: the embeddings' layout is 3 levels deep, a virtualenv
about 15."""
_READ_CHUNK = 1 << 20


class UntrustedFileError(ValueError):
    """A file or tree written by sandboxed code that trusted code will not read."""

    def __init__(self, path: Path | str, check: str, detail: str) -> None:
        super().__init__(f"{path}: {detail} [{check}]")
        self.path = str(path)
        self.check = check
        self.detail = detail


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a directory"
    return "not a regular file"


def regular_stat(path: Path) -> os.stat_result:
    """`lstat` of ``path``, which must be a regular file (links are not followed)."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise UntrustedFileError(path, "missing", "file not found") from None
    except OSError as exc:
        raise UntrustedFileError(path, "unreadable", str(exc.strerror or exc)) from None
    if stat.S_ISLNK(info.st_mode):
        raise UntrustedFileError(path, "symlink", "a symbolic link (links are not followed)")
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedFileError(path, "not-a-file", f"{_kind(info.st_mode)}, not a regular file")
    return info


@contextlib.contextmanager
def open_regular(path: Path, max_bytes: int) -> Iterator[tuple[int, int]]:
    """An open descriptor of the regular file ``path`` and its size, which is at most
    ``max_bytes``; the descriptor is closed afterwards."""
    before = regular_stat(path)
    if before.st_size > max_bytes:
        raise UntrustedFileError(
            path, "too-large", f"{before.st_size} bytes, more than the {max_bytes} allowed"
        )
    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:  # ELOOP: replaced by a link since the lstat
        raise UntrustedFileError(path, "unreadable", str(exc.strerror or exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != (
            before.st_dev,
            before.st_ino,
        ):
            raise UntrustedFileError(path, "replaced", "replaced while it was being opened")
        if info.st_size > max_bytes:
            raise UntrustedFileError(
                path, "too-large", f"{info.st_size} bytes, more than the {max_bytes} allowed"
            )
        yield fd, info.st_size
    finally:
        os.close(fd)


def _read_fd(fd: int, count: int) -> bytes:
    parts: list[bytes] = []
    left = count
    while left > 0:
        chunk = os.read(fd, min(left, _READ_CHUNK))
        if not chunk:
            break
        parts.append(chunk)
        left -= len(chunk)
    return b"".join(parts)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """The whole regular file ``path``, which must hold at most ``max_bytes``."""
    with open_regular(path, max_bytes) as (fd, size):
        data = _read_fd(fd, size + 1)
    if len(data) > size:
        raise UntrustedFileError(path, "changed", "grew while it was being read")
    return data


def read_prefix(path: Path, max_bytes: int) -> bytes:
    """At most the first ``max_bytes`` of the regular file ``path``, however large it is."""
    info = regular_stat(path)
    with open_regular(path, max(info.st_size, 0)) as (fd, _):
        return _read_fd(fd, max_bytes)


def sha256_file(path: Path, max_bytes: int) -> str:
    """The sha256 of the regular file ``path`` (at most ``max_bytes``), read in chunks."""
    digest = hashlib.sha256()
    with open_regular(path, max_bytes) as (fd, size):
        left = size
        while left > 0:
            chunk = os.read(fd, min(left, _READ_CHUNK))
            if not chunk:
                raise UntrustedFileError(path, "changed", "shrank while it was being read")
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def read_npy(path: Path, max_data_bytes: int) -> np.ndarray:
    """A plain `.npy` array (no pickle, no object dtype) whose header declares at most
    ``max_data_bytes`` of data, and exactly as many as the file holds after its header: checked
    before anything is allocated."""
    import numpy as np
    from numpy.lib import format as npy_format

    cap = max_data_bytes + NPY_MAX_HEADER_BYTES + 16
    with (
        open_regular(path, cap) as (fd, size),
        os.fdopen(os.dup(fd), "rb", buffering=0) as handle,
    ):
        magic = handle.read(6)
        if magic[:4] == b"PK\x03\x04":
            raise UntrustedFileError(path, "npy", "an .npz archive, not an .npy array")
        if magic and magic != npy_format.MAGIC_PREFIX:
            # What numpy.load would hand to pickle (and refuse with allow_pickle=False).
            raise UntrustedFileError(
                path, "pickle", "not a plain .npy array: no .npy header (pickled data refused)"
            )
        handle.seek(0)
        try:
            version = npy_format.read_magic(handle)
            if version == (1, 0):
                header = npy_format.read_array_header_1_0(
                    handle, max_header_size=NPY_MAX_HEADER_BYTES
                )
            elif version in ((2, 0), (3, 0)):
                header = npy_format.read_array_header_2_0(
                    handle, max_header_size=NPY_MAX_HEADER_BYTES
                )
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except (ValueError, OSError, EOFError) as exc:
            raise UntrustedFileError(path, "npy", f"not a plain .npy array: {exc}") from None
        shape, fortran_order, dtype = header
        if dtype.hasobject:
            raise UntrustedFileError(
                path, "pickle", "not a plain .npy array: an object array (pickle refused)"
            )
        count = 1
        for extent in shape:
            count *= int(extent)
        declared = count * dtype.itemsize
        offset = handle.tell()
        if declared > max_data_bytes:
            raise UntrustedFileError(
                path,
                "too-large",
                f"shape {shape} declares {declared} bytes of data, more than the "
                f"{max_data_bytes} one embedding may hold",
            )
        if offset + declared != size:
            raise UntrustedFileError(
                path,
                "npy-size",
                f"shape {shape} of {dtype} needs {offset + declared} bytes with its header, "
                f"the file has {size}",
            )
        array = np.empty(count, dtype=dtype)  # read into place: no second copy
        view, got = memoryview(array).cast("B"), 0
        while got < declared:
            read = os.readv(fd, [view[got:]])
            if read == 0:
                raise UntrustedFileError(path, "changed", "shrank while it was being read")
            got += read
    if fortran_order:
        return np.ascontiguousarray(array.reshape(shape[::-1]).transpose())
    return array.reshape(shape)


# ---------------------------------------------------------------------------------------------
# Trees


@dataclass
class Usage:
    """What a directory tree holds: entries (files and directories, ``root`` not counted),
    apparent bytes (``st_size``), allocated bytes (``st_blocks``) and the deepest nesting."""

    entries: int = 0
    apparent_bytes: int = 0
    allocated_bytes: int = 0
    depth: int = 0

    @property
    def bytes(self) -> int:
        """What the tree costs: its apparent size, or its allocation if that is larger (a
        sparse file counts its full size, a small file a whole block)."""
        return max(self.apparent_bytes, self.allocated_bytes)


def tree_usage(root: Path, stop_after_entries: int | None = None) -> Usage:
    """Walk ``root`` iteratively (links not followed) and count what it holds; unreadable
    parts are skipped. With ``stop_after_entries``, stops once more entries than that are seen."""
    usage = Usage()
    stack: list[tuple[str, int]] = [(str(root), 0)]
    while stack:
        current, depth = stack.pop()
        usage.depth = max(usage.depth, depth)
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError:
            continue
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            usage.entries += 1
            usage.apparent_bytes += info.st_size
            usage.allocated_bytes += info.st_blocks * 512
            if stat.S_ISDIR(info.st_mode):
                stack.append((entry.path, depth + 1))
        if stop_after_entries is not None and usage.entries > stop_after_entries:
            break
    return usage


def walk_files(
    root: Path, max_entries: int, max_depth: int = MAX_WALK_DEPTH
) -> Iterator[tuple[str, os.stat_result]]:
    """Every entry under ``root`` that is not a directory, as (path relative to ``root``, its
    `lstat`), in sorted order; iterative. Refuses more than ``max_entries`` entries
    (``entries``) or directories nested deeper than ``max_depth`` (``depth``)."""
    seen = 0
    stack: list[tuple[str, int]] = [("", 0)]
    while stack:
        relative, depth = stack.pop()
        if depth > max_depth:
            raise UntrustedFileError(
                root / relative, "depth", f"directories nested deeper than {max_depth}"
            )
        try:
            with os.scandir(root / relative if relative else root) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            raise UntrustedFileError(
                root / relative, "unreadable", str(exc.strerror or exc)
            ) from None
        seen += len(entries)
        if seen > max_entries:
            raise UntrustedFileError(root, "entries", f"more than {max_entries} entries")
        subdirectories = []
        for entry in entries:
            path = f"{relative}/{entry.name}" if relative else entry.name
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISDIR(info.st_mode):
                subdirectories.append((path, depth + 1))
            else:
                yield path, info
        stack.extend(reversed(subdirectories))


def remove_tree(root: Path) -> None:
    """Remove ``root`` and everything under it, however deep, without recursion and with two
    descriptors open at a time: each subdirectory is first moved up beside ``root``'s contents
    (so nothing is ever deeper than one level), made writable, emptied and removed. Links are
    removed, never followed. A missing ``root`` is not an error."""
    try:
        info = os.lstat(root)
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(info.st_mode):
        os.unlink(root)
        return
    top = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        with contextlib.suppress(OSError):
            os.fchmod(top, 0o700)
        pending: list[str | None] = [None]  # None: root itself; else a name directly under root
        token, hoisted = secrets.token_hex(6), 0
        while pending:
            name = pending.pop()
            fd = top if name is None else _open_directory(name, top)
            if fd is None:
                continue
            try:
                for entry in list(os.scandir(fd)):
                    if entry.is_dir(follow_symlinks=False):
                        hoisted += 1
                        moved = f".hearbot-removing-{token}-{hoisted}"
                        with contextlib.suppress(OSError):  # moving it rewrites its `..`
                            os.chmod(entry.name, 0o700, dir_fd=fd)
                        try:
                            os.rename(entry.name, moved, src_dir_fd=fd, dst_dir_fd=top)
                        except OSError:
                            continue
                        pending.append(moved)
                    else:
                        with contextlib.suppress(OSError):
                            os.unlink(entry.name, dir_fd=fd)
            finally:
                if fd != top:
                    os.close(fd)
            if name is not None:
                with contextlib.suppress(OSError):
                    os.rmdir(name, dir_fd=top)
    finally:
        os.close(top)
    with contextlib.suppress(OSError):
        os.rmdir(root)


def _open_directory(name: str, parent: int) -> int | None:
    """A directory directly under ``parent`` (already made 0700 when it was moved there)."""
    try:
        return os.open(
            name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent
        )
    except OSError:
        return None
