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
