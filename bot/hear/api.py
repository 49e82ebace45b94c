"""Loading a HEAR-API module and calling it the way the official kit does, outputs checked.

The HEAR 2021 API: a module with ``load_model(model_file_path="", **model_options)`` returning
a ``torch.nn.Module`` that has ``sample_rate``, ``scene_embedding_size`` and
``timestamp_embedding_size``, plus ``get_scene_embeddings(audio, model)`` and
``get_timestamp_embeddings(audio, model)``. `load` imports and loads; `HearModel` calls the
two functions under ``torch.no_grad()`` and turns their outputs into checked numpy arrays.

As in the official kit, the model is moved to the device but not switched to ``eval()``.
Every call into the submission's code is wrapped so that its exceptions (and ``SystemExit``)
become `ModelCodeError`, which says what raised and where.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch

ALLOWED_SAMPLE_RATES = (16000, 22050, 32000, 44100, 48000)
DEVICES = ("auto", "cpu", "cuda")
_HERE = Path(__file__).resolve().parent
_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class ModelAPIError(Exception):
    """The model broke the HEAR API; `check` names the rule, the message says what was seen."""

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        self.message = message
        super().__init__(f"{check}: {message}")


class ModelCodeError(ModelAPIError):
    """The submission's own code raised (or called sys.exit)."""


def exception_summary(exc: BaseException, limit: int = 600) -> str:
    """``Type: message (at file:line in function)``, the innermost frame, bounded in size."""
    try:
        text = f"{type(exc).__name__}: {exc}".strip()
    except Exception:  # a hostile __str__
        text = f"{type(exc).__name__}: <message could not be printed>"
    if len(text) > limit:
        text = text[:limit] + " ..."
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith("<")
        and Path(frame.filename).parent != _HERE
        and "importlib" not in Path(frame.filename).parts
    ]
    if frames:
        last = frames[-1]
        text += f" (at {Path(last.filename).name}:{last.lineno} in {last.name})"
    return text


def call_model_code(check: str, what: str, function: Any, *args: Any, **kwargs: Any) -> Any:
    """Run the submission's `function`; any exception becomes a `ModelCodeError`."""
    try:
        return function(*args, **kwargs)
    except (Exception, SystemExit) as exc:
        raise ModelCodeError(check, f"{what} raised {exception_summary(exc)}") from exc


def resolve_device(name: str) -> torch.device:
    """``auto``: CUDA when torch sees a GPU, else CPU. ``cuda`` without a GPU is an error."""
    if name not in DEVICES:
        raise ValueError(f"--device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
    return torch.device(name)


def import_hear_module(name: str) -> ModuleType:
    if not _MODULE_NAME.fullmatch(name):
        raise ModelAPIError("import", f"{name!r} is not a Python module name (a.b.c)")
    return call_model_code("import", f"import {name}", importlib.import_module, name)


def call_load_model(module: ModuleType, weights: str | None, options: dict[str, Any]) -> Any:
    """load_model(weights, **options), or load_model(**options) when there is no weights file
    (the official runner's two call forms)."""
    load_model = getattr(module, "load_model", None)
    if not callable(load_model):
        raise ModelAPIError(
            "load_model_exists", f"module {module.__name__} has no function load_model"
        )
    if weights:
        return call_model_code(
            "load_model", f"load_model({weights!r}, **{options})", load_model, weights, **options
        )
    return call_model_code("load_model", f"load_model(**{options})", load_model, **options)


def check_model_type(model: Any) -> torch.nn.Module:
    if isinstance(model, torch.nn.Module):
        return model
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    if "tensorflow" in kind or "keras" in kind:
        raise ModelAPIError(
            "model_type",
            f"load_model returned a TensorFlow object ({kind}); this verifier runs PyTorch "
            "models only (TensorFlow submissions are out of scope)",
        )
    raise ModelAPIError(
        "model_type", f"load_model returned {kind}; the HEAR API needs a torch.nn.Module"
    )


_MISSING = object()


def _int_attribute(model: torch.nn.Module, name: str) -> int:
    value = call_model_code(name, f"reading model.{name}", getattr, model, name, _MISSING)
    if value is _MISSING:
        raise ModelAPIError(name, f"the model has no attribute {name}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ModelAPIError(
            name, f"model.{name} is {value!r} ({type(value).__name__}); it must be an int"
        )
    return value


def check_sample_rate(model: torch.nn.Module) -> int:
    rate = _int_attribute(model, "sample_rate")
    if rate not in ALLOWED_SAMPLE_RATES:
        raise ModelAPIError(
            "sample_rate",
            f"model.sample_rate is {rate}; HEAR tasks exist at {list(ALLOWED_SAMPLE_RATES)} Hz",
        )
    return rate


def check_embedding_size(model: torch.nn.Module, name: str) -> int:
    size = _int_attribute(model, name)
    if size <= 0:
        raise ModelAPIError(name, f"model.{name} is {size}; it must be positive")
    return size


# ---------------------------------------------------------------------------------------------
# Output checks (shared by conformance and the embedding runner)


def _tensor_to_numpy(check: str, what: str, value: Any) -> np.ndarray:
    if not isinstance(value, torch.Tensor):
        raise ModelAPIError(
            check, f"{what} is a {type(value).__name__}; the HEAR API returns torch.Tensor"
        )
    return value.detach().cpu().numpy()


def check_finite(what: str, array: np.ndarray) -> None:
    if array.dtype.kind in "fc" and not np.isfinite(array).all():
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        raise ModelAPIError("finite", f"{what} holds {bad} NaN or infinite values")


def scene_output(output: Any, n_sounds: int, size: int) -> np.ndarray:
    """get_scene_embeddings' output: float32 (n_sounds, size), finite."""
    what = "get_scene_embeddings output"
    if isinstance(output, torch.Tensor) and output.dtype != torch.float32:
        raise ModelAPIError("dtype", f"{what} is {output.dtype}; it must be torch.float32")
    emb = _tensor_to_numpy("output_type", what, output)
    if emb.ndim != 2:
        raise ModelAPIError(
            "shape", f"{what} has shape {emb.shape}; expected 2 dims ({n_sounds}, {size})"
        )
    if emb.shape[0] != n_sounds:
        raise ModelAPIError(
            "shape", f"{what} has {emb.shape[0]} rows for a batch of {n_sounds} sounds"
        )
    if emb.shape[1] != size:
        raise ModelAPIError(
            "size", f"{what} has width {emb.shape[1]} but model.scene_embedding_size is {size}"
        )
    check_finite(what, emb)
    return np.ascontiguousarray(emb)


def timestamp_output(output: Any, n_sounds: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """get_timestamp_embeddings' output: (float32 (n, T, size), timestamps (n, T)), finite."""
    what = "get_timestamp_embeddings output"
    if not isinstance(output, (tuple, list)) or len(output) != 2:
        raise ModelAPIError(
            "output_type", f"{what} must be a pair (embeddings, timestamps), not {type(output)}"
        )
    emb_t, ts_t = output
    if isinstance(emb_t, torch.Tensor) and emb_t.dtype != torch.float32:
        raise ModelAPIError("dtype", f"embeddings are {emb_t.dtype}; they must be torch.float32")
    emb = _tensor_to_numpy("output_type", "the embeddings", emb_t)
    ts = _tensor_to_numpy("output_type", "the timestamps", ts_t)
    if emb.ndim != 3:
        raise ModelAPIError("shape", f"embeddings have shape {emb.shape}; expected (n, T, D)")
    if ts.ndim != 2:
        raise ModelAPIError("shape", f"timestamps have shape {ts.shape}; expected (n, T)")
    if emb.shape[0] != n_sounds:
        raise ModelAPIError(
            "shape", f"embeddings have {emb.shape[0]} rows for a batch of {n_sounds} sounds"
        )
    if emb.shape[:2] != ts.shape:
        raise ModelAPIError(
            "shape",
            f"embeddings {emb.shape} and timestamps {ts.shape} disagree: emb.shape[:2] must "
            "equal timestamps.shape",
        )
    if emb.shape[2] != size:
        raise ModelAPIError(
            "size",
            f"embeddings have width {emb.shape[2]} but model.timestamp_embedding_size is {size}",
        )
    if ts.dtype.kind not in "fiu":
        raise ModelAPIError("dtype", f"timestamps are {ts.dtype}; they must be real numbers (ms)")
    check_finite("the embeddings", emb)
    check_finite("the timestamps", ts)
    return np.ascontiguousarray(emb), np.ascontiguousarray(ts)


# ---------------------------------------------------------------------------------------------
# The loaded model


@dataclass
class HearModel:
    module_name: str
    module: ModuleType
    model: torch.nn.Module
    device: torch.device
    sample_rate: int
    scene_embedding_size: int
    timestamp_embedding_size: int
    weights: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What produced the embeddings (recorded in completion markers)."""
        return {
            "module": self.module_name,
            "weights": self.weights,
            "model_options": self.options,
            "sample_rate": self.sample_rate,
        }

    def _audio(self, audio: np.ndarray | torch.Tensor) -> torch.Tensor:
        tensor = torch.from_numpy(audio) if isinstance(audio, np.ndarray) else audio
        if tensor.dtype != torch.float32 or tensor.ndim != 2:
            raise ValueError(f"audio must be float32 (n_sounds, n_samples), not {tensor.shape}")
        if self.device.type == "cuda" and tensor.device.type == "cpu":
            # Page-locked, so that the copy to the GPU is a direct DMA transfer.
            return tensor.pin_memory().to(self.device, non_blocking=True)
        return tensor.to(self.device)

    def scene_embeddings(self, audio: np.ndarray | torch.Tensor) -> np.ndarray:
        batch = self._audio(audio)
        function = _api_function(self.module, "get_scene_embeddings")
        with torch.no_grad():
            output = call_model_code(
                "scene_embeddings", "get_scene_embeddings", function, batch, self.model
            )
            return scene_output(output, batch.shape[0], self.scene_embedding_size)

    def timestamp_embeddings(
        self, audio: np.ndarray | torch.Tensor
    ) -> tuple[np.ndarray, np.ndarray]:
        batch = self._audio(audio)
        function = _api_function(self.module, "get_timestamp_embeddings")
        with torch.no_grad():
            output = call_model_code(
                "timestamp_embeddings", "get_timestamp_embeddings", function, batch, self.model
            )
            return timestamp_output(output, batch.shape[0], self.timestamp_embedding_size)


def _api_function(module: ModuleType, name: str) -> Any:
    function = getattr(module, name, None)
    if not callable(function):
        raise ModelAPIError(name, f"module {module.__name__} has no function {name}")
    return function


def load(
    module_name: str,
    weights: str | None = None,
    options: dict[str, Any] | None = None,
    device: str = "auto",
) -> HearModel:
    """Import, load, check the attributes and move the model to `device` (as the kit does).

    Raises ModelAPIError (or ModelCodeError) naming the failed check; ValueError for a bad
    device name."""
    options = dict(options or {})
    target = resolve_device(device)
    module = import_hear_module(module_name)
    model = check_model_type(call_load_model(module, weights, options))
    sample_rate = check_sample_rate(model)
    scene_size = check_embedding_size(model, "scene_embedding_size")
    timestamp_size = check_embedding_size(model, "timestamp_embedding_size")
    call_model_code("to_device", f"model.to({target})", model.to, target)
    return HearModel(
        module_name=module_name,
        module=module,
        model=model,
        device=target,
        sample_rate=sample_rate,
        scene_embedding_size=scene_size,
        timestamp_embedding_size=timestamp_size,
        weights=weights or None,
        options=options,
    )


def python_summary() -> dict[str, str]:
    """The interpreter and library versions (for reports)."""
    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "numpy": np.__version__,
        "cuda": str(torch.cuda.is_available()),
    }
