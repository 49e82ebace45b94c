"""Rendering a result for people: the PR comment must stay inert whatever a submitter wrote.

The Markdown is rendered with cmark-gfm (GitHub's parser) with raw HTML allowed, so that any
HTML that leaked through would show up in the output.
"""

from __future__ import annotations

import copy
import re

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.report import (
    MAX_COMMENT_CHARS,
    STICKY_MARKER,
    code,
    prose,
    render_markdown,
    render_text,
    text,
)
from tests.rowgen import NEW_LINE, append, check, make_row

HOSTILE = (
    "@octocat [x](https://evil.example) <img src=x onerror=alert(1)> | "
    "![i](https://e.x/a.png) <!-- hearbot:sticky-comment --> `tick` ``two`` <script>x</script>"
)
ALLOWED_TAGS = "h3|h4|p|strong|em|code|table|thead|tbody|tr|th|td|details|summary|sub|br|del"


def html_of(markdown: str) -> str:
    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def outside_code(html: str) -> str:
    return re.sub(r"<code>.*?</code>", "", html, flags=re.S)


def assert_inert(markdown: str) -> str:
    html = html_of(markdown)
    # The only HTML comment is our own marker, at the very top.
    marker = 1 if markdown.startswith(STICKY_MARKER) else 0
    assert markdown.count(STICKY_MARKER) == marker
    assert html.count("<!--") == marker
    html = html.replace(STICKY_MARKER, "", 1)
    assert "<a " not in html and "<img" not in html and "<script" not in html.lower()
    stray = re.findall(rf"<(?!/?(?:{ALLOWED_TAGS})\b)[A-Za-z!/?]", html)
    assert stray == [], stray
    assert not re.search(r"@[A-Za-z0-9]", outside_code(html)), "an @mention survived"
    for table in re.findall(r"<table>.*?</table>", html, flags=re.S):
        rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)
        counts = {len(re.findall(r"<t[hd][ >]", row)) for row in rows}
        assert len(counts) == 1, f"rows with different cell counts: {counts}"
    return html


def assert_cell_intact(html: str, value: str) -> None:
    """``value`` is shown whole inside one table cell: no pipe split it into more cells."""
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    cells = re.findall(r"<td>(.*?)</td>", html, flags=re.S)
    assert any(escaped in cell for cell in cells), escaped


def hostile_result(name: str = HOSTILE):
    """A real result whose row, messages and fixes echo the hostile text."""
    result = check(append(make_row(model=name)))
    forged = copy.deepcopy(result)
    finding = {
        "code": "manifest-mismatch",
        "line": NEW_LINE,
        "column": name,
        "message": f"`model` is {name!r} but the row's Model is `{name}` and {name}",
        "fix": f"Make `model` exactly {name}",
    }
    forged["errors"].append(finding)
    forged["warnings"].append(dict(finding, code="claims-top-rank"))
    forged["ok"] = False
    return forged


def test_hostile_model_name_is_inert():
    markdown = render_markdown(hostile_result())
    assert markdown.count(STICKY_MARKER) == 1
    assert markdown.startswith(STICKY_MARKER)
    html = assert_inert(markdown)
    # The name is still shown whole, in one cell, so reviewers see what was submitted.
    assert_cell_intact(html, HOSTILE.replace("<!--", "<!\\-\\-"))


def test_hostile_names_in_the_multiple_rows_message_are_inert():
    rows = [make_row(model=f"Acme {HOSTILE} {i}") for i in range(3)]
    result = check(append(*rows))
    echoed = "Acme @octocat [x](https://evil.example) <img"
    assert any(echoed in f["message"] for f in result["errors"])
    markdown = render_markdown(result)
    assert markdown.count(STICKY_MARKER) == 1
    assert_inert(markdown)


def test_hostile_pull_request_fields_are_inert():
    result = check(append(make_row()))
    result["tool"]["version"] = HOSTILE[:50]
    result["pull_request"] = {
        "repository": "acme/leaderboard",
        "number": 7,
        "head_sha": "a" * 40,
        "base_sha": "b" * 40,
    }
    markdown = render_markdown(result)
    assert markdown.count(STICKY_MARKER) == 1
    assert "acme/leaderboard" in markdown and "#7" in markdown
    assert_inert(markdown)


def test_valid_result_says_so():
    markdown = render_markdown(check(append(make_row())))
    assert "✅ **Valid submission**" in markdown
    assert "`Acme Labs AcmeNet-base`" in markdown
    assert_inert(markdown)


def test_rejected_result_lists_codes_and_fixes():
    result = check(append(make_row(scores={"ESC-50": "81.2"})))
    markdown = render_markdown(result)
    assert "❌ **Not accepted yet**: 1 problem(s) to fix (`score-range`)" in markdown
    html = assert_inert(markdown)
    assert "<code>0.812</code>" in html


def test_ranks_section_claims_first_place():
    result = check(append(make_row(default_score="", scores={"ESC-50": "0.99"})))
    markdown = render_markdown(result)
    # The preview once: the table (numbers in one format), and the warning; no third sentence.
    assert "| `ESC-50` | 0.9900 | **#1** of 35 | 0.9665 |" in markdown
    assert markdown.count("#1") == 2, markdown
    assert "claims-top-rank" in markdown


def test_no_first_place_claim_for_a_low_score():
    result = check(append(make_row(default_score="", scores={"ESC-50": "0.1"})))
    assert "**#1**" not in render_markdown(result)


def test_thousands_of_findings_fit_in_a_comment():
    result = hostile_result()
    many = []
    for index in range(5000):
        many.append(
            {
                "code": "row-modified",
                "line": index + 2,
                "column": "Model",
                "message": f"Existing row {index} {'@x <b>|' * 200} was changed.",
                "fix": "`" + "y" * 3000 + "` then " + "@z|" * 500,
            }
        )
    result["errors"] = many
    result["warnings"] = many
    markdown = render_markdown(result)
    assert len(markdown) <= MAX_COMMENT_CHARS
    assert markdown.count(STICKY_MARKER) == 1
    assert "… and 4940 more" in markdown or "cut to fit a GitHub comment" in markdown
    assert_inert(markdown)


def test_render_text_shows_invisible_characters():
    result = check(append(make_row(model="Acme \u202eteN \u200bX")))
    output = render_text(result)
    assert output.startswith("REJECTED")
    assert "\u202e" not in output and "\u200b" not in output
    assert "\\u202e" in output
    assert f"leaderboard.csv:{NEW_LINE}: error forbidden-character [Model]:" in output
    assert "    fix: " in output


def test_render_text_for_an_accepted_row():
    result = check(append(make_row(default_score="", scores={"ESC-50": "0.5"})))
    output = render_text(result)
    assert output.startswith("ACCEPTABLE (Acme Labs AcmeNet-base): 0 error(s), 1 warning(s)")
    assert "rank: ESC-50: 0.5 would be #" in output


# ------------------------------------------------------------------ the escaping primitives

_PIECES = st.sampled_from(
    [
        *"@`|\\<>![]()*_~#&;:/.-=+ \"'abcxyz019\n\t",
        *["<!--", "-->", "www.", "https://", "@octocat", "<img src=x>", "&#64;", "\u200b"],
    ]
)
_HOSTILE_TEXT = st.lists(_PIECES, max_size=30).map("".join)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(value=_HOSTILE_TEXT, render=st.sampled_from([code, text, prose]))
def test_any_text_stays_inside_its_table_cell(value, render):
    markdown = "| A | B |\n|---|---|\n| " + render(value) + " | z |\n"
    assert STICKY_MARKER not in markdown
    html = assert_inert(markdown)
    assert html.count("<td>") == 2


def test_prose_keeps_an_unpaired_backtick():
    html = html_of(prose("The model name 'Acme`Net' is taken."))
    assert "Acme`Net" in html


def test_valid_verdict_shows_a_pipe_in_the_name_as_is():
    result = check(append(make_row(model="Acme|Net base")))
    assert result["ok"] is True
    verdict = render_markdown(result).split("\n")[3]
    assert "<code>Acme|Net base</code>" in html_of(verdict)


def test_code_shows_the_value_exactly_in_a_table():
    for value in ["a|b", "x`y", "``", " lead", "\\|", "<!-- hearbot:sticky-comment -->"]:
        markdown = "| A |\n|---|\n| " + code(value) + " |\n"
        html = html_of(markdown)
        cell = re.search(r"<td><code>(.*?)</code></td>", html, flags=re.S)
        assert cell, html
        shown = cell.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        if value != STICKY_MARKER:
            assert shown.strip() == value.strip()


@pytest.mark.parametrize(
    "raw",
    [
        "[x](https://evil.example)",
        "<img src=x onerror=alert(1)>",
        "hi @octocat",
        "<!-- hearbot:sticky-comment -->",
        "<div>x</div>",
    ],
)
def test_the_inertness_check_catches_unescaped_text(raw):
    with pytest.raises(AssertionError):
        assert_inert("text\n\n" + raw + "\n")


def _marker_forgeries() -> str:
    from bot.github.sticky import SECTION_ORDER, section_end, section_start

    markers = [STICKY_MARKER]
    for name in SECTION_ORDER:
        markers += [section_start(name), section_end(name)]
    return "\n".join(markers) + "\n"


def test_submitted_text_cannot_forge_a_section_marker():
    from bot.github.sticky import compose, parse_sections
    from bot.report import render_verification
    from tests.github.verification_result import verification_result

    forged = _marker_forgeries()
    validation = render_markdown(check(append(make_row(model="Acme " + forged))))
    result = verification_result("fail", reason=forged)
    verification = result["verification"]
    verification["model"]["hear_module"] = forged
    verification["timings"] = {forged: 1.0}
    verification["conformance"] = [{"name": forged, "status": "fail", "detail": forged}]
    column = verification["columns"][0]
    column.update(detail=forged, log_tail=forged)
    rendered = render_verification(result)
    assert "Acme" in validation and "fake" not in rendered

    body = compose(compose(None, "validation", validation), "verification", rendered)

    assert parse_sections(body) == {
        "validation": validation.replace(STICKY_MARKER, "").strip("\n"),
        "verification": rendered,
    }
    for marker in _marker_forgeries().split():
        if marker.startswith("hearbot:"):
            assert body.count("<!-- " + marker) <= 1, marker
    assert body.count(STICKY_MARKER) == 1
    assert "<!--" not in html_of(rendered)
    assert "<!--" not in html_of(validation).replace(STICKY_MARKER, "", 1)


def test_the_forgery_check_has_teeth():
    from bot.github.sticky import compose, parse_sections

    raw = "ok\n" + _marker_forgeries()
    assert parse_sections(compose(None, "validation", raw)) != {"validation": raw.strip("\n")}


def test_a_log_tail_cannot_carry_a_workflow_command_or_a_stamped_line():
    from bot.report import fenced

    tail = "12:00:01 embed x: [model] x\r::error title=forged::pwned\u202812:00:00 verify: pass"
    lines = fenced(tail + "\n  ::add-mask::x\x85::notice::y").splitlines()
    assert lines[1:-1] == [
        "12:00:01 embed x: [model] x\\u000d::error title=forged::pwned\\u202812:00:00 verify: pass",
        "  \\u003a:add-mask::x\\u0085::notice::y",
    ]
    assert not any(line.lstrip().startswith("::") for line in lines)


def test_the_dot_strip_draws_interval_members_and_claim_to_scale() -> None:
    from bot.report import dot_strip

    column = {
        "claimed": 0.99,
        "members": [0.875, 0.894, 0.881],
        "interval": {"low": 0.84, "high": 0.93},
    }
    strip = dot_strip(column, width=40)
    assert strip is not None
    low, cells, high = strip.split(" ")
    assert float(low) < 0.84 and float(high) > 0.99 and len(cells) == 40
    # The claim lies right of the interval's end; member 0 and the others inside it.
    assert cells.index("[") < cells.index("●") < cells.index("]") < cells.index("◆")
    assert cells.count("•") == 2 and cells.count("◆") == 1
    inside = {"claimed": 0.88, "members": [0.875, 0.894], "interval": {"low": 0.84, "high": 0.93}}
    inner = dot_strip(inside, width=40)
    assert inner is not None
    assert inner.index("[") < inner.index("◆") < inner.index("]")
    assert dot_strip({"claimed": None, "interval": {"low": 0, "high": 1}}) is None
    assert dot_strip({"claimed": 0.5, "members": [0.5]}) is None


def test_the_ensemble_fact_says_how_members_ran() -> None:
    from bot.report import _ensemble_fact

    assert _ensemble_fact({"seeds": 5, "device": "cpu"}) == (
        "K = 5 per task: member 0 the kit's run, members 1–4 one by one (torch seeded 43–46)"
    )
    assert "trained together" in _ensemble_fact({"seeds": 5, "device": "cuda (NVIDIA H100)"})
    assert "alone" in _ensemble_fact({"seeds": 1, "device": "cpu"})


def test_the_interval_cell_names_the_per_clip_sd_when_it_set_the_width() -> None:
    from bot.report import _interval

    facts = {"low": 0.7, "high": 0.9, "confidence": 0.99, "floor": 0.005, "cap": 0.1}
    used = _interval({"sd": 0.01, "interval": {**facts, "clip_sd": 0.0162}})  # type: ignore[typeddict-item]
    assert used == "[0.7000, 0.9000] at 99% (floor 0.005, cap 0.1, from the per-clip sd 0.0162)"
    smaller = _interval({"sd": 0.02, "interval": {**facts, "clip_sd": 0.0162}})  # type: ignore[typeddict-item]
    assert smaller == _interval({"sd": 0.02, "interval": facts})  # type: ignore[typeddict-item]
    assert "per-clip" not in smaller
