"""Untrusted text made inert for every place a line can go: our stdout and stderr (a GitHub
Actions log, where a line starting with `::` is a workflow command), OUT/verify.log, the step
summary, report.md, the PR comment and the check run.

``inert_lines`` is the one way text the sandbox printed (pip's output at install, the model's at
check-model and embed), or a log tail carrying it, becomes lines:

- it is split on every line break Python knows (what `str.splitlines` splits on: `\\n`, `\\r`,
  `\\r\\n`, `\\v`, `\\f`, `\\x1c`, `\\x1d`, `\\x1e`, `\\x85`, `\\u2028`, `\\u2029`), so no sink can
  find a line break we did not see;
- each line is made inert by ``inert_line``: control, format (bidi, zero-width), separator,
  private-use and unassigned characters become visible `\\uXXXX` escapes (an ANSI escape
  sequence shows as `\\u001b[...`), and a leading `::` (after any spaces: the Actions runner
  trims them) becomes `\\u003a:`, so no line is a workflow command;
- each line carries ``mark`` (the sandbox's output: ``MODEL_MARK``), so that a model's line
  cannot pass for one of hearbot's own stamped lines (`HH:MM:SS stage: ...`).

``stop_commands`` is defence in depth on Actions: while the sandbox runs, workflow commands are
paused with `::stop-commands::<random token>`, a token the sandbox never sees.
"""

from __future__ import annotations

import secrets
import sys
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TextIO

MODEL_MARK = "[model] "
"""Before every line the sandbox printed: what follows is the submission's, not hearbot's."""
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
"""What `str.splitlines` splits on (`\\r\\n` is one break)."""
HIDDEN_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
COMMAND_PREFIX = "::"
ESCAPED_COLON = "\\u003a"


def visible(text: str) -> str:
    """``text`` with every control, format, surrogate, private-use, unassigned and line or
    paragraph separator character written as a `\\uXXXX` escape (no line break survives)."""
    out = []
    for char in text:
        if unicodedata.category(char) in HIDDEN_CATEGORIES:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


def inert_line(text: str) -> str:
    """One line of untrusted text, made inert: ``visible``, and a leading `::` (after spaces)
    escaped, so that it is never a workflow command."""
    shown = visible(text)
    stripped = shown.lstrip()
    if stripped.startswith(COMMAND_PREFIX):
        indent = shown[: len(shown) - len(stripped)]
        shown = indent + ESCAPED_COLON + stripped[1:]
    return shown


def inert_lines(text: str, mark: str = "") -> list[str]:
    """``text`` split on every line break, each line made inert and prefixed with ``mark``.
    Empty text is one empty line."""
    return [mark + inert_line(line) for line in text.splitlines() or [""]]


@contextmanager
def stop_commands(environ: Mapping[str, str], stream: TextIO | None = None) -> Iterator[None]:
    """On GitHub Actions (GITHUB_ACTIONS=true), pause workflow commands on ``stream`` (stderr)
    while the block runs: `::stop-commands::<token>` before, `::<token>::` after, the token
    random and never shown to the sandbox. Elsewhere, nothing."""
    if environ.get("GITHUB_ACTIONS") != "true":
        yield
        return
    out = sys.stderr if stream is None else stream
    token = secrets.token_hex(16)
    print(f"::stop-commands::{token}", file=out, flush=True)
    try:
        yield
    finally:
        print(f"::{token}::", file=out, flush=True)
