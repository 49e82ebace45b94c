"""Strict JSON for files that may come from someone else: no NaN/Infinity, no duplicate keys.

Standard library only: bot/hear (which runs in a submission's own environment) uses it too.
"""

from __future__ import annotations

import json
from typing import Any


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [key for key, _ in pairs]
    duplicates = sorted({key for key in keys if keys.count(key) > 1})
    if duplicates:
        raise ValueError(f"duplicate key(s) {', '.join(map(repr, duplicates))}")
    return dict(pairs)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON ({name} is not allowed in strict JSON)")


def loads(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and repeated keys (raises ValueError)."""
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_unique_keys)
