"""bot/cache.py: the embedding cache is bounded by size, least recently used out first, and
an entry in use is never evicted."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path
from typing import Any

from bot import cache


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
