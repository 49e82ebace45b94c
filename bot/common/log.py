"""The one type of a progress log: a function that takes one line of text."""

from __future__ import annotations

from collections.abc import Callable

Log = Callable[[str], None]
"""Where a stage writes what it is doing, one line at a time (no trailing newline)."""
