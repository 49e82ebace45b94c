"""The static site ``hearbot publish`` builds: index.html (the sortable, filterable table),
models/<page>.html (one per row: claimed vs reproduced, the interval plot, provenance, links),
leaderboard.json (for other sites), style.css and table.js (vanilla, no framework).

Every value from leaderboard.csv or a record is untrusted text: it reaches HTML only through
``esc`` (or as a number formatted here), and a link only when it is an ``https://`` URL.
The pages work without JavaScript; table.js only sorts and filters rows already in the page.
The output depends only on its inputs (no clock), so a re-run writes identical bytes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.common.fileio import write_atomic
from bot.common.schemas import leaderboard_facts
from bot.publish.tiers import TIE_RULE, TIER_MEANING, TIERS, ColumnEntry, Entry

ASSETS = Path(__file__).with_name("assets")
DOMAINS = ("environmental", "music", "speech")
TIER_SHORT = {"verified": "V", "overridden": "O", "validated": "C", "self-reported": "S"}
JSON_SCHEMA_VERSION = 1


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain https:// URL (no spaces, quotes or angle brackets)."""
    if not url or not url.startswith("https://") or len(url) > 2000:
        return None
    if any(ch.isspace() or ch in "\"'<>`\\" or ord(ch) < 32 for ch in url):
        return None
    return url


def link(url: str | None, text: str) -> str:
    target = safe_url(url)
    if target is None:
        return esc(text)
    return f'<a href="{esc(target)}" rel="nofollow noopener">{esc(text)}</a>'


def fmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def badge(tier: str | None) -> str:
    if tier is None:
        return ""
    return (
        f'<span class="badge tier-{esc(tier)}" title="{esc(tier)}: {esc(TIER_MEANING[tier])}">'
        f"{esc(tier)}</span>"
    )


def rank_text(column: ColumnEntry) -> str:
    if column.rank is None:
        return ""
    return f"={column.rank}" if column.tied else f"#{column.rank}"


def build_site(entries: Sequence[Entry], out: Path, *, repository: str | None = None) -> list[Path]:
    """Write the site into ``out``; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []

    def put(name: str, data: bytes) -> None:
        path = out / name
        write_atomic(path, data, durable=False)
        written.append(path)

    put("style.css", (ASSETS / "style.css").read_bytes())
    put("table.js", (ASSETS / "table.js").read_bytes())
    put("index.html", render_index(entries, repository).encode())
    put("leaderboard.json", leaderboard_json(entries))
    for entry in entries:
        put(f"models/{entry.page}.html", render_model(entry, repository).encode())
    return written


def leaderboard_json(entries: Sequence[Entry]) -> bytes:
    facts = leaderboard_facts()
    document = {
        "schema_version": JSON_SCHEMA_VERSION,
        "tiers": [{"tier": t, "meaning": TIER_MEANING[t]} for t in TIERS],
        "ties": TIE_RULE,
        "columns": [
            {
                "column": c.name,
                "domain": c.domain,
                "higher_is_better": c.higher_is_better,
                "rule": {"floor": c.floor, "cap": c.cap, "confidence": c.confidence},
            }
            for c in facts.columns
        ],
        "rows": [entry.as_json() for entry in entries],
    }
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False).encode() + b"\n"


def _page(title: str, body: str, *, root: str, script: bool) -> str:
    js = f'<script src="{root}table.js" defer></script>' if script else ""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        f'<link rel="stylesheet" href="{root}style.css">{js}</head>\n'
        f"<body>{body}</body></html>\n"
    )


def _legend() -> str:
    items = "".join(
        f'<li><span class="mini tier-{t}" aria-hidden="true">{TIER_SHORT[t]}</span> '
        f"{badge(t)} {esc(TIER_MEANING[t])}</li>"
        for t in TIERS
    )
    return (
        '<section class="legend" aria-label="How to read this table">'
        f"<ul>{items}</ul>"
        f"<p>{esc(TIE_RULE)} A row's tier is the weakest tier of its claimed columns. "
        "Scores are shown with three decimals (the CSV keeps every digit); an empty cell "
        "is a task the model was not run on, never a zero, and it sorts last.</p></section>"
    )


def render_index(entries: Sequence[Entry], repository: str | None) -> str:
    facts = leaderboard_facts()
    tier_options = "".join(f'<option value="{t}">{esc(t)}</option>' for t in TIERS)
    domain_options = "".join(f'<option value="{d}">{esc(d)}</option>' for d in DOMAINS)
    head_cells = [
        '<th scope="col" data-key="rank" class="num" title="rank in the sorted task column; '
        '=N: statistically tied (see below)">Rank</th>',
        '<th scope="col" data-key="model" data-type="text" aria-sort="none">'
        '<button type="button">Model</button></th>',
        '<th scope="col" data-key="tier" data-type="tier" aria-sort="none">'
        '<button type="button">Tier</button></th>',
    ]
    for index, column in enumerate(facts.columns):
        direction = "desc" if column.higher_is_better else "asc"
        head_cells.append(
            f'<th scope="col" class="num score" data-key="c{index}" data-type="score" '
            f'data-domain="{esc(column.domain)}" data-best="{direction}" aria-sort="none">'
            f'<button type="button">{esc(column.name)}</button></th>'
        )
    body_rows = [_index_row(entry) for entry in entries]
    source = (
        f' from <a href="https://github.com/{esc(repository)}">{esc(repository)}</a>'
        if repository and safe_url(f"https://github.com/{repository}")
        else ""
    )
    body = (
        "<header><h1>HEAR leaderboard</h1>"
        f"<p>{len(entries)} models{source}. Each score carries its tier; sort by a task to "
        "rank the models on it; "
        'machine-readable: <a href="leaderboard.json">leaderboard.json</a>.</p></header>'
        '<form class="filters" id="filters">'
        f'<label>Tier <select id="tier-filter"><option value="">all</option>{tier_options}'
        "</select></label>"
        f'<label>Task group <select id="domain-filter"><option value="">all</option>'
        f"{domain_options}</select></label>"
        '<label>Model <input id="model-filter" type="search" placeholder="filter by name">'
        '</label><output id="shown" aria-live="polite"></output></form>'
        '<div class="table-wrap"><table id="board"><thead><tr>'
        + "".join(head_cells)
        + "</tr></thead><tbody>"
        + "".join(body_rows)
        + "</tbody></table></div>"
        + _legend()
    )
    return _page("HEAR leaderboard", body, root="", script=True)


def _index_row(entry: Entry) -> str:
    cells = [
        '<td class="num rank"></td>',
        f'<th scope="row" class="model" data-value="{esc(entry.row.model.casefold())}">'
        f'<a href="models/{esc(entry.page)}.html">{esc(entry.row.model)}</a></th>',
        f'<td data-value="{TIERS.index(entry.tier)}">{badge(entry.tier)}</td>',
    ]
    for index, column in enumerate(entry.columns):
        value = "" if column.claimed is None else repr(column.claimed)
        attrs = (
            f'class="num score" data-col="c{index}" data-domain="{esc(column.domain)}" '
            f'data-value="{value}" data-rank="{column.rank or ""}" '
            f'data-tied="{"1" if column.tied else ""}"'
        )
        if column.claimed is None:
            shown = '<span class="empty" title="not run">·</span>'
            if column.cell.strip():
                shown = f'<span class="unparsed">{esc(column.cell)}</span>'
            cells.append(f"<td {attrs}>{shown}</td>")
            continue
        ci = ""
        if column.ci95:
            ci = (
                f'<span class="ci" title="95% interval of the reproduced score">'
                f"[{fmt(column.ci95[0])}, {fmt(column.ci95[1])}]</span>"
            )
        title = f"{column.column}: {column.cell} ({column.tier}; rank {rank_text(column)})"
        cells.append(
            f'<td {attrs} title="{esc(title)}"><span class="score-value">'
            f"{fmt(column.claimed)}</span>"
            f'<span class="mini tier-{esc(column.tier or "")}" aria-label="{esc(column.tier)}">'
            f"{TIER_SHORT.get(column.tier or '', '')}</span>{ci}</td>"
        )
    return (
        f'<tr data-tier="{esc(entry.tier)}" data-order="{entry.row.line}">'
        + "".join(cells)
        + "</tr>"
    )


def render_model(entry: Entry, repository: str | None) -> str:
    row = entry.row
    pr = entry.pull_request
    links = [f"<li>Model URL: {link(row.url, row.url)}</li>"]
    if pr:
        links.append(f"<li>Pull request: {link(pr['url'], '#' + str(pr['number']))}</li>")
    if entry.verification:
        run = entry.verification["run"]["url"]
        head = entry.verification["pull_request"]["head_sha"]
        links.append(
            f"<li>Verification run: {link(run, run or 'not recorded')} at commit "
            f"<code>{esc(head)}</code>, asked by {esc(entry.verification['triggered_by'])} "
            f"({esc(entry.verification['recorded_at'])}); verdict "
            f"<strong>{esc(entry.verification['verdict'])}</strong></li>"
        )
    if entry.override:
        o = entry.override["override"]
        links.append(
            f"<li>Override: <strong>{esc(o['decision'])}</strong> by {esc(o['by'])} "
            f"({esc(entry.override['recorded_at'])}): {esc(o['reason'])}; "
            f"{link(entry.override['run']['url'], 'run')}</li>"
        )
    rows = []
    for column in entry.columns:
        if column.tier is None and column.outcome is None:
            continue
        ci = f"[{fmt(column.ci95[0])}, {fmt(column.ci95[1])}]" if column.ci95 else "–"
        interval = column.interval
        judged = f"[{fmt(interval['low'])}, {fmt(interval['high'])}]" if interval else "–"
        rows.append(
            f'<tr data-column="{esc(column.column)}"><th scope="row">{esc(column.column)}</th>'
            f"<td>{esc(column.domain)}</td>"
            f'<td class="num claimed">{esc(column.cell)}</td>'
            f'<td class="num reproduced">{fmt(column.reproduced, 4)}</td>'
            f'<td class="num">{fmt(column.delta, 4)}</td>'
            f'<td class="num interval">{judged}</td>'
            f'<td class="num ci95">{ci}</td>'
            f"<td>{esc(column.outcome or '–')}</td>"
            f'<td class="num">{esc(rank_text(column))}</td>'
            f"<td>{badge(column.tier)}</td></tr>"
        )
    table = (
        '<div class="table-wrap"><table class="columns"><thead><tr>'
        '<th scope="col">Column</th><th scope="col">Group</th>'
        '<th scope="col" class="num">Claimed</th><th scope="col" class="num">Reproduced</th>'
        '<th scope="col" class="num">Δ</th>'
        '<th scope="col" class="num" title="the verdict\'s prediction interval from the seed '
        'ensemble">Judged against</th>'
        '<th scope="col" class="num" title="bootstrap over test clips">95% interval</th>'
        '<th scope="col">Outcome</th>'
        '<th scope="col" class="num">Rank</th><th scope="col">Tier</th>'
        "</tr></thead><tbody>" + "".join(rows) + "</tbody></table></div>"
    )
    body = (
        '<nav><a href="../index.html">← HEAR leaderboard</a></nav>'
        f"<header><h1>{esc(row.model)}</h1>"
        f'<p class="tier-line">{badge(entry.tier)} <span class="note">{esc(entry.note)}</span>'
        f"</p><p>Submitted {esc(row.date)}; line {row.line} of leaderboard.csv.</p></header>"
        f'<ul class="links">{"".join(links)}</ul>'
        "<h2>Claimed and reproduced, per column</h2>"
        + table
        + "<h2>Interval plot</h2>"
        + interval_plot(entry.columns)
        + _provenance(entry)
    )
    return _page(f"{row.model} · HEAR leaderboard", body, root="../", script=False)


def interval_plot(columns: Sequence[ColumnEntry]) -> str:
    """An inline SVG: per claimed column, the claim (diamond), the reproduced score (dot),
    the seed ensemble's members (small dots), the interval the claim was judged against
    (shaded) and the score's 95% interval over test clips (bar)."""
    shown = [c for c in columns if c.claimed is not None]
    if not shown:
        return "<p>No scores to plot.</p>"
    label_w, plot_w, row_h, top = 190, 420, 22, 28
    width, height = label_w + plot_w + 20, top + row_h * len(shown) + 10

    def x(value: float) -> float:
        return round(label_w + max(0.0, min(1.0, value)) * plot_w, 1)

    parts = [
        '<div class="plot-wrap">'
        f'<svg class="interval-plot" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="claimed and reproduced scores with intervals" '
        f'xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{x(tick)}" y1="{top - 6}" x2="{x(tick)}" y2="{height - 6}" '
            'class="grid"/>'
            f'<text x="{x(tick)}" y="{top - 10}" class="tick">{tick:g}</text>'
        )
    for i, column in enumerate(shown):
        y = top + i * row_h + row_h / 2
        assert column.claimed is not None
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 4}" class="label">{esc(column.column)}</text>'
        )
        if column.interval:
            low, high = column.interval["low"], column.interval["high"]
            parts.append(
                f'<rect x="{x(low)}" y="{y - 7}" width="{round(x(high) - x(low), 1)}" '
                f'height="14" class="band"><title>judged against [{fmt(low)}, {fmt(high)}]'
                "</title></rect>"
            )
        for member in column.members or []:
            parts.append(
                f'<circle cx="{x(member)}" cy="{y + 5}" r="1.8" class="member">'
                f"<title>member {fmt(member, 4)}</title></circle>"
            )
        if column.ci95:
            parts.append(
                f'<line x1="{x(column.ci95[0])}" y1="{y}" x2="{x(column.ci95[1])}" y2="{y}" '
                f'class="ci"><title>95% interval {fmt(column.ci95[0])} to '
                f"{fmt(column.ci95[1])}</title></line>"
            )
        cx = x(column.claimed)
        parts.append(
            f'<path d="M{cx} {y - 6} L{cx + 6} {y} L{cx} {y + 6} L{cx - 6} {y} Z" '
            f'class="claim"><title>claimed {esc(column.cell)}</title></path>'
        )
        if column.reproduced is not None:
            parts.append(
                f'<circle cx="{x(column.reproduced)}" cy="{y}" r="4.5" '
                f'class="repro tier-{esc(column.tier or "")}"><title>reproduced '
                f"{fmt(column.reproduced, 4)}</title></circle>"
            )
    parts.append("</svg></div>")
    key = (
        '<p class="plot-key">◆ claimed · ● reproduced (the kit-identical run) · • the seed '
        "ensemble's members · ▬ 95% interval over test clips · shaded: the interval the claim "
        "was judged against.</p>"
    )
    return "".join(parts) + key


def _provenance(entry: Entry) -> str:
    record = entry.verification
    if record is None:
        return "<h2>Provenance</h2><p>No verification record is bound to this row.</p>"
    p: dict[str, Any] = record["provenance"]
    fields = [
        ("hearbot", f"{p['hearbot_version']} at {p['hearbot_commit'] or 'unknown commit'}"),
        ("Install pin", p["install_pin"]),
        ("Weights sha256", p["weights_sha256"] or "not recorded"),
        ("Device", p["device"]),
        ("CUDA / driver", f"{p.get('cuda') or '–'} / {p.get('driver') or '–'}"),
        ("Python / torch", f"{p['python']} / {p['torch']}"),
        ("Evaluation mode", p.get("evaluation_mode") or "exact"),
        ("Sandbox", json.dumps(p["sandbox"], sort_keys=True)),
        ("Timings (s)", ", ".join(f"{k} {v:g}" for k, v in sorted(record["timings"].items()))),
        ("Row sha256", entry.row.row_sha256),
        ("Manifest sha256", entry.manifest_sha256 or "–"),
        ("Records bound", str(len(entry.records))),
    ]
    items = "".join(f"<dt>{esc(k)}</dt><dd><code>{esc(v)}</code></dd>" for k, v in fields)
    return f'<h2>Provenance</h2><dl class="provenance">{items}</dl>'
