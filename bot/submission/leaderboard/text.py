"""Bytes of leaderboard.csv → lines, with the file-level findings (encoding, BOM, endings)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BOM = b"\xef\xbb\xbf"
_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


@dataclass
class DecodedCsv:
    """The file as LF-separated lines (no final empty line), plus what had to be repaired."""

    lines: list[str]
    had_bom: bool = False
    bad_utf8_lines: list[int] = field(default_factory=list)
    crlf_lines: list[int] = field(default_factory=list)
    cr_lines: list[int] = field(default_factory=list)
    trailing_newlines: int = 0


def _line_number_of_offset(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_csv(data: bytes) -> DecodedCsv:
    """Decode strictly, noting every deviation, and carry on with a repaired copy.

    Repairs (so that later rules still see the rows): the BOM is dropped, invalid UTF-8 is
    replaced by U+FFFD, CRLF and lone CR become LF, final newlines are removed.
    """
    result = DecodedCsv(lines=[])
    if data.startswith(BOM):
        result.had_bom = True
        data = data[len(BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        offset = 0
        while offset < len(data):
            try:
                data[offset:].decode("utf-8")
                break
            except UnicodeDecodeError as exc:
                bad = offset + exc.start
                line = _line_number_of_offset(data, bad)
                if line not in result.bad_utf8_lines:
                    result.bad_utf8_lines.append(line)
                offset = bad + max(1, exc.end - exc.start)
    pieces = _LINE_BREAK.split(text)
    normalised = pieces[0::2]
    for number, separator in enumerate(pieces[1::2], start=1):
        if separator == "\r\n":
            result.crlf_lines.append(number)
        elif separator == "\r":
            result.cr_lines.append(number)
    while len(normalised) > 1 and normalised[-1] == "":
        normalised.pop()
        result.trailing_newlines += 1
    if normalised == [""]:
        normalised = []
    result.lines = normalised
    return result
