"""Schemas derived from ``schemas/tasks.json``, so that column names are written down once.

``hearbot schemas --write`` regenerates them; a test fails when they are out of date.
"""

from __future__ import annotations

import json
from typing import Any

from bot.common.fileio import write_atomic
from bot.common.schemas import SCHEMAS_DIR, LeaderboardFacts, leaderboard_facts

BASE_ID = "https://hear-leaderboard.invalid/schemas/"
SCORE_PATTERN_TEMPLATE = r"^$|^(0|0\.[0-9]{{1,{n}}}|1|1\.0{{1,{n}}})$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def column_names_schema(facts: LeaderboardFacts) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_ID + "column-names.schema.json",
        "title": "A score column of the HEAR leaderboard (generated from tasks.json)",
        "enum": list(facts.score_columns),
    }


def leaderboard_row_schema(facts: LeaderboardFacts) -> dict[str, Any]:
    score = {
        "type": "string",
        "description": "empty = not run; else a plain decimal in [0, 1]",
        "pattern": SCORE_PATTERN_TEMPLATE.format(n=facts.score_max_decimals),
    }
    properties: dict[str, Any] = {
        "Model": {
            "type": "string",
            "description": "team or institution + short model name",
            "minLength": 1,
            "maxLength": 100,
            "pattern": r'^[^\s,"=+\-@][^,"]*$',
        },
        "URL": {"type": "string", "pattern": r'^https://[^\s,"]+$'},
        "Submission Date": {
            "anyOf": [
                {"const": facts.legacy_date},
                {"type": "string", "pattern": DATE_PATTERN, "format": "date"},
            ]
        },
    }
    properties.update({name: score for name in facts.score_columns})
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": BASE_ID + "leaderboard-row.schema.json",
        "title": "One row of leaderboard.csv, keyed by the header (generated from tasks.json)",
        "type": "object",
        "required": list(facts.header),
        "additionalProperties": False,
        "properties": properties,
    }


def generated_schemas() -> dict[str, dict[str, Any]]:
    facts = leaderboard_facts()
    return {
        "column-names.schema.json": column_names_schema(facts),
        "leaderboard-row.schema.json": leaderboard_row_schema(facts),
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def stale_schemas() -> list[str]:
    """Names of generated schema files whose content differs from what tasks.json implies."""
    stale = []
    for name, schema in generated_schemas().items():
        path = SCHEMAS_DIR / name
        if not path.exists() or path.read_text(encoding="utf-8") != render(schema):
            stale.append(name)
    return stale


def write_schemas() -> list[str]:
    written = []
    for name in stale_schemas():
        write_atomic(SCHEMAS_DIR / name, render(generated_schemas()[name]).encode("utf-8"))
        written.append(name)
    return written
