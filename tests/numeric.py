"""How this suite compares floats computed on the machine it runs on (README, "Numeric tests").

Float results depend on the CPU, on the kernel a shape selects and on the thread count, and
Adam with early stopping magnifies a last-bit difference into another epoch or another
correct clip. So a test may demand bit-equality only between two results computed in the
same run on the same machine; a number stored from elsewhere is compared with a tolerance
measured across machines and kernel paths (`within`), or through the decisions it leads to.
Tests that compare floats carry the `numeric` marker; `scripts/numeric_matrix.py` runs them
under other kernel choices and thread counts and prints, for every `within` comparison, the
largest difference it saw against the tolerance.
"""

from __future__ import annotations

import json
import math
import os

THREADS_VARIABLE = "HEARBOT_TEST_THREADS"
LOG_VARIABLE = "HEARBOT_NUMERIC_LOG"


def test_threads(default: int) -> int:
    """The torch thread count for a numeric test: `default` (the count its stored numbers
    were recorded with), unless HEARBOT_TEST_THREADS asks for another one."""
    value = os.environ.get(THREADS_VARIABLE, "")
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{THREADS_VARIABLE}={value!r}: give a positive whole number")
    return int(value)


test_threads.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def within(what: str, got: float, want: float, tolerance: float) -> bool:
    """|got - want| <= tolerance; an infinite or NaN `want` must be matched exactly. Each
    comparison is appended to HEARBOT_NUMERIC_LOG when it is set (JSON lines), so that
    scripts/numeric_matrix.py can show how close each expectation came to its tolerance."""
    if math.isinf(want) or math.isnan(want):
        ok = got == want or (math.isnan(want) and math.isnan(got))
        delta = 0.0 if ok else math.inf
    else:
        delta = abs(got - want)
        ok = delta <= tolerance
    log = os.environ.get(LOG_VARIABLE)
    if log:
        record = {
            "test": os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0],
            "what": what,
            "got": _json_number(got),
            "want": _json_number(want),
            "delta": _json_number(delta),
            "tolerance": tolerance,
            "ok": ok,
        }
        with open(log, "a", encoding="utf-8") as file:
            file.write(json.dumps(record, allow_nan=False) + "\n")
    return ok


def _json_number(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)
