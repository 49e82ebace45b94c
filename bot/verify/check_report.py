"""Reading the conformance report the sandbox wrote (`check-model --json`): untrusted input,
read through bot/common/untrusted.py (a regular file, no link, at most 1 MiB), strict JSON and
a fixed shape."""

from __future__ import annotations

from pathlib import Path

from bot.common import strict_json, untrusted
from bot.common.result import CheckResult
from bot.verify.sandboxed import ModelRunError
from bot.verify.verdict import CheckStatus

MAX_REPORT_BYTES = 1 << 20


def read_checks(report: Path) -> list[CheckResult]:
    """The conformance report the sandbox wrote, read as untrusted: size, strict JSON, shape."""
    try:
        raw = untrusted.read_bytes(report, MAX_REPORT_BYTES)
    except untrusted.UntrustedFileError as exc:
        raise ModelRunError(f"{report.name}: {exc.detail} [{exc.check}]", "") from None
    try:
        data = strict_json.loads(raw.decode("utf-8"))
        checks = data["checks"] if isinstance(data, dict) else None
        if not isinstance(checks, list) or not checks:
            raise ValueError("no list of checks")
        items: list[CheckResult] = [
            {
                "name": _plain(item["name"], 200),
                "status": item["status"],
                "detail": _plain(item.get("detail", ""), 4000),
            }
            for item in checks
        ]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ModelRunError(f"{report.name} is not a conformance report: {exc}", "") from None
    for item in items:
        if item["status"] not in tuple(CheckStatus):
            raise ModelRunError(f"{report.name}: unknown status {item['status']!r}", "")
    return items


def _plain(value: object, limit: int) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value[:limit]
