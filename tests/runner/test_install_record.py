"""bot/runner/install.py: a virtualenv is reused only on trusted code's record of a complete
install, kept where no sandbox can write; nothing inside the virtualenv counts."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bot.runner.install import (
    MARKER,
    install_record,
    read_install_record,
    write_install_record,
)

PROVENANCE = [{"name": "hear-example-model", "version": "1.0.0"}]


def _venv(tmp_path: Path) -> tuple[Path, Path]:
    venvs = tmp_path / "venvs"
    venv = venvs / "0123456789abcdef-runner00"
    (venv / "bin").mkdir(parents=True)
    return venv, install_record(venvs, venv)


def test_the_record_is_outside_the_virtualenv_and_read_back(tmp_path: Path) -> None:
    venv, record = _venv(tmp_path)
    assert not record.is_relative_to(venv)
    assert read_install_record(record, venv) is None
    write_install_record(record, venv, PROVENANCE, 1.5)
    assert read_install_record(record, venv) == PROVENANCE


def test_a_marker_planted_inside_the_virtualenv_does_not_count(tmp_path: Path) -> None:
    venv, record = _venv(tmp_path)
    forged = {"provenance": PROVENANCE, "seconds": 0, "venv": venv.name}
    (venv / MARKER).write_text(json.dumps(forged))
    (venv / "bin" / "python").touch()
    assert read_install_record(record, venv) is None


def test_a_record_of_another_directory_or_of_another_shape_does_not_count(
    tmp_path: Path,
) -> None:
    venv, record = _venv(tmp_path)
    write_install_record(record, venv, PROVENANCE, 1.5)
    document = json.loads(record.read_text())
    assert document["inode"] == os.stat(venv).st_ino
    for bad in (
        {**document, "venv": "other"},
        {**document, "inode": document["inode"] + 1},  # another directory now at this path
        {**document, "provenance": [{"name": 1, "version": "x"}]},
        {**document, "provenance": "all"},
    ):
        record.write_text(json.dumps(bad))
        assert read_install_record(record, venv) is None
    record.write_text('{"venv": 1, "venv": 2}')
    assert read_install_record(record, venv) is None
    record.unlink()
    elsewhere = tmp_path / "elsewhere.json"
    write_install_record(elsewhere, venv, PROVENANCE, 1.5)
    record.symlink_to(elsewhere)
    assert read_install_record(record, venv) is None
