"""bot/runner/cache.py: the embedding cache is bounded by size, least recently used out first, and
an entry in use is never evicted."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

from bot.runner import cache


def make_entry(work: Path, key: str, megabytes: int, used: float) -> None:
    folder = work / "embeddings" / key / "task"
    folder.mkdir(parents=True)
    (folder / "x.embedding.npy").write_bytes(os.urandom(megabytes << 20))
    (work / "scores" / key).mkdir(parents=True)
    (work / "checks").mkdir(exist_ok=True)
    (work / "checks" / f"{key}.json").write_text("[]")
    state = work / cache.STATE
    state.mkdir(exist_ok=True)
    (state / f"{key}.used").write_text(str(used))


def test_least_recently_used_entries_go_first_until_the_rest_fits(tmp_path: Path) -> None:
    for key, used in (("old", 1.0), ("middle", 2.0), ("new", 3.0)):
        make_entry(tmp_path, key, 2, used)
    assert [entry.key for entry in cache.entries(tmp_path)] == ["old", "middle", "new"]
    logged: list[str] = []

    evicted = cache.evict(tmp_path, 5 << 20, logged.append)

    assert evicted == ["old"]
    assert not (tmp_path / "embeddings" / "old").exists()
    assert not (tmp_path / "scores" / "old").exists()
    assert not (tmp_path / "checks" / "old.json").exists()
    assert (tmp_path / "embeddings" / "middle").is_dir()
    assert logged == ["cache: evicted old (2 MB, least recently used)"]


def _hold(work: str, key: str, ready: Any, done: Any) -> None:
    with cache.using(Path(work), key):
        ready.set()
        done.wait(30)


def test_an_entry_in_use_is_never_evicted(tmp_path: Path) -> None:
    for key, used in (("old", 1.0), ("middle", 2.0), ("new", 3.0)):
        make_entry(tmp_path, key, 2, used)
    context = multiprocessing.get_context("fork")
    ready, done = context.Event(), context.Event()
    holder = context.Process(target=_hold, args=(str(tmp_path), "old", ready, done))
    holder.start()
    try:
        assert ready.wait(30)
        logged: list[str] = []
        evicted = cache.evict(tmp_path, 1 << 20, logged.append)
    finally:
        done.set()
        holder.join(30)
    assert "old" not in evicted and (tmp_path / "embeddings" / "old").is_dir()
    assert evicted == ["middle", "new"]
    assert logged[-1].startswith("cache: 2 MB kept, over the 1 MB bound")


def test_using_an_entry_makes_it_the_most_recent(tmp_path: Path) -> None:
    for key, used in (("a", 1.0), ("b", 2.0)):
        make_entry(tmp_path, key, 1, used)
    with cache.using(tmp_path, "a"):
        pass
    assert [entry.key for entry in cache.entries(tmp_path)] == ["b", "a"]


def test_an_idle_entry_is_walked_once_until_it_is_used_again(tmp_path: Path, monkeypatch) -> None:
    make_entry(tmp_path, "a", 1, 1.0)
    make_entry(tmp_path, "b", 2, 2.0)
    sizes = {entry.key: entry.bytes for entry in cache.entries(tmp_path)}
    assert sizes["a"] >= 1 << 20 and sizes["b"] >= 2 << 20
    walked: list[str] = []
    walk = cache.directory_bytes
    monkeypatch.setattr(
        cache, "directory_bytes", lambda root: walked.append(root.name) or walk(root)
    )
    assert {entry.key: entry.bytes for entry in cache.entries(tmp_path)} == sizes
    assert walked == []  # both sizes recorded by the first listing
    with cache.using(tmp_path, "a"):
        grown = tmp_path / "embeddings" / "a" / "task" / "y.embedding.npy"
        grown.write_bytes(os.urandom(1 << 20))
        during = {entry.key: entry.bytes for entry in cache.entries(tmp_path)}
        assert during["a"] >= 2 << 20 and walked == ["a"]  # in use: walked, not recorded
        cache.entries(tmp_path)
        assert walked == ["a", "a"]
    after = {entry.key: entry.bytes for entry in cache.entries(tmp_path)}
    assert after == during and walked == ["a", "a", "a"]  # the use voided the record
    cache.entries(tmp_path)
    assert walked == ["a", "a", "a"]
    assert cache.evict(tmp_path, 0, lambda line: None) == ["b", "a"]
    assert not list((tmp_path / cache.STATE).glob("*.bytes"))


def test_the_embeddings_digest_covers_content_not_times(tmp_path: Path) -> None:
    """The same sizes and modification times with other bytes are other embeddings (a sandbox
    sets both); a link or a FIFO makes them not reusable."""
    task = tmp_path / "task" / "fold00"
    task.mkdir(parents=True)
    npy = task / "a.wav.embedding.npy"
    npy.write_bytes(b"\x01" * 64)
    record = tmp_path / "record.json"
    digest = cache.record_embeddings(tmp_path / "task", record)
    assert cache.reusable_embeddings(tmp_path / "task", record) == digest
    before = os.stat(npy)
    npy.write_bytes(b"\x02" * 64)
    os.utime(npy, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cache.tree_digest(tmp_path / "task") != digest
    assert cache.reusable_embeddings(tmp_path / "task", record) is None
    npy.unlink()
    os.mkfifo(npy)
    assert cache.reusable_embeddings(tmp_path / "task", record) is None
