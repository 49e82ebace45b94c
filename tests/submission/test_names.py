"""Model names: when two names count as the same model, and the manifest slug."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.submission.leaderboard.names import comparison_keys, same_model, slug
from tests.rowgen import EXISTING_MODELS, model_names

PROPERTY = settings(derandomize=True, database=None, max_examples=150, deadline=None)


@pytest.mark.parametrize(
    ("new", "existing"),
    [
        ("CP-JKU PaSST base", "CP-JKU PaSST base"),
        ("cp-jku passt base", "CP-JKU PaSST base"),
        ("CP-JKU  PaSST   base", "CP-JKU PaSST base"),
        ("CP-JKU\tPaSST base", "CP-JKU PaSST base"),
        (" CP-JKU PaSST base ", "CP-JKU PaSST base"),
        ("CP-JKU\u00a0PaSST base", "CP-JKU PaSST base"),  # no-break space
        ("CP-JKU\u3000PaSST base", "CP-JKU PaSST base"),  # ideographic space
        ("СP-JKU PaSST base", "CP-JKU PaSST base"),  # Cyrillic Es
        ("wаv2vec2", "wav2vec2"),  # Cyrillic a
        ("OpenLЗ", "OpenL3"),  # Cyrillic Ze for 3
        ("0penL3", "OpenL3"),  # digit zero for O
        ("CP-JKU PaSST 2IvI", "CP-JKU PaSST 2lvl"),  # capital I for l
        ("ＣＰ-ＪＫＵ PaSST base", "CP-JKU PaSST base"),  # fullwidth
        ("wav2vec２", "wav2vec2"),  # fullwidth digit
        ("CP‐JKU PaSST base", "CP-JKU PaSST base"),  # U+2010 hyphen
        ("Straße Net", "STRASSE NET"),  # full case folding
        ("Ⅻ Net", "XII Net"),  # NFKC of a Roman numeral
        ("ϹREPE", "CREPE"),  # Greek lunate sigma, which NFKC would turn into Σ
        ("wav2veϲ2", "wav2vec2"),  # small Greek lunate sigma (NFKC: σ)
    ],
)
def test_same_model(new, existing):
    assert same_model(new, existing)
    assert same_model(existing, new)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("CP-JKU PaSST 2lvl", "CP-JKU PaSST 2lvl+mel"),
        ("GURA Fuse Hubert", "GURA Hubert"),
        ("CREPE", "CREPÉ"),
        ("Acme Net", "Acme Net v2"),
        ("IUT-CSE MLP (audio)", "IUT-CSE MLP (keyword)"),
        ("RedRice ced_mini", "RedRice ced_small"),
    ],
)
def test_different_models(a, b):
    assert not same_model(a, b)


def test_existing_names_are_pairwise_distinct():
    """The rule must not already be broken by the real leaderboard (no false positives)."""
    clashes = [
        (a, b)
        for i, a in enumerate(EXISTING_MODELS)
        for b in EXISTING_MODELS[i + 1 :]
        if same_model(a, b)
    ]
    assert clashes == []


def test_comparison_keys_are_folded_and_collapsed():
    for key in comparison_keys("  CP-JKU\u00a0 PaSST   BASE "):
        assert key == key.strip() and "  " not in key
        assert key == key.casefold()


@PROPERTY
@given(name=model_names())
def test_same_model_ignores_case_and_spacing(name):
    assert same_model(name, name)
    assert same_model(name, name.upper())
    assert same_model(name, name.lower())
    assert same_model(name, "  " + name.replace(" ", " \t ") + " ")
    assert same_model(name, unicodedata.normalize("NFKD", name))


@PROPERTY
@given(a=st.text(max_size=15), b=st.text(max_size=15))
def test_same_model_is_symmetric(a, b):
    assert same_model(a, b) == same_model(b, a)


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("CP-JKU mn40_as (e1+l+all_se)", "cp-jku-mn40-as-e1-l-all-se"),
        ("HEAR Team naive baseline (example)", "hear-team-naive-baseline-example"),
        ("Acme Labs AcmeNet-base", "acme-labs-acmenet-base"),
        ("  --Acme__Net--  ", "acme-net"),
        ("GURA Fuse Cat H+w+C (time)", "gura-fuse-cat-h-w-c-time"),
        ("Descript/MARL Wav2CLIP", "descript-marl-wav2clip"),
        ("Université Net", "universit-net"),
        ("Ακμε Νετ", ""),
        ("", ""),
    ],
)
def test_slug(model, expected):
    assert slug(model) == expected


@PROPERTY
@given(name=st.text(max_size=40))
def test_slug_is_a_safe_file_stem(name):
    value = slug(name)
    assert value == "" or re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", value)
    assert slug(value) == value


def test_existing_slugs_are_distinct():
    slugs = [slug(name) for name in EXISTING_MODELS]
    assert all(slugs) and len(set(slugs)) == len(slugs)
