"""The verification block of the result document (schemas/result.schema.json), and writing
the run's outputs: result.json and report.md."""

from __future__ import annotations

import json
import math
import platform
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.common.result import ResultDocument, TaskResult, Verification, check_result
from bot.runner.install import describe_pin
from bot.verify.device import (
    cuda_runtime,
    device_description,
    nvidia_driver,
    torch_threads,
    torch_version,
)
from bot.verify.options import VerifyOptions
from bot.verify.verdict import TaskStatus, Verdict

DETAIL_CHARS = 3900  # the result schema allows 4000 for a detail


def empty_verification(manifest: dict[str, Any], options: VerifyOptions) -> Verification:
    """The block before anything has run: what the manifest says about the model, and this
    machine. ``options`` is the resolved copy (its device is cpu or cuda)."""
    weights = manifest.get("weights") or {}
    install_lines = manifest.get("install") or []
    return {
        "verdict": Verdict.ERROR,
        "reason": "",
        "model": {
            "hear_module": str(manifest.get("hear_module", "")),
            "sample_rate": manifest.get("sample_rate"),
            "scene_embedding_size": manifest.get("scene_embedding_size"),
            "timestamp_embedding_size": manifest.get("timestamp_embedding_size"),
            "install_pin": describe_pin(install_lines) if isinstance(install_lines, list) else "",
            "weights_sha256": weights.get("sha256"),
            "model_options": manifest.get("model_options") or {},
        },
        "environment": {
            "device": device_description(options.device),
            "python": platform.python_version(),
            "torch": torch_version(),
            "cuda": cuda_runtime(options.device),
            "driver": nvidia_driver(options.device),
            "torch_threads": torch_threads(),
            "installed_from": "pinned-virtualenv" if options.install else "current-environment",
            "evaluation_mode": options.evaluation_mode,
            "seeds": options.seeds,
            "provenance": [],
            "sandbox": options.sandbox.describe(
                "off" if not options.package_index else f"install only: {options.package_index}"
            ),
        },
        "timings": {},
        "conformance": [],
        "columns": [],
        "tasks": [],
        "stand_ins": dict(options.stand_ins),
    }


def task_entry(
    task_dir: str, status: TaskStatus, detail: str, scores: dict[str, float | str] | None = None
) -> TaskResult:
    """One task's line in `verification.tasks`: scored (with its flat scores) or error."""
    detail = cut(detail, DETAIL_CHARS)
    return {"task_dir": task_dir, "status": status, "detail": detail, "scores": scores or {}}


def machine_paths(options: VerifyOptions) -> list[tuple[str, str]]:
    """This machine's directories as they appear in logs, each with the name a report shows
    instead (the longest first: WORK is usually inside OUT)."""
    names: dict[Path, str] = {path: "FIND_LINKS" for path in options.find_links}
    if options.weights_file is not None:
        names[options.weights_file.parent] = "WEIGHTS_DIR"
    names |= {
        options.work_dir: "WORK",
        options.out: "OUT",
        options.tasks_dir: "TASKS",
        Path(__file__).resolve().parents[2]: "HEARBOT",
        Path.home(): "~",
    }
    pairs = []
    for path, name in names.items():
        for form in {str(path), str(path.absolute()), str(path.resolve())}:
            if form not in ("/", ".", ""):
                pairs.append((form.rstrip("/"), name))
    return sorted(set(pairs), key=lambda pair: -len(pair[0]))


def without_machine_paths(text: str, paths: list[tuple[str, str]]) -> str:
    """``text`` with this machine's directories replaced by OUT, WORK, TASKS, FIND_LINKS,
    WEIGHTS_DIR, HEARBOT or ~
    (a published report names no runner's paths)."""
    for path, name in paths:
        text = text.replace(path, name)
    return text


def cut(text: str, limit: int) -> str:
    """``text`` within ``limit`` characters, keeping its start and its end (where pip and
    tracebacks put the reason)."""
    if len(text) <= limit:
        return text
    half = (limit - 5) // 2
    return text[:half] + "\n…\n" + text[-half:]


def flat_scores(scores: dict[str, Any]) -> dict[str, float | str]:
    """test_* values of a trainvaltest result, or the aggregated *_mean/*_std of a k-fold one."""
    source = scores.get("aggregated_scores") or scores.get("test") or {}
    flat: dict[str, float | str] = {}
    for key, value in source.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            flat[key] = strict_number(float(value))
    return flat


def strict_number(value: float) -> float | str:
    """A JSON-safe number: infinities and NaN as the strings "Infinity", "-Infinity", "NaN"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def write_outputs(result: ResultDocument, out: Path, markdown: str) -> None:
    """OUT/result.json (strict JSON) and OUT/report.md. The document is checked against
    schemas/result.schema.json first: a result that does not match is a bug here, never
    something to publish."""
    problems = check_result(result)
    if problems:
        raise RuntimeError("the result does not match its schema: " + "; ".join(problems[:10]))
    document = json.dumps(result, indent=2, allow_nan=False) + "\n"
    write_atomic(out / "result.json", document.encode("utf-8"))
    write_atomic(out / "report.md", (markdown + "\n").encode("utf-8"))
