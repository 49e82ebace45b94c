"""Bytes of leaderboard.csv → lines, with the file-level findings (encoding, BOM, endings)."""

from __future__ import annotations

from dataclasses import dataclass, field

BOM = b"\xef\xbb\xbf"


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
    raw_lines = text.split("\n")
    normalised: list[str] = []
    for number, line in enumerate(raw_lines, start=1):
        if line.endswith("\r"):
            result.crlf_lines.append(number)
            line = line[:-1]
        if "\r" in line:
            result.cr_lines.append(number)
            normalised.extend(line.split("\r"))
        else:
            normalised.append(line)
    while len(normalised) > 1 and normalised[-1] == "":
        normalised.pop()
        result.trailing_newlines += 1
    if normalised == [""]:
        normalised = []
    result.lines = normalised
    return result
