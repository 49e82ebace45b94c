"""What a result says about the machine: CUDA and driver versions only on a CUDA run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.verify import device


def test_cpu_runs_record_no_cuda_or_driver() -> None:
    assert device.cuda_runtime("cpu") is None
    assert device.nvidia_driver("cpu") is None


def test_driver_comes_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\nprintf '550.54.15\\n550.54.15\\n'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert device.nvidia_driver("cuda") == "550.54.15"
    fake.write_text("#!/bin/sh\nexit 9\n")
    assert device.nvidia_driver("cuda") is None  # a failing nvidia-smi: not recorded


def test_no_nvidia_smi_is_not_recorded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    assert device.nvidia_driver("cuda") is None
