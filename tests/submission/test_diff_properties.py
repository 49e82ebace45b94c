"""Properties of the append-only diff, on the real leaderboard.csv.

* Any change to the existing bytes (edit, deletion, insertion, reordering) is rejected, with a
  code that points at the existing content, whether or not a good row is appended too.
* Any single well-formed appended row is accepted.
* ``diff_rows`` accounts for every row: nothing is lost or counted twice.

Deterministic: ``derandomize=True`` and no example database.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.submission.leaderboard.diff import diff_rows
from tests.rowgen import BASE, BASE_ROWS, NEW_LINE, append, check, error_codes, good_rows

PROPERTY = settings(
    derandomize=True,
    database=None,
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

# Codes that say "the existing content changed" (one of them must explain the rejection).
INTEGRITY = {
    "row-modified",
    "row-removed",
    "header-changed",
    "line-endings",
    "encoding",
    "bom",
    "trailing-newline",
}

_INTERESTING_BYTES = b'abcXYZ019.,-+ "\n\r\t\x00\xff\xc3\xef'


@st.composite
def byte_edits(draw):
    """BASE with one change somewhere inside its existing bytes."""
    kind = draw(st.sampled_from(["replace", "delete", "insert"]))
    position = draw(st.integers(min_value=0, max_value=len(BASE) - 1))
    if kind == "replace":
        new = draw(st.sampled_from(list(_INTERESTING_BYTES)))
        assume(new != BASE[position])
        return BASE[:position] + bytes([new]) + BASE[position + 1 :]
    if kind == "delete":
        length = draw(st.integers(min_value=1, max_value=300))
        return BASE[:position] + BASE[position + length :]
    inserted = draw(
        st.one_of(
            st.binary(min_size=1, max_size=20),
            st.lists(st.sampled_from(list(_INTERESTING_BYTES)), min_size=1, max_size=8).map(bytes),
        )
    )
    return BASE[:position] + inserted + BASE[position:]


def _rows_to_bytes(rows):
    return "\n".join([BASE.decode().split("\n")[0], *rows]).encode()


@st.composite
def row_edits(draw):
    """BASE with its rows reordered, deleted, duplicated or a cell changed."""
    rows = list(BASE_ROWS)
    kind = draw(st.sampled_from(["permute", "swap", "delete", "duplicate", "cell"]))
    if kind == "permute":
        seed = draw(st.integers(min_value=0, max_value=2**32))
        random.Random(seed).shuffle(rows)
    elif kind == "swap":
        i, j = draw(st.lists(st.integers(0, len(rows) - 1), min_size=2, max_size=2, unique=True))
        rows[i], rows[j] = rows[j], rows[i]
    elif kind == "delete":
        indexes = draw(st.lists(st.integers(0, len(rows) - 1), min_size=1, max_size=5, unique=True))
        rows = [row for index, row in enumerate(rows) if index not in indexes]
    elif kind == "duplicate":
        index = draw(st.integers(0, len(rows) - 1))
        rows.insert(draw(st.integers(0, len(rows) - 1)), rows[index])
    else:
        index = draw(st.integers(0, len(rows) - 1))
        cells = rows[index].split(",")
        column = draw(st.integers(3, len(cells) - 1))
        cells[column] = draw(st.sampled_from(["", "0.5", "0.1234", cells[column] + "0", "1"]))
        rows[index] = ",".join(cells)
    assume(rows != list(BASE_ROWS))
    return _rows_to_bytes(rows)


def _assert_rejected_for_existing_content(head):
    assume(head != BASE and not head.startswith(BASE + b"\n"))
    result = check(head)
    assert result["ok"] is False
    codes = error_codes(result)
    assert codes & INTEGRITY, (codes, result["errors"][:3])


@PROPERTY
@given(edited=byte_edits(), appended=st.one_of(st.none(), good_rows()))
def test_any_byte_edit_of_existing_content_is_rejected(edited, appended):
    head = edited if appended is None else edited + b"\n" + appended.encode()
    _assert_rejected_for_existing_content(head)


@PROPERTY
@given(edited=row_edits(), appended=st.one_of(st.none(), good_rows()))
def test_any_reordering_deletion_or_change_of_rows_is_rejected(edited, appended):
    head = edited if appended is None else edited + b"\n" + appended.encode()
    _assert_rejected_for_existing_content(head)
    codes = error_codes(check(head))
    assert codes & {"row-modified", "row-removed"}


@PROPERTY
@given(row=good_rows())
def test_any_single_well_formed_appended_row_is_accepted(row):
    result = check(append(row))
    assert result["errors"] == []
    assert result["ok"] is True
    assert result["submission"]["line"] == NEW_LINE
    assert ",".join(result["submission"]["row"].values()) == row


# ------------------------------------------------------------------ diff_rows itself

_rows = st.lists(st.sampled_from(["a", "b", "c", "d", "e", ""]), max_size=12)


@PROPERTY
@given(base=_rows, head=_rows)
def test_diff_accounts_for_every_row(base, head):
    diff = diff_rows(base, head)
    # Each base row is kept, modified, removed or moved; each head row is kept, a
    # modification, inserted, appended or a moved row: the kept rows are the same on both sides.
    kept_base = len(base) - len(diff.modified) - len(diff.removed) - len(diff.moved)
    kept_head = (
        len(head) - len(diff.modified) - len(diff.inserted) - len(diff.appended) - len(diff.moved)
    )
    assert kept_base == kept_head >= 0
    for row in diff.inserted + diff.appended + [row for _, row in diff.modified + diff.moved]:
        assert head[row.line - 2] == row.text
    for base_line, text, _ in diff.removed:
        assert base[base_line - 2] == text
    for base_line, row in diff.moved:
        assert base[base_line - 2] == row.text
    lines = [row.line for row in diff.new_rows]
    assert lines == sorted(lines)
    if head == base:
        assert not (diff.modified or diff.removed or diff.moved or diff.new_rows)


@PROPERTY
@given(extra=st.lists(st.text(max_size=5), max_size=5))
def test_pure_append_is_only_appended_rows(extra):
    base = list(BASE_ROWS)
    diff = diff_rows(base, base + extra)
    assert [row.text for row in diff.appended] == extra
    assert [row.line for row in diff.appended] == list(range(NEW_LINE, NEW_LINE + len(extra)))
    assert not (diff.modified or diff.removed or diff.moved or diff.inserted)


@PROPERTY
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_a_reordering_is_never_a_clean_append(seed):
    head = list(BASE_ROWS)
    random.Random(seed).shuffle(head)
    assume(head != list(BASE_ROWS))
    diff = diff_rows(list(BASE_ROWS), head)
    assert diff.modified or diff.removed or diff.moved or diff.inserted
