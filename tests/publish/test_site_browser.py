"""The published page as a reader sees it, in Debian's headless Chromium: sort by a column,
filter to verified rows, open a model page; screenshots at desktop and phone width.

Screenshots go to $HEARBOT_SCREENSHOTS (CI uploads that folder as an artifact), else to
out/screenshots/. Chromium is installed by scripts/setup.sh --dev; in CI its absence fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.publish.build import Inputs, publish
from tests.publish.browser import Browser, find_chromium
from tests.publish.scenario import HOSTILE, REPOSITORY, build_board

REPO_ROOT = Path(__file__).resolve().parents[2]


def screenshot_dir() -> Path:
    configured = os.environ.get("HEARBOT_SCREENSHOTS")
    return Path(configured) if configured else REPO_ROOT / "out" / "screenshots"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing in CI: scripts/setup.sh --dev installs it")
        pytest.skip("Chromium is not installed (bash scripts/setup.sh --dev installs it)")
    driver = Browser(executable)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("board")
    board = build_board(root)
    inputs = Inputs(board["repo"] / "leaderboard.csv", board["repo"] / "submissions",
                    board["evidence"])  # fmt: skip
    publish(inputs, root / "site", repository=REPOSITORY, bound_out=None)
    return root / "site"


def test_reader_sorts_filters_and_opens_a_model_page(browser: Browser, site: Path) -> None:
    shots = screenshot_dir()
    browser.viewport(1400, 900)
    browser.open((site / "index.html").as_uri())
    assert browser.js("document.title") == "HEAR leaderboard"
    assert browser.visible_text("#shown") == ["39 of 39 models shown"]
    # the hostile name is shown as text, not run as markup
    assert HOSTILE in browser.visible_text("#board tbody th.model")
    assert browser.js("window.__pwned === undefined && !document.querySelector('tbody script')")

    # sort by ESC-50 (best first): the two newest models tie on overlapping intervals
    browser.click('th[data-key="c4"] button')
    assert browser.js("document.querySelector('th[data-key=\"c4\"]').getAttribute('aria-sort')") \
        == "descending"  # fmt: skip
    names = browser.visible_text("#board tbody tr:not(.hidden) th.model")
    assert names[:2] == ["Acme Verified Net", HOSTILE]
    ranks = browser.visible_text("#board tbody tr:not(.hidden) td.rank")
    assert ranks[:3] == ["=1", "=1", "#3"]
    # the not-run cells sort last, never as zero
    esc50 = browser.js(
        "Array.from(document.querySelectorAll('#board tbody tr td[data-col=\"c4\"]'))"
        ".map(td => td.dataset.value)"
    )
    assert "" not in esc50[: esc50.index("")] if "" in esc50 else True
    assert all(v == "" for v in esc50[esc50.index(""):]) if "" in esc50 else True  # fmt: skip
    browser.js("document.querySelector('.table-wrap').scrollLeft = 0; window.scrollTo(0, 0)")
    browser.screenshot(shots / "leaderboard-desktop-sorted.png")

    # a second click reverses the order
    browser.click('th[data-key="c4"] button')
    first = browser.visible_text("#board tbody tr:not(.hidden) th.model")[0]
    assert first == "IUT-CSE MLP (audio)"  # the lowest ESC-50 score on the board
    browser.click('th[data-key="c4"] button')

    # filter to verified rows
    browser.choose("#tier-filter", "verified")
    assert browser.visible_text("#shown") == ["2 of 39 models shown"]
    assert browser.visible_text("#board tbody tr:not(.hidden) th.model") == [
        "Acme Verified Net",
        HOSTILE,
    ]
    badges = browser.visible_text("#board tbody tr:not(.hidden) .badge")
    assert badges == ["verified", "verified"]
    ci = browser.visible_text("#board tbody tr:not(.hidden) td[data-col='c4'] .ci")
    assert ci == ["[0.975, 1.015]", "[0.975, 1.014]"]

    # the music group hides the other groups' columns, and models with no music score
    browser.choose("#domain-filter", "music")
    headers = browser.visible_text("#board thead th.score")
    assert "GTZAN Genre" in headers and "ESC-50" not in headers and "CREMA-D" not in headers
    assert browser.visible_text("#board tbody tr:not(.hidden) th.model") == ["Acme Verified Net"]
    assert browser.visible_text("#shown") == ["1 of 39 models shown"]
    browser.screenshot(shots / "leaderboard-desktop-verified-music.png")
    browser.choose("#domain-filter", "")
    browser.choose("#tier-filter", "")

    # open a model page by clicking its link
    browser.click('#board tbody th.model a[href="models/acme-verified-net.html"]')
    browser.wait_event("Page.loadEventFired")
    assert browser.visible_text("h1") == ["Acme Verified Net"]
    assert browser.visible_text(".tier-line .badge") == ["verified"]
    row = browser.visible_text('tr[data-column="ESC-50"] td')
    assert row[:6] == [
        "environmental",
        "0.9990",
        "0.9950",
        "-0.0040",
        "[0.990, 1.000]",
        "[0.975, 1.015]",
    ]
    assert row[6:] == ["reproduced", "=1", "verified"]
    links = " ".join(browser.visible_text(".links li"))
    assert "Pull request: #11" in links and "asked by maintainer" in links
    assert "verdict pass" in links
    hrefs = browser.js("Array.from(document.querySelectorAll('.links a')).map(a => a.href)")
    assert "https://github.com/hearbenchmark/hear-leaderboard/pull/11" in hrefs
    assert "https://github.com/hearbenchmark/hear-leaderboard/actions/runs/7002" in hrefs
    assert browser.js("document.querySelectorAll('svg.interval-plot line.ci').length") == 3
    provenance = " ".join(browser.visible_text("dl.provenance dd"))
    assert "NVIDIA H100" in provenance and "c" * 40 in provenance
    assert "12.8 / 570.86.15" in provenance  # CUDA / driver
    browser.screenshot(shots / "model-desktop.png")

    # the overridden row says who accepted it and why
    browser.open((site / "models" / "bolt-override-net.html").as_uri())
    assert browser.visible_text(".tier-line .badge") == ["overridden"]
    assert "accept by lead-maintainer" in " ".join(browser.visible_text(".links li"))

    # phone width: the table scrolls inside its box, the page itself does not
    browser.viewport(390, 844, mobile=True)
    browser.open((site / "index.html").as_uri())
    assert browser.js("document.documentElement.scrollWidth <= window.innerWidth + 1")
    assert browser.js(
        "(() => { const w = document.querySelector('.table-wrap');"
        " return w.scrollWidth > w.clientWidth; })()"
    )
    browser.screenshot(shots / "leaderboard-phone.png", full_page=False)
    browser.open((site / "models" / "acme-verified-net.html").as_uri())
    assert browser.js("document.documentElement.scrollWidth <= window.innerWidth + 1")
    browser.screenshot(shots / "model-phone.png")
    for name in ("leaderboard-desktop-sorted.png", "leaderboard-phone.png", "model-phone.png"):
        assert (shots / name).stat().st_size > 5_000
