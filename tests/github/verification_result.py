"""A schema-valid verification result, as ``hearbot verify`` writes it (built by hand here, so
these tests do not depend on the verifier: they test what the report job does with it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.common.schemas import leaderboard_facts, schema_errors


def verification_result(verdict: str = "pass", *, reason: str = "all claims reproduced") -> dict:
    column = leaderboard_facts().columns[0]
    outcome = {"pass": "reproduced", "fail": "mismatch", "error": "error"}[verdict]
    result: dict[str, Any] = {
        "schema_version": 1,
        "tool": {"name": "hearbot", "version": "0.1.0"},
        "kind": "verification",
        "ok": verdict == "pass",
        "errors": [],
        "warnings": [],
        "submission": None,
        "ranks": [],
        "checked": {"manifest": True, "changed_files": False},
        "verification": {
            "verdict": verdict,
            "reason": reason,
            "model": {
                "hear_module": "acme_net.hear",
                "sample_rate": 16000,
                "scene_embedding_size": 512,
                "timestamp_embedding_size": 512,
                "install_pin": "acme-net @ https://files.example.org/acme_net-1.0.whl",
                "weights_sha256": None,
                "model_options": {},
            },
            "environment": {
                "device": "cuda:0",
                "python": "3.11.9",
                "torch": "2.13.0",
                "installed_from": "pinned-virtualenv",
                "provenance": [],
                "torch_threads": 4,
                "sandbox": {
                    "launcher": "bubblewrap 0.8.0",
                    "network": "off",
                    "limits": {
                        "wall_s": 3600,
                        "memory_mb": 16000,
                        "processes": 256,
                        "output_mb": 1024,
                    },
                },
            },
            "timings": {"install_s": 10.0, "embed_s": 20.0},
            "conformance": [],
            "columns": [
                {
                    "column": column.name,
                    "outcome": outcome,
                    "claimed": 0.1,
                    "reproduced": 0.1 if verdict == "pass" else 0.5,
                    "delta": 0.0 if verdict == "pass" else 0.4,
                    "tolerance": column.floor,
                    "task_dirs": list(column.task_dirs),
                    "detail": "compared",
                    "log_tail": None,
                }
            ],
            "tasks": [],
            "stand_ins": {},
        },
    }
    assert schema_errors("result.schema.json", result) == []
    return result


def write_artifact(directory: Path, result: Any = None, **extra_files: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    if result is not None:
        (directory / "result.json").write_text(json.dumps(result))
    for name, data in extra_files.items():
        (directory / name).write_bytes(data)
    return directory


def shard_result(
    outcomes: dict[str, str], *, device: str = "cuda:0", total_s: float = 30.0
) -> dict[str, Any]:
    """A schema-valid result of one GPU shard (``hearbot verify --tasks`` its columns): each
    column ``reproduced``, ``mismatch`` or ``error`` against a claim of 0.5."""
    from bot.verify.verdict import ColumnEvidence, judge_column, overall_verdict

    result = verification_result("pass")
    verification = result["verification"]
    facts = leaderboard_facts()
    scores = {"reproduced": {"reproduced": 0.5}, "mismatch": {"reproduced": 0.1}}
    columns = [
        judge_column(
            ColumnEvidence(facts.column(name), "0.5", **scores.get(outcome, {"error": "boom"}))
        )
        for name, outcome in outcomes.items()
    ]
    verification["columns"] = columns
    verification["verdict"], verification["reason"] = overall_verdict(columns)
    verification["timings"] = {"install_s": 10.0, "total_s": total_s}
    verification["environment"]["device"] = device
    verification["tasks"] = [
        {"task_dir": d, "status": "scored", "detail": "", "scores": {"test_score": 0.5}}
        for name in outcomes
        for d in facts.column(name).task_dirs
    ]
    result["ok"] = True
    row = {"Model": "Acme Net", **dict.fromkeys(facts.score_columns, "0.5")}
    result["submission"] = {"line": 2, "row": row, "slug": "acme-net", "manifest_path": None}
    assert schema_errors("result.schema.json", result) == []
    return result
