"""Rendering a result (schemas/result.schema.json) for people: PR comment, check run, terminal.

Everything that may echo a submitter's bytes (messages, cells, names, URLs) goes through
``text`` or ``code``, which make it inert under GitHub Flavored Markdown and GitHub's own
filters: no mention, link, image, HTML, table break or marker spoofing.
"""

from __future__ import annotations

import re
from typing import Any

from bot.common.inert import inert_line
from bot.common.result import ColumnResult, ResultDocument, Verification
from bot.submission.validate import repository_path
from bot.verify.verdict import CheckStatus, Outcome, Verdict

STICKY_MARKER = "<!-- hearbot:sticky-comment -->"
MAX_COMMENT_CHARS = 65_000
MAX_CELL_CHARS = 300
MAX_FINDING_ROWS = 60
_ASCII_PUNCTUATION = set("!\"#$%'()*+,-./:;=?[\\]^_`{|}~")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def _visible(value: str, limit: int = MAX_CELL_CHARS) -> str:
    """Control, format (bidi, zero-width) and separator characters become `\\uXXXX`, and a
    leading `::` is escaped (bot/common/untrusted.py `inert_line`): one inert line."""
    shown = inert_line(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def text(value: str, limit: int = MAX_CELL_CHARS) -> str:
    """Untrusted text as inert Markdown prose (safe inside a table cell)."""
    out = []
    for char in _visible(value, limit):
        if char in _HTML:
            out.append(_HTML[char])
        elif char == "@":
            out.append("@&#8203;")  # a zero-width space stops @mentions and e-mail links
        elif char in _ASCII_PUNCTUATION:
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def code(value: str, limit: int = MAX_CELL_CHARS, *, in_table: bool = True) -> str:
    """Untrusted text as an inline code span.

    In a table cell `|` must be escaped (GFM removes the backslash there); elsewhere the
    backslash would show, so ``in_table=False`` leaves `|` alone.
    """
    shown = _visible(value, limit).replace("<!--", "<!\\-\\-")
    if in_table:
        shown = shown.replace("|", "\\|")
    if not shown:
        return "(empty)"
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown[0] in "` " or shown[-1] in "` " else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def prose(value: str, limit: int = MAX_CELL_CHARS) -> str:
    """A finding's message or fix: backtick-quoted parts as code, the rest as text."""
    parts = _visible(value, limit).split("`")
    rendered = []
    for index, part in enumerate(parts):
        if index % 2 == 0:
            rendered.append(text(part, limit=len(part) + 1))
        elif index < len(parts) - 1:
            rendered.append(code(part) if part else "")
        else:  # an unpaired backtick: show it, and the rest as text
            rendered.append(text("`" + part, limit=len(part) + 2))
    return "".join(rendered)


def _line(finding: dict[str, Any]) -> str:
    return str(finding["line"]) if finding.get("line") else "–"


def headline(result: ResultDocument) -> str:
    """The one line at the top of the comment: validation and verification together."""
    verification = result.get("verification")
    if not verification or not result["ok"] or not result.get("submission"):
        return verdict(result)
    return _verification_headline(verification)


def _verification_headline(verification: Verification) -> str:
    judged = verification["verdict"]
    stand_ins = verification.get("stand_ins") or {}
    if judged == Verdict.FAIL:
        missed = [c for c in verification["columns"] if c["outcome"] == Outcome.MISMATCH]
        if missed:
            parts = [
                f"{_column_label(c['column'], stand_ins)} claimed {_number(c['claimed'])}, "
                f"reproduced {_number(c['reproduced'])}"
                for c in missed
            ]
            return "❌ **Not verified**: " + "; ".join(parts) + "."
    stage_error = verification.get("stage_error")
    if judged == Verdict.ERROR and stage_error:
        return (
            f"⚠️ **Not verified**: the {text(stage_error['stage'], 40)} stage failed, so no "
            "claimed score was checked (the error is below)."
        )
    mark = _VERDICT_LINES.get(judged, f"⚠️ **Not verified ({text(str(judged), 40)})**")
    return f"{mark}: {prose(verification['reason'], 2000)}"


def verdict(result: ResultDocument) -> str:
    errors = result["errors"]
    submission = result.get("submission")
    if result["ok"] and submission:
        claimed = len(result.get("ranks") or [])
        return (
            f"✅ **Valid submission**: {code(submission['row'].get('Model', ''), in_table=False)} "
            "appends one row "
            f"with {claimed} claimed score(s)."
        )
    if result["ok"]:
        return "✅ **Valid**: no problems found."
    codes = sorted({finding["code"] for finding in errors})
    return (
        f"❌ **Not accepted yet**: {len(errors)} problem(s) to fix "
        f"({', '.join(code(name, in_table=False) for name in codes)})."
    )


def _findings_table(findings: list[dict[str, Any]]) -> list[str]:
    lines = ["| Line | Column | Code | Problem | How to fix |", "|---:|---|---|---|---|"]
    for finding in findings[:MAX_FINDING_ROWS]:
        column = code(finding["column"]) if finding.get("column") else "–"
        lines.append(
            f"| {_line(finding)} | {column} | {code(finding['code'])} | "
            f"{prose(finding['message'])} | {prose(finding['fix'])} |"
        )
    if len(findings) > MAX_FINDING_ROWS:
        lines.append(f"| | | | … and {len(findings) - MAX_FINDING_ROWS} more | see the check run |")
    return lines


def _ranks_section(result: dict[str, Any]) -> list[str]:
    ranks = result.get("ranks") or []
    if not ranks:
        return []
    lines = ["", "#### Where the claimed scores would rank", ""]
    lines += ["| Column | Claimed | Rank | Best existing |", "|---|---:|---:|---:|"]
    for rank in ranks:
        place = f"**#{rank['rank']}**" if rank["rank"] == 1 else f"#{rank['rank']}"
        lines.append(
            f"| {code(rank['column'])} | {_number(_float(rank['claimed']))} | "
            f"{place} of {rank['of']} | {_number(_float(rank['best_existing']))} |"
        )
    return lines


def _row_section(result: dict[str, Any]) -> list[str]:
    submission = result.get("submission")
    if not submission:
        return []
    lines = [
        "",
        f"<details><summary>The appended row as parsed (line {submission['line']})</summary>",
        "",
        "| Column | Value |",
        "|---|---|",
    ]
    for column, value in submission["row"].items():
        lines.append(f"| {code(column)} | {code(value) if value else '(not run)'} |")
    if submission.get("manifest_path"):
        lines.append(f"| manifest | {code(repository_path(submission['manifest_path']))} |")
    lines += ["", "</details>"]
    return lines


def _float(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


def _column_label(name: str, stand_ins: dict[str, str], *, in_table: bool = False) -> str:
    """A column's name, and the stand-in task it was checked on, if any."""
    label = code(name, in_table=in_table)
    if name in stand_ins:
        label += f" (on stand-in {code(stand_ins[name], in_table=in_table)})"
    return label


def fenced(value: str, limit: int = 6000) -> str:
    """Untrusted multi-line text (a log tail) as a fenced code block it cannot close.

    A log tail's lines are joined by `\\n` (bot/verify/stage_log.py); any other line break
    inside one (`\\r`, `\\u2028`, ...) is shown as an escape, never split on, and a leading
    `::` is escaped (bot/common/untrusted.py `inert_line`)."""
    lines = [inert_line(line) for line in value[-limit:].split("\n")]
    shown = "\n".join(line if len(line) <= 500 else line[:499] + "…" for line in lines)
    shown = shown.replace("<!--", "<!\\-\\-")  # no hidden marker, even inside a fence
    longest = max((len(run) for run in re.findall(r"`+", shown)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{shown}\n{fence}"


_OUTCOME_MARKS = {
    Outcome.REPRODUCED: "✅ reproduced",
    Outcome.MISMATCH: "❌ mismatch",
    Outcome.ABOVE_CLAIM: "⚠️ above claim",
    Outcome.NOT_CLAIMED: "– not claimed",
    Outcome.NOT_RUN: "⏭️ not run",
    Outcome.ERROR: "💥 error",
    Outcome.INCONCLUSIVE: "❔ inconclusive (too noisy)",
}
_VERDICT_LINES = {
    Verdict.PASS: "✅ **Verified**",
    Verdict.FAIL: "❌ **Not reproduced**",
    Verdict.ERROR: "⚠️ **Verification error**",
}
_EXPLAINED = (
    Outcome.MISMATCH,
    Outcome.ERROR,
    Outcome.NOT_RUN,
    Outcome.ABOVE_CLAIM,
    Outcome.INCONCLUSIVE,
)


def _number(value: float | None, digits: int = 4) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ci95(column: ColumnResult) -> str:
    ci = column.get("ci95")
    return "" if not ci else f" (95% CI over clips {ci[0]:.4f}–{ci[1]:.4f})"


def _ensemble(column: ColumnResult) -> str:
    members, mean, sd = column.get("members"), column.get("mean"), column.get("sd")
    if not members or mean is None or sd is None:
        return "–"
    if len(members) == 1:
        return f"{mean:.4f} (K = 1, no spread)"
    return (
        f"{mean:.4f} ± {sd:.4f} (K = {len(members)}, range {min(members):.4f}–{max(members):.4f})"
    )


def _interval(column: ColumnResult) -> str:
    interval = column.get("interval")
    if not interval:
        return "–"
    clip_sd, sd = interval.get("clip_sd"), column.get("sd")
    per_clip = ""
    if clip_sd is not None and sd is not None and clip_sd > sd:
        per_clip = f", from the per-clip sd {clip_sd:.4f}"
    return (
        f"[{interval['low']:.4f}, {interval['high']:.4f}] at {interval['confidence']:.0%} "
        f"(floor {interval['floor']:g}, cap {interval['cap']:g}{per_clip})"
    )


STRIP_WIDTH = 44


def dot_strip(column: ColumnResult, width: int = STRIP_WIDTH) -> str | None:
    """One line of text drawing a judged column to scale: the interval `[═══]`, the members
    `•`, member 0 (the kit's run) `●` and the claim `◆`, between the lowest and the highest
    of them; None when the column has no interval or no claim."""
    interval, claimed = column.get("interval"), column.get("claimed")
    if not interval or claimed is None:
        return None
    members = list(column.get("members") or [])
    values = [interval["low"], interval["high"], claimed, *members]
    low, high = min(values), max(values)
    pad = (high - low) * 0.06 or 0.01
    low, high = low - pad, high + pad

    def at(value: float) -> int:
        return min(width - 1, max(0, round((value - low) / (high - low) * (width - 1))))

    cells = ["─"] * width
    start, end = at(interval["low"]), at(interval["high"])
    for i in range(start, end + 1):
        cells[i] = "═"
    cells[start], cells[end] = "[", "]"
    for member in members[1:]:
        cells[at(member)] = "•"
    if members:
        cells[at(members[0])] = "●"
    cells[at(claimed)] = "◆"
    return f"{low:.4f} {''.join(cells)} {high:.4f}"


def _strips(verification: Verification) -> list[str]:
    """The judged columns drawn to scale, in a code block (GitHub keeps its monospace)."""
    drawn = [(c["column"], dot_strip(c)) for c in verification["columns"]]
    drawn = [(name, strip) for name, strip in drawn if strip]
    if not drawn:
        return []
    label = max(len(name) for name, _ in drawn)
    body = "\n".join(f"{name.ljust(label)}  {strip}" for name, strip in drawn)
    key = "◆ claimed   ● member 0, the kit's run   • other members   [═══] the interval"
    return ["", fenced(f"{body}\n{' ' * label}  {key}")]


def _verification_section(verification: Verification) -> list[str]:
    body = _verification_body(verification)[2:]  # the headline is the comment's first line
    return ["", "#### Verification", "", *body]


def _stage_error_block(verification: Verification) -> list[str]:
    """The stage that failed before any column ran: once, its last lines as they are (pip's
    `ERROR` included), then the log's lines before those."""
    stage_error = verification.get("stage_error")
    if not stage_error:
        return []
    lines = [
        f"**The {text(stage_error['stage'], 40)} stage failed**; nothing after it ran:",
        "",
        fenced(stage_error["message"]),
        "",
    ]
    shown = set(stage_error["message"].split("\n"))
    earlier = [  # the log's lines that the message does not already show
        line for line in stage_error["log_tail"].split("\n") if line.split(": ", 1)[-1] not in shown
    ]
    if earlier:
        lines += [
            f"<details><summary>The {text(stage_error['stage'], 40)} log before that</summary>",
            "",
            fenced("\n".join(earlier)),
            "",
            "</details>",
            "",
        ]
    return lines


def _verification_body(verification: Verification) -> list[str]:
    stand_ins = verification.get("stand_ins") or {}
    lines = [
        _verification_headline(verification),
        "",
        *_stage_error_block(verification),
        "| Column | Claimed | Kit run (member 0) | Members: mean ± sd | Interval | Outcome |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for column in verification["columns"]:
        if column["outcome"] == Outcome.NOT_CLAIMED and column["reproduced"] is None:
            continue
        lines.append(
            f"| {_column_label(column['column'], stand_ins, in_table=True)} | "
            f"{_number(column['claimed'])} | "
            f"{_number(column['reproduced'])}{_ci95(column)} | {_ensemble(column)} | "
            f"{_interval(column)} | {_OUTCOME_MARKS[column['outcome']]} |"
        )
    if any(c.get("interval") for c in verification["columns"]):
        lines += [
            "",
            "A claim is reproduced when it lies in the interval: mean ± t·sd·√(1+1/K) of the K "
            "seed-ensemble members at the published confidence (sd: the larger of the members' "
            "sd and, for accuracy-like metrics, their per-clip sd), never narrower than the "
            "floor; wider than the cap, the column is too noisy to judge (docs/tolerances.md).",
            *_strips(verification),
        ]
    explained = [
        c
        for c in verification["columns"]
        if c["outcome"] in _EXPLAINED
        and not (verification.get("stage_error") and c["outcome"] == Outcome.ERROR)
    ]
    if explained:
        lines += [""]
        for column in explained:
            lines.append(
                f"- {code(column['column'], in_table=False)}: {prose(column['detail'], 1000)}"
            )
    lines += _canary_lines(verification)
    lines += _model_facts(verification)
    failed_checks = [
        c
        for c in verification["conformance"]
        if c["status"] in (CheckStatus.FAIL, CheckStatus.WARN)
    ]
    if failed_checks:
        lines += ["", "| HEAR API check | Status | Detail |", "|---|---|---|"]
        for check in failed_checks:
            lines.append(
                f"| {code(check['name'])} | {check['status']} | {prose(check['detail'])} |"
            )
    tails = [c for c in verification["columns"] if c.get("log_tail")]
    if tails:
        first = tails[0]
        lines += [
            "",
            f"<details><summary>Log tail ({code(first['column'], in_table=False)})</summary>",
            "",
            fenced(first["log_tail"]),
            "",
            "</details>",
        ]
    return lines


def _canary_lines(verification: Verification) -> list[str]:
    """The memorisation canary's flags (docs/security.md): for the maintainer to look at."""
    flagged = [t for t in verification["tasks"] if t.get("canary", {}).get("suspicious")]
    if not flagged:
        return []
    lines = [
        "",
        "> [!WARNING]",
        "> **Memorisation canary: suspicious.** Copies of some test clips, perturbed below "
        "audibility, scored far lower than the clips themselves with the same classifier, as "
        "if the model had looked clips up rather than listened to them. This does not change "
        "the verdict; a maintainer should look before merging.",
    ]
    for task in flagged:
        canary = task["canary"]
        lines.append(
            f"> - {code(task['task_dir'], in_table=False)}: {canary['clips']} clips scored "
            f"{_number(canary['original'])} as given and {_number(canary['perturbed'])} "
            f"perturbed (a drop of {_number(canary['drop'])}; the threshold is "
            f"{canary['threshold']})"
        )
    return lines


def _model_facts(verification: Verification) -> list[str]:
    model = verification["model"]
    environment = verification["environment"]
    timings = verification["timings"]
    cached = verification.get("cached_s") or {}
    stages = ", ".join(
        f"{text(name.removesuffix('_s').replace('_', ' '), 60)} "
        + (
            f"cached (original {cached[name]:.0f} s)"
            if name in cached and cached[name] > 0
            else "cached"
            if name in cached
            else f"{seconds:.0f} s"
        )
        for name, seconds in timings.items()
        if isinstance(seconds, int | float)
    )
    return [
        "",
        "| Model fact | Value |",
        "|---|---|",
        f"| HEAR module | {code(model['hear_module'])} |",
        f"| sample rate | {model['sample_rate']} Hz |",
        f"| embedding sizes | scene {model['scene_embedding_size']}, "
        f"timestamp {model['timestamp_embedding_size']} |",
        f"| install pin | {code(model['install_pin'] or '(none)')} |",
        f"| weights sha256 | {code(model['weights_sha256'] or '(none)')} |",
        f"| device | {code(environment['device'])}, torch {code(environment['torch'])} "
        f"({environment.get('torch_threads', '?')} threads), "
        f"Python {code(environment['python'])} ({environment['installed_from']}) |",
        *(
            [f"| seed ensemble | {_ensemble_fact(environment)} |"]
            if environment.get("seeds")
            else []
        ),
        *(
            ["| evaluation | batched (near mismatches re-checked in exact mode) |"]
            if environment.get("evaluation_mode") == "batched"
            else []
        ),
        *_sandbox_facts(environment.get("sandbox")),
        f"| run time | {stages or '–'} |",
        *_memory_facts(verification.get("memory_mb")),
    ]


def _ensemble_fact(environment: dict[str, Any]) -> str:
    """How the K members were run (bot/evaluation/protocol.py: together on a GPU, else one by
    one with torch seeded 42 + k)."""
    k = int(environment["seeds"])
    if k == 1:
        return "K = 1 per task: the kit's run alone (the interval is its score ± the floor)"
    others = f"members 1–{k - 1}" if k > 2 else "member 1"
    if str(environment.get("device", "")).startswith("cuda"):
        how = "trained together (torch seeded 43)"
    else:
        how = f"one by one (torch seeded 43–{42 + k - 1})" if k > 2 else "torch seeded 43"
    return f"K = {k} per task: member 0 the kit's run, {others} {how}"


def _memory_facts(memory: dict[str, Any] | None) -> list[str]:
    if not memory:
        return []
    stages = ", ".join(
        f"{text(name.replace('-', ' '), 40)} {megabytes:.0f} MB"
        for name, megabytes in memory.items()
        if isinstance(megabytes, int | float)
    )
    return [f"| peak memory | {stages} |"]


def _sandbox_facts(sandbox: dict[str, Any] | None) -> list[str]:
    """How the model was contained (docs/sandbox.md); absent in results of older versions."""
    if not sandbox:
        return []
    limits = sandbox["limits"]
    return [
        f"| sandbox | {code(sandbox['launcher'])}; network {code(sandbox['network'])}; "
        f"limits {limits['wall_s']:g} s, {limits['memory_mb']:g} MB, "
        f"{limits['processes']:g} processes, {limits['output_mb']:g} MB output |"
    ]


def render_markdown(result: ResultDocument, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """The PR comment (and job summary): verdict, problems with fixes, ranks, parsed row.

    ``max_chars`` is the budget when the report is one section of a larger comment."""
    lines = [STICKY_MARKER, "### HEAR leaderboard submission check", "", headline(result)]
    if result.get("verification"):
        lines += _verification_section(result["verification"])
    if result["errors"]:
        lines += ["", f"#### Problems ({len(result['errors'])})", ""]
        lines += _findings_table(result["errors"])
    if result["warnings"]:
        lines += ["", f"#### Warnings ({len(result['warnings'])})", ""]
        lines += _findings_table(result["warnings"])
    lines += _ranks_section(result)
    lines += _row_section(result)
    lines += ["", _footer(result)]
    return _fit("\n".join(lines), max_chars)


def _fit(body: str, max_chars: int) -> str:
    if len(body) <= max_chars:
        return body
    cut = "\n\n… (cut to fit a GitHub comment; the check run and JSON result have it all)"
    return body[: max_chars - len(cut)].rsplit("\n", 1)[0] + cut


def render_verification(result: ResultDocument, max_chars: int = MAX_COMMENT_CHARS) -> str:
    """The verification part of the PR comment (no heading): verdict, per-column table, model
    facts, HEAR API checks, a log tail."""
    verification = result.get("verification")
    if not verification:
        raise ValueError("the result has no verification block")
    return _fit("\n".join(_verification_body(verification)), max_chars)


def _footer(result: dict[str, Any]) -> str:
    pull = result.get("pull_request")
    where = ""
    if pull:
        sha = code(pull["head_sha"][:12], in_table=False)
        where = f" for {code(pull['repository'], in_table=False)} #{pull['number']} at {sha}"
    return (
        f"<sub>hearbot {code(result['tool']['version'], in_table=False)}{where}. "
        "Check locally before pushing: "
        "`hearbot validate --repo . --base origin/main --head HEAD`</sub>"
    )


def render_text(result: ResultDocument) -> str:
    """For a terminal: one block per finding, then ranks."""
    out = []
    status = "ACCEPTABLE" if result["ok"] else "REJECTED"
    submission = result.get("submission")
    model = f" ({_visible(submission['row'].get('Model', ''))})" if submission else ""
    out.append(
        f"{status}{model}: {len(result['errors'])} error(s), {len(result['warnings'])} warning(s)"
    )
    for severity, findings in (("error", result["errors"]), ("warning", result["warnings"])):
        for finding in findings:
            where = f"leaderboard.csv:{finding['line']}" if finding.get("line") else "submission"
            column = f" [{finding['column']}]" if finding.get("column") else ""
            message, fix = _visible(finding["message"], 4000), _visible(finding["fix"], 4000)
            out.append(f"{where}: {severity} {finding['code']}{_visible(column)}: {message}")
            out.append(f"    fix: {fix}")
    for rank in result.get("ranks") or []:
        out.append(
            f"rank: {rank['column']}: {rank['claimed']} would be #{rank['rank']} of {rank['of']}"
        )
    verification = result.get("verification")
    if verification:
        reason = _visible(verification["reason"], 4000)
        out.append(f"VERIFICATION {verification['verdict'].upper()}: {reason}")
        stage_error = verification.get("stage_error")
        if stage_error:  # once, with its own line breaks (each line made inert)
            out.append(f"  the {_visible(stage_error['stage'], 40)} stage failed:")
            out += [f"    {_visible(line, 1000)}" for line in stage_error["message"].split("\n")]
        for column in verification["columns"]:
            if column["outcome"] == Outcome.NOT_CLAIMED:
                continue
            delta = "" if column["delta"] is None else f" (Δ {column['delta']:+.4f})"
            claimed, reproduced = _number(column["claimed"]), _number(column["reproduced"])
            judged = (
                f", members {_ensemble(column)}, interval {_interval(column)}"
                if column.get("interval")
                else ""
            )
            out.append(
                f"  {column['column']}: {column['outcome']}: claimed {claimed}, "
                f"reproduced {reproduced}{delta}{judged}"
            )
            if column["outcome"] in (
                Outcome.MISMATCH,
                Outcome.ERROR,
                Outcome.NOT_RUN,
                Outcome.INCONCLUSIVE,
            ):
                out.append(f"    {_visible(column['detail'], 4000)}")
    return "\n".join(out) + "\n"
