"""URL pins satisfied by content from local files (bot/runner/pinned_files.py)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from bot.runner.install import _pip_steps, plan_install
from bot.runner.pinned_files import PinnedFileError, local_url_pins, url_pin

SHA = "ab" * 32


def test_a_url_pin_is_parsed_with_its_name_extras_and_marker() -> None:
    pin = url_pin(
        f'acme[cli] @ https://h.org/d/acme-1.0-py3-none-any.whl#sha256={SHA} ; python_version>"3"'
    )
    assert pin is not None
    assert (pin.name, pin.extras, pin.file_name, pin.sha256) == (
        "acme",
        "[cli]",
        "acme-1.0-py3-none-any.whl",
        SHA,
    )
    local = pin.local_line(Path("/w/files/x/acme-1.0-py3-none-any.whl"))
    assert local == (
        f'acme[cli] @ file:///w/files/x/acme-1.0-py3-none-any.whl#sha256={SHA} ; python_version>"3"'
    )
    assert url_pin("acme==1.0") is None
    assert url_pin(f"git+https://github.com/a/b@{'0' * 40}") is None


def test_the_file_is_found_by_content_under_any_name_and_kept_in_the_cache(
    tmp_path: Path,
) -> None:
    links = tmp_path / "links"
    links.mkdir()
    (links / "acme-1.0-py3-none-any.whl").write_bytes(b"other bytes")  # same name, wrong bytes
    (links / "renamed.whl").write_bytes(b"the published wheel")
    digest = hashlib.sha256(b"the published wheel").hexdigest()
    line = f"acme @ https://h.org/acme-1.0-py3-none-any.whl#sha256={digest}"
    lines: list[str] = []
    local = local_url_pins(
        [line, "numpy<3"], [links], tmp_path / "files", lines.append, network=False
    )
    kept = tmp_path / "files" / digest / "acme-1.0-py3-none-any.whl"
    assert local == {line: f"acme @ {kept.as_uri()}#sha256={digest}"}
    assert kept.read_bytes() == b"the published wheel"
    # Later runs need no --find-links: the cache has the bytes.
    assert local_url_pins([line], [], tmp_path / "files", lines.append, network=False) == local


def test_a_missing_file_without_network_names_the_sha256_and_the_fix(tmp_path: Path) -> None:
    line = f"acme @ https://h.org/acme-1.0-py3-none-any.whl#sha256={SHA}"
    with pytest.raises(PinnedFileError) as error:
        local_url_pins([line], [tmp_path], tmp_path / "files", print, network=False)
    assert SHA in str(error.value) and "`--find-links DIR`" in str(error.value)


def test_pip_installs_the_local_copy_in_place_of_the_url(tmp_path: Path) -> None:
    line = f"acme @ https://h.org/acme-1.0-py3-none-any.whl#sha256={SHA}"
    plan = plan_install([line], torch_version="2.0.0")
    local = {line: f"acme @ file:///w/acme-1.0-py3-none-any.whl#sha256={SHA}"}
    (tmp_path / "r").mkdir()
    steps = _pip_steps(plan, tmp_path / "r", local)
    resolved = (tmp_path / "r" / "resolved.txt").read_text()
    assert "file:///w/acme" in resolved and "https://h.org" not in resolved
    assert steps[-1][:3] == ["install", "-r", str(tmp_path / "r" / "resolved.txt")]
    assert plan.key() == plan_install([line], torch_version="2.0.0").key()
