"""Access to ``schemas/``: the JSON Schemas and ``tasks.json``, the one place for HEAR facts.

Nothing in Python spells a task or column name; it reads them from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"


class SchemaFileError(RuntimeError):
    """A file under schemas/ is missing or malformed: a broken checkout, not bad user input."""


@dataclass(frozen=True)
class Column:
    """One score column of the leaderboard and the HEAR task directories behind it."""

    name: str
    domain: str  # environmental, music or speech: the published page's task groups
    task_dirs: tuple[str, ...]
    split_mode: str
    folds: int | None
    embedding_type: str
    prediction_type: str
    primary_metric: str
    score_key: str
    aggregation: str
    floor: float
    """The least half-width of the verdict's interval (bot/verify/verdict.py)."""
    cap: float
    """The greatest half-width judged; a wider interval makes the column inconclusive."""
    confidence: float
    """The two-sided confidence of the prediction interval."""
    higher_is_better: bool
    audio_hours: float
    clips: int


@dataclass(frozen=True)
class LeaderboardFacts:
    fixed_columns: tuple[str, ...]
    legacy_date: str
    score_max_decimals: int
    columns: tuple[Column, ...]

    @property
    def score_columns(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def header(self) -> tuple[str, ...]:
        return self.fixed_columns + self.score_columns

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)


def load_json_file(name: str) -> Any:
    path = SCHEMAS_DIR / name
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SchemaFileError(
            f"{path} is missing: hearbot reads its schemas from the repository checkout; "
            "install it with `pip install -e .` from the repository root"
        ) from exc
    except json.JSONDecodeError as exc:
        raise SchemaFileError(f"{path} is not valid JSON: {exc}") from exc


@cache
def schema_registry() -> Registry:
    """Every ``*.schema.json`` under schemas/, by its ``$id``, so relative ``$ref``s resolve."""
    resources = []
    for path in sorted(SCHEMAS_DIR.glob("*.schema.json")):
        schema = load_json_file(path.name)
        resources.append((schema["$id"], Resource.from_contents(schema, DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """A 2020-12 validator (with format checking) for ``schemas/<schema_name>``."""
    schema = load_json_file(schema_name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(
        schema,
        registry=schema_registry(),
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def schema_errors(schema_name: str, instance: Any) -> list[jsonschema.ValidationError]:
    """All validation errors of ``instance``, in a stable order (by location in the instance)."""
    errors = validator(schema_name).iter_errors(instance)
    return sorted(errors, key=lambda e: [str(p) for p in e.absolute_path])


def json_pointer(error: jsonschema.ValidationError) -> str:
    """RFC 6901 pointer to the failing part of the instance (`~` and `/` escaped)."""
    parts = [str(part).replace("~", "~0").replace("/", "~1") for part in error.absolute_path]
    return "".join("/" + part for part in parts)


@cache
def leaderboard_facts() -> LeaderboardFacts:
    document = load_json_file("tasks.json")
    errors = schema_errors("tasks.schema.json", document)
    if errors:
        details = "; ".join(f"{json_pointer(e) or '/'}: {e.message}" for e in errors)
        raise SchemaFileError(f"schemas/tasks.json does not match tasks.schema.json: {details}")
    columns = tuple(
        Column(
            name=entry["column"],
            domain=entry["domain"],
            task_dirs=tuple(entry["task_dirs"]),
            split_mode=entry["split_mode"],
            folds=entry.get("folds"),
            embedding_type=entry["embedding_type"],
            prediction_type=entry["prediction_type"],
            primary_metric=entry["primary_metric"],
            score_key=entry["score_key"],
            aggregation=entry["aggregation"],
            floor=float(entry["floor"]),
            cap=float(entry["cap"]),
            confidence=float(entry["confidence"]),
            higher_is_better=entry["higher_is_better"],
            audio_hours=float(entry["audio_hours"]),
            clips=int(entry["clips"]),
        )
        for entry in document["columns"]
    )
    wrong = [column.name for column in columns if column.floor > column.cap]
    if wrong:
        raise SchemaFileError(f"schemas/tasks.json: floor is above cap in {', '.join(wrong)}")
    names = [column.name for column in columns]
    if len(set(names)) != len(names):
        raise SchemaFileError("schemas/tasks.json names a column twice")
    board = document["leaderboard"]
    return LeaderboardFacts(
        fixed_columns=tuple(board["fixed_columns"]),
        legacy_date=board["legacy_date"],
        score_max_decimals=board["score_max_decimals"],
        columns=columns,
    )
