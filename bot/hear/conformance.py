"""The official HEAR validator's checks (hear-validator), each reported by name.

Every check ends as ``pass``, ``warn``, ``fail`` or ``skip`` with what was seen. The order and
the rules follow ``hearvalidator/validate.py`` (the version that accepts 32 kHz):

1. ``import``: the module imports.
2. ``load_model_exists``, ``load_model``: the function exists and returns a model
   (called with the weights path when one is given, else with no path).
3. ``model_type``: a ``torch.nn.Module`` (TensorFlow models are out of scope here: fail).
4. ``to_device``: ``model.to(device)`` works; ``eval_mode`` warns when the model is left in
   training mode (the kit never calls ``eval()``, so dropout would make embeddings random).
5. ``sample_rate`` in {16000, 22050, 32000, 44100, 48000}; ``scene_embedding_size`` and
   ``timestamp_embedding_size`` are ints.
6. ``timestamp_embeddings[L]`` for white noise of 2 clips × L ∈ {1.07 s, 1.98 s, 4.0 s}:
   float32, ndim 3 and 2, ``emb.shape[:2] == ts.shape``, last dim = timestamp_embedding_size,
   no NaN/Inf; ``timestamp_hop[L]``: hop regular within 1 ms (fail), hop over 50 ms (warn);
   ``timestamp_range[L]``: last timestamp ≤ clip length (fail), a late start or an early end
   (warn).
7. ``scene_embeddings``: white noise of 4 clips × 2.74 s: float32 (4, scene_embedding_size),
   no NaN/Inf.

A check whose module code raises fails with the exception's summary. Checks that depend on a
failed one are skipped and say which: nothing runs after a failed import, load or model type;
the timestamp checks stop after a call that raised, but the scene check still runs (and the
other way round).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from bot.hear import api

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
TIMESTAMP_LENGTHS = (1.07, 1.98, 4.0)
TIMESTAMP_BATCH = 2
SCENE_LENGTH = 2.74
SCENE_BATCH = 4
MAX_HOP_MS = 50.0
HOP_TOLERANCE_MS = 1.0


@dataclass
class Check:
    name: str
    status: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class ConformanceReport:
    module: str
    weights: str | None
    options: dict[str, Any]
    device: str
    checks: list[Check] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not any(check.status == FAIL for check in self.checks)

    def counts(self) -> dict[str, int]:
        return {
            status: sum(c.status == status for c in self.checks)
            for status in (PASS, WARN, FAIL, SKIP)
        }

    def add(self, name: str, status: str, detail: str) -> Check:
        check = Check(name, status, detail)
        self.checks.append(check)
        return check

    def skip(self, names: list[str], reason: str) -> None:
        for name in names:
            self.add(name, SKIP, f"skipped: {reason}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "module": self.module,
            "weights": self.weights,
            "model_options": self.options,
            "device": self.device,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [check.to_dict() for check in self.checks],
            "seconds": round(self.seconds, 3),
            "environment": api.python_summary(),
            "note": "PyTorch models only; TensorFlow submissions are out of scope.",
        }

    def render_text(self) -> str:
        width = max((len(c.name) for c in self.checks), default=10)
        lines = [f"HEAR API conformance of {self.module} (device {self.device})"]
        lines += [f"  {c.status.upper():4}  {c.name:{width}}  {c.detail}" for c in self.checks]
        counts = self.counts()
        verdict = "conforms" if self.ok else "does NOT conform"
        lines.append(
            f"{self.module} {verdict}: {counts[PASS]} passed, {counts[WARN]} warnings, "
            f"{counts[FAIL]} failed, {counts[SKIP]} skipped ({self.seconds:.1f} s)"
        )
        return "\n".join(lines) + "\n"


def timestamp_check_names(length: float) -> list[str]:
    return [
        f"{kind}[{length}s]"
        for kind in ("timestamp_embeddings", "timestamp_hop", "timestamp_range")
    ]


def _all_embedding_checks() -> list[str]:
    names = [n for length in TIMESTAMP_LENGTHS for n in timestamp_check_names(length)]
    return [*names, "scene_embeddings"]


LOAD_STAGES = ["import", "load_model_exists", "load_model", "model_type", "to_device"]
ATTRIBUTE_CHECKS = ["eval_mode", "sample_rate", "scene_embedding_size", "timestamp_embedding_size"]


def white_noise(n: int, length: float, sample_rate: int, seed: int) -> torch.Tensor:
    """The validator's test audio: uniform noise in [-1, 1), int(length * sr) samples."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand((n, int(length * sample_rate)), generator=generator) * 2 - 1.0


def run_conformance(
    module_name: str,
    weights: str | None = None,
    options: dict[str, Any] | None = None,
    device: str = "auto",
    seed: int = 0,
) -> ConformanceReport:
    """Run every check; never raises for the module's faults (ValueError for a bad device)."""
    target = api.resolve_device(device)
    report = ConformanceReport(module_name, weights or None, dict(options or {}), str(target))
    started = time.monotonic()
    model = _load_stages(report, module_name, weights, report.options, target)
    if model is not None:
        _embedding_stages(report, model, seed)
    report.seconds = time.monotonic() - started
    return report


def _load_stages(
    report: ConformanceReport,
    module_name: str,
    weights: str | None,
    options: dict[str, Any],
    target: torch.device,
) -> api.HearModel | None:
    stages = iter(LOAD_STAGES)
    try:
        name = next(stages)
        module = api.import_hear_module(module_name)
        report.add(name, PASS, f"imported {module_name} from {getattr(module, '__file__', '?')}")
        name = next(stages)
        if not callable(getattr(module, "load_model", None)):
            raise api.ModelAPIError(name, f"{module_name} has no function load_model")
        report.add(name, PASS, "load_model is a function")
        name = next(stages)
        raw = api.call_load_model(module, weights, options)
        how = f"load_model({weights!r})" if weights else "load_model()"
        report.add(name, PASS, f"{how} returned {type(raw).__module__}.{type(raw).__qualname__}")
        name = next(stages)
        model = api.check_model_type(raw)
        report.add(name, PASS, "a torch.nn.Module")
        name = next(stages)
        api.call_model_code(name, f"model.to({target})", model.to, target)
        report.add(name, PASS, f"moved to {target}")
    except api.ModelAPIError as exc:
        report.add(name, FAIL, exc.message)
        report.skip([*stages, *ATTRIBUTE_CHECKS, *_all_embedding_checks()], f"{name} failed")
        return None
    return _attribute_stages(report, module_name, module, model, target, weights, options)


def _attribute_stages(
    report: ConformanceReport,
    module_name: str,
    module: Any,
    model: torch.nn.Module,
    target: torch.device,
    weights: str | None,
    options: dict[str, Any],
) -> api.HearModel | None:
    _eval_mode_check(report, model)
    values: dict[str, int] = {}
    for name, getter in (
        ("sample_rate", api.check_sample_rate),
        ("scene_embedding_size", lambda m: api.check_embedding_size(m, "scene_embedding_size")),
        (
            "timestamp_embedding_size",
            lambda m: api.check_embedding_size(m, "timestamp_embedding_size"),
        ),
    ):
        try:
            values[name] = getter(model)
            report.add(name, PASS, str(values[name]))
        except api.ModelAPIError as exc:
            report.add(name, FAIL, exc.message)
    if "sample_rate" not in values:
        report.skip(_all_embedding_checks(), "no valid sample_rate to make test audio")
        return None
    return api.HearModel(
        module_name=module_name,
        module=module,
        model=model,
        device=target,
        sample_rate=values["sample_rate"],
        scene_embedding_size=values.get("scene_embedding_size", -1),
        timestamp_embedding_size=values.get("timestamp_embedding_size", -1),
        weights=weights or None,
        options=options,
    )


def _eval_mode_check(report: ConformanceReport, model: torch.nn.Module) -> None:
    try:
        training = api.call_model_code("eval_mode", "model.training", getattr, model, "training")
    except api.ModelAPIError as exc:
        report.add("eval_mode", WARN, exc.message)
        return
    if training:
        report.add(
            "eval_mode",
            WARN,
            "the model is in training mode and the official kit never calls eval(): dropout "
            "or batch norm would make embeddings random; call model.eval() in load_model",
        )
    else:
        report.add("eval_mode", PASS, "the model is in eval mode")


def _embedding_stages(report: ConformanceReport, model: api.HearModel, seed: int) -> None:
    _timestamp_stages(report, model, seed)
    _scene_stage(report, model, seed)


def _timestamp_stages(report: ConformanceReport, model: api.HearModel, seed: int) -> None:
    pending = [n for length in TIMESTAMP_LENGTHS for n in timestamp_check_names(length)]
    blocker = _missing(model, "get_timestamp_embeddings", "timestamp_embedding_size")
    if blocker:
        report.skip(pending, blocker)
        return
    for number, length in enumerate(TIMESTAMP_LENGTHS):
        emb_name, hop_name, range_name = timestamp_check_names(length)
        audio = white_noise(TIMESTAMP_BATCH, length, model.sample_rate, seed + number)
        try:
            emb, ts = model.timestamp_embeddings(audio)
        except api.ModelCodeError as exc:
            report.add(emb_name, FAIL, exc.message)
            done = {c.name for c in report.checks}
            report.skip([n for n in pending if n not in done], f"{emb_name} raised")
            return
        except api.ModelAPIError as exc:
            report.add(emb_name, FAIL, f"{exc.check}: {exc.message}")
            report.skip([hop_name, range_name], f"{emb_name} failed")
            continue
        report.add(
            emb_name,
            PASS,
            f"embeddings {emb.shape} {emb.dtype}, timestamps {ts.shape} {ts.dtype}",
        )
        report.checks.extend(_timestamp_checks(ts.astype(np.float64), length, hop_name, range_name))


def _missing(model: api.HearModel, function: str, size_attribute: str) -> str | None:
    if not callable(getattr(model.module, function, None)):
        return f"{model.module_name} has no function {function}"
    if getattr(model, size_attribute) < 0:
        return f"model.{size_attribute} is not a valid int"
    return None


def _timestamp_checks(
    ts: np.ndarray, length: float, hop_name: str, range_name: str
) -> Iterator[Check]:
    length_ms = 1000.0 * length
    if ts.shape[1] < 2:
        yield Check(hop_name, WARN, f"only {ts.shape[1]} timestamp(s) per clip; no hop to check")
        last = float(ts.max()) if ts.size else 0.0
        status = FAIL if last > length_ms else PASS
        yield Check(range_name, status, f"last timestamp {last:g} ms, clip {length_ms:g} ms")
        return
    diff = np.diff(ts, axis=-1)
    hop = float(diff.mean())
    deviation = float(np.max(np.abs(diff - hop)))
    if hop <= 0:
        yield Check(hop_name, FAIL, f"timestamps do not increase (mean step {hop:g} ms)")
    elif deviation > HOP_TOLERANCE_MS:
        yield Check(
            hop_name,
            FAIL,
            f"irregular hop: mean {hop:.3f} ms but a step deviates by {deviation:.3f} ms "
            f"(more than {HOP_TOLERANCE_MS:g} ms); timestamps must be evenly spaced",
        )
    elif float(diff.max()) > MAX_HOP_MS:
        yield Check(
            hop_name,
            WARN,
            f"hop {hop:.3f} ms is over {MAX_HOP_MS:g} ms: coarse for 50 ms onset tolerances "
            "(MAESTRO)",
        )
    else:
        yield Check(hop_name, PASS, f"regular hop of {hop:.3f} ms (deviation {deviation:.4f} ms)")
    yield _range_check(ts, length_ms, hop, range_name)


def _range_check(ts: np.ndarray, length_ms: float, hop: float, name: str) -> Check:
    first, last = float(ts.min()), float(ts.max())
    seen = f"first {first:g} ms, last {last:g} ms, clip {length_ms:g} ms"
    if last > length_ms:
        return Check(name, FAIL, f"{seen}: timestamps end after the audio does")
    problems = []
    if first > hop:
        problems.append("timestamps start late")
    if last < length_ms - hop or last < length_ms - MAX_HOP_MS:
        problems.append("no embedding near the end of the audio")
    if problems:
        return Check(name, WARN, f"{seen}: {'; '.join(problems)}")
    return Check(name, PASS, seen)


def _scene_stage(report: ConformanceReport, model: api.HearModel, seed: int) -> None:
    blocker = _missing(model, "get_scene_embeddings", "scene_embedding_size")
    if blocker:
        report.skip(["scene_embeddings"], blocker)
        return
    audio = white_noise(SCENE_BATCH, SCENE_LENGTH, model.sample_rate, seed + 100)
    try:
        emb = model.scene_embeddings(audio)
    except api.ModelCodeError as exc:
        report.add("scene_embeddings", FAIL, exc.message)
        return
    except api.ModelAPIError as exc:
        report.add("scene_embeddings", FAIL, f"{exc.check}: {exc.message}")
        return
    report.add("scene_embeddings", PASS, f"embeddings {emb.shape} {emb.dtype}")
