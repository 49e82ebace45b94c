"""The append-only diff: how HEAD's rows relate to BASE's rows.

Line numbers are 1-based file lines (the header is line 1, the first row line 2).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HeadRow:
    line: int
    text: str


@dataclass
class RowDiff:
    appended: list[HeadRow] = field(default_factory=list)
    inserted: list[HeadRow] = field(default_factory=list)
    modified: list[tuple[int, HeadRow]] = field(default_factory=list)
    removed: list[tuple[int, str, int]] = field(default_factory=list)
    moved: list[tuple[int, HeadRow]] = field(default_factory=list)

    @property
    def new_rows(self) -> list[HeadRow]:
        """Rows that are new in HEAD: appended at the end, or inserted between old rows."""
        return sorted(self.inserted + self.appended, key=lambda row: row.line)


def diff_rows(base_rows: list[str], head_rows: list[str]) -> RowDiff:
    """Compare the data rows (header excluded) of BASE and HEAD.

    ``removed`` holds (base line, text, head line where it would be); ``modified`` pairs a
    base line with the HEAD row that replaced it; ``moved`` pairs a base line with the HEAD
    row that is the same text elsewhere.
    """
    result = RowDiff()
    if head_rows[: len(base_rows)] == base_rows:
        result.appended = [
            HeadRow(line=index + 2, text=text)
            for index, text in enumerate(head_rows[len(base_rows) :], start=len(base_rows))
        ]
        return result
    matcher = difflib.SequenceMatcher(None, base_rows, head_rows, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        base_part = list(range(i1, i2))
        head_part = [HeadRow(line=j + 2, text=head_rows[j]) for j in range(j1, j2)]
        if tag == "replace":
            pairs = min(len(base_part), len(head_part))
            for k in range(pairs):
                result.modified.append((base_part[k] + 2, head_part[k]))
            base_part, head_part = base_part[pairs:], head_part[pairs:]
        for index in base_part:
            result.removed.append((index + 2, base_rows[index], j1 + 2))
        at_end = i2 == len(base_rows) and j2 == len(head_rows)
        (result.appended if at_end else result.inserted).extend(head_part)
    _pair_moves(result)
    return result


def _pair_moves(result: RowDiff) -> None:
    """A removed row that reappears verbatim elsewhere was moved, not removed and re-added."""
    for removed in list(result.removed):
        base_line, text, _ = removed
        for bucket in (result.appended, result.inserted):
            match = next((row for row in bucket if row.text == text), None)
            if match is not None:
                bucket.remove(match)
                result.removed.remove(removed)
                result.moved.append((base_line, match))
                break
