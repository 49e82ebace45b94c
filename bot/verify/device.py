"""The device the run evaluates on, and what the result says about this machine's torch."""

from __future__ import annotations


def resolve_device(device: str) -> str:
    """`auto` → `cuda` when this machine's torch sees a GPU, else `cpu`."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device here")
    return device


def device_description(device: str) -> str:
    import torch

    if device == "cuda":
        return f"cuda ({torch.cuda.get_device_name(0)})"
    return device


def torch_threads() -> int:
    import torch

    return int(torch.get_num_threads())


def torch_version() -> str:
    import torch

    return str(torch.__version__)


def cuda_runtime(device: str) -> str | None:
    """The CUDA version this torch was built with, on a CUDA run (else None)."""
    import torch

    return str(torch.version.cuda) if device == "cuda" and torch.version.cuda else None


def nvidia_driver(device: str) -> str | None:
    """The NVIDIA driver's version as ``nvidia-smi`` reports it, on a CUDA run; None when
    it cannot be asked (the evidence record then says "not recorded")."""
    import shutil
    import subprocess

    if device != "cuda" or shutil.which("nvidia-smi") is None:
        return None
    try:
        answer = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    versions = sorted({line.strip() for line in answer.stdout.splitlines() if line.strip()})
    return ", ".join(versions)[:50] or None
