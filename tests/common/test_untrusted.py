"""bot/common/untrusted.py: each rule alone (the hostile submissions test them end to end)."""

from __future__ import annotations

import io
import os
import threading
from pathlib import Path

import numpy as np
import pytest

from bot.common.untrusted import (
    UntrustedFileError,
    read_bytes,
    read_npy,
    read_prefix,
    remove_tree,
    tree_usage,
    walk_files,
)

DEEP = 3000  # past Python's recursion limit (1000), and past PATH_MAX with its full path


def _refused(check: str, call: object, *args: object) -> UntrustedFileError:
    with pytest.raises(UntrustedFileError) as caught:
        call(*args)  # type: ignore[operator]
    assert caught.value.check == check, caught.value
    return caught.value


def _deep(root: Path, depth: int) -> None:
    """``depth`` nested directories under ``root``, made with relative paths (their full path
    is longer than PATH_MAX) and a file at the bottom."""
    root.mkdir()
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("bottom", os.O_CREAT | os.O_WRONLY, dir_fd=fd))
        os.chmod(fd, 0o500)  # the bottom directory made read-only, as a sandbox could
    finally:
        os.close(fd)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "METADATA"
    os.mkfifo(fifo)
    done = threading.Event()

    def read() -> None:
        _refused("not-a-file", read_prefix, fifo, 65536)
        done.set()

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(timeout=5)
    assert done.is_set(), "reading a FIFO blocked"


def test_links_are_refused_not_followed(tmp_path: Path) -> None:
    link = tmp_path / "METADATA"
    link.symlink_to("/dev/zero")
    error = _refused("symlink", read_bytes, link, 1 << 20)
    assert "symbolic link" in error.detail
    _refused("symlink", read_prefix, link, 1 << 20)


def test_size_caps_apply_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(b"x" * 100)
    assert read_bytes(path, 100) == b"x" * 100
    _refused("too-large", read_bytes, path, 99)
    assert read_prefix(path, 10) == b"x" * 10
    _refused("missing", read_bytes, tmp_path / "absent", 10)
    _refused("not-a-file", read_bytes, tmp_path, 10)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def test_an_npy_array_is_read_exactly(tmp_path: Path) -> None:
    path = tmp_path / "a.embedding.npy"
    array = np.arange(12, dtype=np.float32).reshape(3, 4)
    path.write_bytes(_npy(array))
    np.testing.assert_array_equal(read_npy(path, 48), array)
    path.write_bytes(_npy(np.asfortranarray(array)))
    np.testing.assert_array_equal(read_npy(path, 48), array)
    _refused("too-large", read_npy, path, 47)


def test_a_sparse_npy_is_refused_before_anything_is_allocated(tmp_path: Path) -> None:
    """A header declaring 1.5 GB, a few KB on disk: refused from its header and size."""
    path = tmp_path / "a.embedding.npy"
    shape = (375_000_000,)
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": shape}
    )
    path.write_bytes(header.getvalue() + b"\0" * 4096)
    error = _refused("npy-size", read_npy, path, 2 << 30)
    assert "needs" in error.detail and "the file has" in error.detail
    with open(path, "r+b") as handle:  # now sparse: the size the header declares
        handle.truncate(len(header.getvalue()) + 4 * shape[0])
    assert os.stat(path).st_blocks * 512 < 1 << 20
    _refused("too-large", read_npy, path, 256 << 20)


def test_object_arrays_and_archives_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.embedding.npy"
    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    path.write_bytes(buffer.getvalue())
    _refused("pickle", read_npy, path, 1 << 20)
    buffer = io.BytesIO()
    np.savez(buffer, a=np.zeros(3, dtype=np.float32))
    path.write_bytes(buffer.getvalue())
    _refused("npy", read_npy, path, 1 << 20)
    path.write_bytes(b"not an npy file at all")
    _refused("pickle", read_npy, path, 1 << 20)
    path.write_bytes(b"")
    _refused("npy", read_npy, path, 1 << 20)


def test_deep_trees_are_walked_counted_and_removed_without_recursion(tmp_path: Path) -> None:
    root = tmp_path / "out"
    _deep(root, DEEP)
    usage = tree_usage(root)
    assert usage.depth >= 64  # the full paths get too long further down; it never recurses
    _refused("depth", lambda: list(walk_files(root, max_entries=10_000)))
    remove_tree(root)
    assert not root.exists()


def test_entry_counts_are_bounded(tmp_path: Path) -> None:
    root = tmp_path / "out"
    root.mkdir()
    for number in range(50):
        (root / f"empty-{number}").touch()
    assert tree_usage(root).entries == 50
    assert len(list(walk_files(root, max_entries=50))) == 50
    _refused("entries", lambda: list(walk_files(root, max_entries=49)))


def test_sparse_files_count_their_apparent_size(tmp_path: Path) -> None:
    with open(tmp_path / "sparse", "wb") as handle:
        handle.truncate(1 << 30)
    usage = tree_usage(tmp_path)
    assert usage.allocated_bytes < 1 << 20
    assert usage.bytes >= 1 << 30
