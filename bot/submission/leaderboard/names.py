"""Model names: the comparison key used for uniqueness, and the manifest slug."""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path

import confusable_homoglyphs

_MARKS = "\u200e\u200f"
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_WHITESPACE = re.compile(r"\s+")


@cache
def _prototypes() -> dict[str, str]:
    """Character → the one character it is confusable with, from Unicode's confusables data.

    Only single-character, unambiguous mappings are kept (a prototype such as 'a' lists many
    look-alikes and maps to itself), so the map is not transitive and never chains.
    """
    data_file = Path(confusable_homoglyphs.__file__).with_name("confusables.json")
    table = json.loads(data_file.read_text(encoding="utf-8"))
    prototypes: dict[str, str] = {}
    for char, glyphs in table.items():
        if len(glyphs) != 1:
            continue
        target = glyphs[0]["c"].strip(_MARKS)
        if len(char) == 1 and len(target) == 1 and target != char:
            prototypes[char] = target
    return prototypes


def _skeleton(text: str) -> str:
    table = _prototypes()
    return "".join(table.get(char, char) for char in text)


def _collapse(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


@cache
def comparison_keys(name: str) -> frozenset[str]:
    """Keys under which two names count as the same model.

    NFKC, case folding, whitespace collapsing and confusable look-alikes, in several orders:
    look-alikes before folding catch `ModeI` vs `Model`; after folding, Cyrillic `С`; before
    NFKC, characters that NFKC would turn into something else (Greek lunate `Ϲ` → `Σ`).
    """
    base = unicodedata.normalize("NFKC", name)
    folded_first = _skeleton(base.casefold())
    skeleton_first = unicodedata.normalize("NFKC", _skeleton(base)).casefold()
    raw_skeleton = _skeleton(unicodedata.normalize("NFKC", _skeleton(name)).casefold())
    return frozenset(_collapse(key) for key in (folded_first, skeleton_first, raw_skeleton))


def same_model(a: str, b: str) -> bool:
    return not comparison_keys(a).isdisjoint(comparison_keys(b))


def slug(model_name: str) -> str:
    """File-name stem of a submission's manifest: `submissions/<slug>.json`.

    The Model name lower-cased, every run of characters other than a-z and 0-9 replaced by
    one '-', leading and trailing '-' removed. "CP-JKU mn40_as (e1+l+all_se)" →
    "cp-jku-mn40-as-e1-l-all-se". Empty when the name has no ASCII letter or digit.
    """
    return _NON_SLUG.sub("-", model_name.lower()).strip("-")
