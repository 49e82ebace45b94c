"""The check run ``hear-leaderboard / validate``: pure payload building, no API calls.

- conclusion ``success`` when the result is ok, else ``failure``;
- annotations on ``leaderboard.csv`` lines: errors as ``failure``, warnings as ``warning``;
  findings without a line are never annotated: they appear in the summary (the rendered
  report lists every finding) and are counted in the output text;
- at most 50 annotations per request, as GitHub requires: the first batch goes with the
  create (or update) request, later batches in further PATCH updates, which GitHub appends;
- annotations past ``MAX_ANNOTATIONS`` are not sent (the summary still lists them).

The payload dicts are keyword arguments of PyGithub's ``create_check_run`` / ``CheckRun.edit``.
"""

from __future__ import annotations

from typing import Any

from bot.common.result import ResultDocument

CHECK_NAME = "hear-leaderboard / validate"
ANNOTATED_PATH = "leaderboard.csv"
ANNOTATIONS_PER_REQUEST = 50
MAX_ANNOTATIONS = 200
MAX_OUTPUT_CHARS = 65_535
MAX_TITLE_CHARS = 255
MAX_ANNOTATION_MESSAGE_CHARS = 4_000


def conclusion(result: ResultDocument) -> str:
    return "success" if result["ok"] else "failure"


def title(result: ResultDocument) -> str:
    errors, warnings = len(result["errors"]), len(result["warnings"])
    note = f", {_count(warnings, 'warning')}" if warnings else ""
    if result["ok"]:
        return f"Valid submission{note}"
    return f"Invalid submission: {_count(errors, 'error')}{note}"


def annotations(result: ResultDocument) -> list[dict[str, Any]]:
    """Every finding with a line, errors first, as Checks API annotation objects."""
    found = []
    for level, findings in (("failure", result["errors"]), ("warning", result["warnings"])):
        for finding in findings:
            if finding.get("line") is None:
                continue
            heading = finding["code"] + (f" ({finding['column']})" if finding.get("column") else "")
            message = f"{finding['message']}\n\nFix: {finding['fix']}"
            found.append(
                {
                    "path": ANNOTATED_PATH,
                    "start_line": finding["line"],
                    "end_line": finding["line"],
                    "annotation_level": level,
                    "title": clip(heading, MAX_TITLE_CHARS),
                    "message": clip(message, MAX_ANNOTATION_MESSAGE_CHARS),
                }
            )
    return found


def output_text(result: ResultDocument, annotated: int, total: int) -> str:
    unplaced = sum(1 for f in result["errors"] + result["warnings"] if f.get("line") is None)
    parts = []
    if total:
        parts.append(f"{_count(annotated, 'finding')} annotated on `{ANNOTATED_PATH}`.")
    if total > annotated:
        parts.append(f"{total - annotated} more with a line are listed in the summary only.")
    if unplaced:
        parts.append(f"{_count(unplaced, 'finding')} without a line: see the summary.")
    return " ".join(parts) or "No findings."


def check_run_requests(
    result: ResultDocument, summary_markdown: str, head_sha: str, *, create: bool
) -> list[dict[str, Any]]:
    """The requests that report ``result``: a create (or an update) then PATCH batches.

    Each request's ``output`` repeats title and summary, which GitHub requires whenever
    ``output`` is sent.
    """
    all_annotations = annotations(result)
    sent = all_annotations[:MAX_ANNOTATIONS]
    batches = [
        sent[start : start + ANNOTATIONS_PER_REQUEST]
        for start in range(0, len(sent), ANNOTATIONS_PER_REQUEST)
    ] or [[]]
    base_output = {
        "title": clip(title(result), MAX_TITLE_CHARS),
        "summary": clip(summary_markdown, MAX_OUTPUT_CHARS),
        "text": output_text(result, len(sent), len(all_annotations)),
    }
    first: dict[str, Any] = {
        "status": "completed",
        "conclusion": conclusion(result),
        "output": _with_annotations(base_output, batches[0]),
    }
    if create:
        first = {"name": CHECK_NAME, "head_sha": head_sha, **first}
    later = [{"output": _with_annotations(base_output, batch)} for batch in batches[1:]]
    return [first, *later]


def _with_annotations(output: dict[str, Any], batch: list[dict[str, Any]]) -> dict[str, Any]:
    return {**output, "annotations": batch} if batch else dict(output)


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
