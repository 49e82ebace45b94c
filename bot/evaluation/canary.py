"""Canary scores: the test classifiers applied to the canary clips and their perturbed copies.

When a task's embeddings carry canary copies (bot/hear/canary.py: ``<task>/canary.json`` names
the clips and their perturbations, ``<task>/canary/<split>/`` holds the copies' embeddings),
each split's trained classifier, the one that produced the kit's test score, also scores those
clips twice: as embedded, and as perturbed. Nothing is trained for it and no random number is
drawn, so the kit's scores are untouched. The result, `<out_dir>/canary-scores.json`:

```
{"format": "hearbot.canary-scores/1", "clips": N, "original": s, "perturbed": p,
 "drop": s - p, "splits": [{"split", "clips", "original", "perturbed"}, ...]}
```
``original`` and ``perturbed`` are means over the test splits, weighted by canary clips. A
genuine model's score barely moves under a perturbation below audibility; a model that
looked the clips up loses what it memorised (bot/verify/canary.py judges the drop).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.evaluation.embeddings import load_rows
from bot.evaluation.train import TaskSpec, TrainedModel, test_scores
from bot.hear.canary import CANARY_DIR, read_plan

CANARY_SCORES = "canary-scores.json"
SCORES_FORMAT = "hearbot.canary-scores/1"
Tested = list[tuple[list[str], TrainedModel]]


def canary_probe(task_dir: Path, metadata_dir: Path | None, out_dir: Path) -> Any:
    """The probe bot/evaluation/protocol.py calls after its tests, or None when the task's
    embeddings have no canary copies."""
    plan = read_plan(task_dir)
    if not plan:
        return None

    def probe(spec: TaskSpec, tested: Tested, batch_size: int) -> None:
        splits = []
        for test_splits, model in tested:
            for split in test_splits:
                files = sorted(plan.get(split, {}))
                if not files:
                    continue
                original = load_rows(task_dir, metadata_dir, task_dir, split, files)
                perturbed = load_rows(task_dir, metadata_dir, task_dir / CANARY_DIR, split, files)
                splits.append(
                    {
                        "split": split,
                        "clips": len(files),
                        "original": test_scores(spec, model, original, batch_size)["test_score"],
                        "perturbed": test_scores(spec, model, perturbed, batch_size)["test_score"],
                    }
                )
        write_atomic(out_dir / CANARY_SCORES, json.dumps(summarise(splits), indent=2).encode())

    return probe


def summarise(splits: list[dict[str, Any]]) -> dict[str, Any]:
    clips = sum(split["clips"] for split in splits)
    original = sum(s["original"] * s["clips"] for s in splits) / clips if clips else None
    perturbed = sum(s["perturbed"] * s["clips"] for s in splits) / clips if clips else None
    drop = original - perturbed if original is not None and perturbed is not None else None
    return {
        "format": SCORES_FORMAT,
        "clips": clips,
        "original": original,
        "perturbed": perturbed,
        "drop": drop,
        "splits": splits,
    }


def read_canary_scores(out_dir: Path) -> dict[str, Any] | None:
    """What `canary_probe` wrote (trusted code wrote it), or None."""
    try:
        data = json.loads((out_dir / CANARY_SCORES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("format") == SCORES_FORMAT else None
