"""bot.common.fileio.write_atomic: whole files or nothing, plain-open modes, no temp files left."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.common import fileio
from bot.common.fileio import write_atomic


def _leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("durable", [True, False])
def test_writes_and_replaces_whole_files(tmp_path: Path, durable: bool) -> None:
    target = tmp_path / "a" / "b" / "file.json"  # missing parents are made
    write_atomic(target, b"first", durable=durable)
    write_atomic(target, b"second, longer" * 10_000, durable=durable)
    assert target.read_bytes() == b"second, longer" * 10_000
    assert _leftovers(target.parent) == []


def test_mode_is_what_a_plain_open_gives(tmp_path: Path) -> None:
    before = os.umask(0o027)
    try:
        write_atomic(tmp_path / "atomic", b"x")
        (tmp_path / "plain").write_bytes(b"x")
    finally:
        os.umask(before)
    modes = [stat.S_IMODE((tmp_path / n).stat().st_mode) for n in ("atomic", "plain")]
    assert modes[0] == modes[1] == 0o640


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "file"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert _leftovers(tmp_path) == []


def test_a_taken_temp_name_or_a_link_there_is_never_written_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The next temp names are predictable: one left by an earlier process with this id, and
    # one a link to a file outside. Neither is opened; a random name is used instead.
    outside = tmp_path / "outside"
    outside.write_bytes(b"untouched")
    directory = tmp_path / "out"
    directory.mkdir()
    monkeypatch.setattr(fileio, "_COUNTER", iter([7, 8]))
    pid = os.getpid()
    (directory / f".a.{pid}-7.tmp").write_bytes(b"stale")
    (directory / f".b.{pid}-8.tmp").symlink_to(outside)
    write_atomic(directory / "a", b"A")
    write_atomic(directory / "b", b"B")
    assert (directory / "a").read_bytes() == b"A" and (directory / "b").read_bytes() == b"B"
    assert outside.read_bytes() == b"untouched"
    assert (directory / f".b.{pid}-8.tmp").is_symlink()
