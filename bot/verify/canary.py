"""Judging the memorisation canary (bot/hear/canary.py, bot/evaluation/canary.py).

A task is ``suspicious`` when the perturbed copies of its canary clips score more than
`MAX_DROP` below the same clips as embedded, on the task's primary metric, with the same
classifier. The perturbation (at most 0.5 dB and 0.8 of a sample) is below audibility, so a
model that hears the audio barely moves: measured drops are in docs/security.md ("The
memorisation canary"). A model that looked clips up by their exact samples loses what it
memorised. `suspicious` is a flag for the maintainer, not a verdict: the claims are judged as
ever.
"""

from __future__ import annotations

from typing import Any

MAX_DROP = 0.2
"""Calibrated in docs/security.md: genuine models (the example model, hearbaseline) drop at
most 0.03; a lookup table of the test clips drops 0.7 or more."""


def judge(scores: dict[str, Any] | None) -> dict[str, Any] | None:
    """The task's ``canary`` entry (schemas/result.schema.json), or None without canary
    scores."""
    if not scores or not scores.get("clips"):
        return None
    drop = scores.get("drop")
    return {
        "clips": int(scores["clips"]),
        "original": scores.get("original"),
        "perturbed": scores.get("perturbed"),
        "drop": drop,
        "threshold": MAX_DROP,
        "suspicious": drop is not None and drop > MAX_DROP,
    }
