"""bot/common/untrusted.py: every line break splits, every line is inert and marked."""

from __future__ import annotations

import io
import re

import pytest

from bot.common.inert import (
    LINE_BREAKS,
    MODEL_MARK,
    inert_line,
    inert_lines,
    stop_commands,
)

STAMPED = re.compile(r"^\d\d:\d\d:\d\d [a-z-]+( [\w-]+)?: ")
FORGERIES = [
    "x\r::error title=forged::pwned",
    "x\r12:00:00 verify: pass",
    "x\u202812:00:00 verify: pass",
    "x\n::add-mask::secret",
    "x\r\n  ::stop-commands::t0ken",
    "\x1b[2K\r::warning::hidden by an ANSI erase",
    "\u2029\u00a0::notice::after a no-break space",
]


def test_line_breaks_are_what_splitlines_splits_on() -> None:
    for char in map(chr, range(0x110000)):
        if 0xD800 <= ord(char) < 0xE000:
            continue
        assert (len(f"a{char}b".splitlines()) == 2) == (char in LINE_BREAKS), repr(char)


@pytest.mark.parametrize("text", FORGERIES)
def test_no_forged_line_survives(text: str) -> None:
    lines = inert_lines(text, MODEL_MARK)
    assert len(lines) == len(text.splitlines())
    for line in lines:
        assert line.startswith(MODEL_MARK)
        assert line.splitlines() == [line]
        assert not line.lstrip().startswith("::")
        assert not STAMPED.match(line)
        assert "\x1b" not in line
    unmarked = inert_lines(text)
    assert all(not line.lstrip().startswith("::") for line in unmarked)


def test_inert_line_escapes_a_leading_command_and_shows_controls() -> None:
    assert inert_line("::error::x") == "\\u003a:error::x"
    assert inert_line("  ::error::x") == "  \\u003a:error::x"
    assert inert_line("a ::b") == "a ::b"
    assert inert_line("a\rb\u2028c\x1b[31m") == "a\\u000db\\u2028c\\u001b[31m"
    assert inert_line("plain text, ünïcode") == "plain text, ünïcode"
    assert inert_lines("") == [""]
    assert inert_lines("a\r\nb\n") == ["a", "b"]


def test_stop_commands_only_on_actions_with_a_fresh_token() -> None:
    quiet = io.StringIO()
    with stop_commands({}, quiet):
        pass
    assert quiet.getvalue() == ""
    tokens = []
    for _ in range(2):
        out = io.StringIO()
        with stop_commands({"GITHUB_ACTIONS": "true"}, out):
            print("[model] inside", file=out)
        first, inside, last = out.getvalue().splitlines()
        token = first.removeprefix("::stop-commands::")
        assert len(token) == 32 and inside == "[model] inside" and last == f"::{token}::"
        tokens.append(token)
    assert tokens[0] != tokens[1]
