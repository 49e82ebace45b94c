"""A PR comment as a person sees it: rendered by GitHub's own Markdown library (cmark-gfm) and
screenshot in headless Chromium.

`python -m tests.screenshots RESULT.json OUT.png [--width 1000]` renders one result's comment.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import cmarkgfm
from cmarkgfm.cmark import Options

from bot.report import render_markdown

# Close to github.com's comment styles: what matters is that tables, code spans, fenced blocks
# and <details> look as they do there.
STYLE = """
body { font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
       font-size: 14px; line-height: 1.5; color: #1f2328; margin: 16px; max-width: 960px; }
h3 { font-size: 1.25em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; }
h4 { font-size: 1em; }
table { border-collapse: collapse; margin: 8px 0; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
th { font-weight: 600; background: #f6f8fa; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 85%;
       background: rgba(129,139,152,.12); padding: .2em .4em; border-radius: 6px; }
pre { background: #f6f8fa; padding: 16px; border-radius: 6px; overflow: auto; }
pre code { background: none; padding: 0; font-size: 85%; }
details { margin: 8px 0; }
sub { color: #59636e; }
"""


def comment_html(markdown: str) -> str:
    """The comment as GitHub renders Markdown (cmark-gfm, its tables and autolinks), in a page.
    All <details> are opened so a screenshot shows what they hold."""
    body = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    body = body.replace("<details>", "<details open>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def screenshot(markdown: str, out: Path, width: int = 1000, height: int | None = None) -> Path:
    """``out`` (PNG): the rendered comment in headless Chromium, tall enough for all of it."""
    browser = chromium()
    if browser is None:
        raise RuntimeError("Chromium is not installed (scripts/setup.sh --dev installs it)")
    out.parent.mkdir(parents=True, exist_ok=True)
    html = comment_html(markdown)
    height = height or 400 + 24 * html.count("<tr>") + 20 * markdown.count("\n")
    with tempfile.TemporaryDirectory() as folder:
        page = Path(folder) / "comment.html"
        page.write_text(html, encoding="utf-8")
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={folder}/profile",
                f"--screenshot={out.resolve()}",
                f"--window-size={width},{height}",
                page.as_uri(),
            ],
            capture_output=True,
            timeout=120,
            check=True,
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("result")
    parser.add_argument("out")
    parser.add_argument("--width", type=int, default=1000)
    args = parser.parse_args()
    result = json.loads(Path(args.result).read_text(encoding="utf-8"))
    print(screenshot(render_markdown(result), Path(args.out), args.width))


if __name__ == "__main__":
    main()
