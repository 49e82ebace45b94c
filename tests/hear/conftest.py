"""Fixtures for the HEAR-side tests: synthetic tasks, the example model, broken modules."""

from __future__ import annotations

import shutil
import sys
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.hear import synth

from .helpers import EXAMPLE_MODEL_DIR, FAKE_MODULES_DIR, SPOKEN_DIGIT_CANDIDATES


@pytest.fixture(scope="session")
def synth_tasks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The four small synthetic tasks at 16 kHz (shared: copy one before changing it; the
    demo's larger synth_notes is tested on its own)."""
    out = tmp_path_factory.mktemp("synth")
    small = ("synth_tones", "synth_mixtures", "synth_events", "synth_varlen")
    synth.write_tasks(out, [16000], seed=0, tasks=small)
    return out


@pytest.fixture
def task_copy(synth_tasks: Path, tmp_path: Path) -> Callable[[str], Path]:
    """copy(name) -> a private copy of one synthetic task, safe to break."""

    def copy(name: str) -> Path:
        target = tmp_path / "tasks" / name
        shutil.copytree(synth_tasks / name, target)
        return target

    return copy


@pytest.fixture(scope="session")
def module_path() -> Iterator[None]:
    """Puts the example model and the broken test modules on sys.path (import by name)."""
    added = [str(EXAMPLE_MODEL_DIR), str(FAKE_MODULES_DIR)]
    for path in added:
        sys.path.insert(0, path)
    yield
    for path in added:
        sys.path.remove(path)


@pytest.fixture(scope="session")
def spoken_digit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real spoken_digit task (44.1 kHz), extracted; skipped where the data is absent."""
    tarball = next((p for p in SPOKEN_DIGIT_CANDIDATES if p.is_file()), None)
    if tarball is None:
        pytest.skip("shared/data spoken_digit tarball is absent")
    out = tmp_path_factory.mktemp("spoken_digit")
    with tarfile.open(tarball) as archive:
        archive.extractall(out, filter="data")
    found = sorted(out.rglob("task_metadata.json"))
    assert found, "no task_metadata.json in the tarball"
    return found[0].parent
