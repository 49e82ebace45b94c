"""The submitter's path: the exact pins of a submission (a URL-pinned wheel, weights by sha256)
verified locally with no network, from `--find-links` and `--weights-file`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.common.schemas import schema_errors
from bot.demo import build_example_wheel
from tests.screenshots import chromium, comment_html, screenshot
from tests.verify.conftest import error_text
from tests.verify.test_verify import TODAY, write_submission

EXAMPLE_MODEL = Path(__file__).resolve().parents[2] / "examples" / "hear_example_model"


def _no_network(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"the run reached for the network: {args}")


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No trusted download either: any `requests.get` fails the test (the sandbox itself has
    no network without --package-index)."""
    import requests

    monkeypatch.setattr(requests, "get", _no_network)
    monkeypatch.delenv("PYTHONPATH", raising=False)


def url_pinned_submission(folder: Path, wheel: Path, weights: Path | None) -> list[str]:
    """A submission as the README's first pin form writes it: the wheel by https URL and
    sha256, the weights by URL and sha256."""
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    changes: dict[str, object] = {
        "install": [f"hear-example-model @ https://example.org/dist/{wheel.name}#sha256={digest}"]
    }
    if weights is not None:
        changes["weights"] = {
            "url": "https://example.org/weights/example.json",
            "sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        }
    return write_submission(folder, "Demo offline pins", {"ESC-50": "0.5"}, **changes)


def run(arguments: list[str], out: Path, *extra: str) -> tuple[int, dict]:
    code = main(
        [
            "verify",
            *arguments,
            "--stand-ins",
            "synth",
            "--out",
            str(out),
            "--max-epochs",
            "20",
            "--seeds",  # one member: the interval is its score ± the floor (the rule's K = 1)
            "1",
            "--today",
            TODAY.isoformat(),
            *extra,
        ]
    )
    result = json.loads((out / "result.json").read_text())
    assert schema_errors("result.schema.json", result) == []
    return code, result


def write_weights(path: Path) -> Path:
    sys.path.insert(0, str(EXAMPLE_MODEL))
    try:
        import hear_example_model

        hear_example_model.save_weights(hear_example_model.load_model(), str(path))
    finally:
        sys.path.remove(str(EXAMPLE_MODEL))
    return path


def test_url_pinned_wheel_and_weights_file_reach_a_verdict_offline(
    tmp_path: Path, offline: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dist = tmp_path / "dist"
    wheel = build_example_wheel(dist)
    weights = write_weights(tmp_path / "my-weights.json")
    arguments = url_pinned_submission(tmp_path / "sub", wheel, weights)
    renamed = wheel.rename(dist / "downloaded-copy.whl")  # found by content, not by name
    out = tmp_path / "out"

    # As the README writes it: paths relative to the submitter's checkout.
    monkeypatch.chdir(tmp_path)
    code, result = run(
        arguments, Path("out"), "--find-links", "dist", "--weights-file", weights.name
    )

    verification = result["verification"]
    assert verification["verdict"] in ("pass", "fail"), verification["reason"]
    assert code in (0, 1)
    esc = next(c for c in verification["columns"] if c["column"] == "ESC-50")
    assert esc["outcome"] in ("reproduced", "mismatch", "above-claim")
    assert esc["task_dirs"] == ["synth_tones-1.0.0-full"]
    names = {item["name"].lower() for item in verification["environment"]["provenance"]}
    assert "hear-example-model" in names
    assert (
        verification["model"]["weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    )
    log = (out / "verify.log").read_text()
    assert f"is {renamed}" in log  # the URL pin was satisfied by the local file's sha256
    assert f"is installed from hear-example-model @ file://{out}/work/files/" in log
    assert f"weights: {weights} (sha256" in log
    assert "serve hear_example_model --model /sandbox/weights/" in log  # given to load_model


def test_a_url_pin_without_the_file_at_hand_says_how_to_supply_it(
    tmp_path: Path, offline: None
) -> None:
    wheel = build_example_wheel(tmp_path / "dist")
    arguments = url_pinned_submission(tmp_path / "sub", wheel, None)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, result = run(arguments, tmp_path / "out", "--find-links", str(empty))
    assert code == 3
    verification = result["verification"]
    assert verification["verdict"] == "error"
    esc = next(c for c in verification["columns"] if c["column"] == "ESC-50")
    detail = error_text(result, esc)
    assert verification["stage_error"]["stage"] == "install"
    assert "no network" in detail and "`--find-links DIR`" in detail
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() in detail

    # Applying the fix literally (the wheel's directory as --find-links) installs it.
    code, result = run(arguments, tmp_path / "out2", "--find-links", str(wheel.parent))
    assert result["verification"]["verdict"] in ("pass", "fail")


def test_a_weights_file_with_another_sha256_is_refused_naming_both(
    tmp_path: Path, offline: None
) -> None:
    wheel = build_example_wheel(tmp_path / "dist")
    weights = write_weights(tmp_path / "weights.json")
    arguments = url_pinned_submission(tmp_path / "sub", wheel, weights)
    other = tmp_path / "other.json"
    other.write_text(weights.read_text() + " ")
    code, result = run(
        arguments, tmp_path / "out", "--find-links", str(wheel.parent), "--weights-file", str(other)
    )
    assert code == 3
    esc = next(c for c in result["verification"]["columns"] if c["column"] == "ESC-50")
    detail = error_text(result, esc)
    assert hashlib.sha256(other.read_bytes()).hexdigest() in detail
    assert hashlib.sha256(weights.read_bytes()).hexdigest() in detail


def test_an_install_error_is_reported_once_with_pips_error_and_no_machine_paths(
    tmp_path: Path, offline: None
) -> None:
    from bot.report import render_markdown, render_text

    wheel = build_example_wheel(tmp_path / "dist")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    claims = {"ESC-50": "0.9", "FSD50K": "0.9", "DCASE 2016": "0.9"}
    arguments = write_submission(
        tmp_path / "sub",
        "Demo broken pin",
        claims,
        install=[f"hear-example-model==9.9 --hash=sha256:{digest}"],
    )
    out = tmp_path / "out"
    code, result = run(arguments, out, "--find-links", str(wheel.parent))
    assert code == 3
    verification = result["verification"]
    stage_error = verification["stage_error"]
    assert stage_error["stage"] == "install"
    assert "ERROR: " in stage_error["message"]  # pip's own reason, not cut off
    assert str(tmp_path) not in json.dumps(verification)  # no machine paths anywhere
    assert all(c["log_tail"] is None for c in verification["columns"])  # bound to the stage
    outcomes = {c["column"]: c["outcome"] for c in verification["columns"]}
    assert {outcomes[name] for name in claims} == {"error"}
    assert outcomes["Beehive"] == "not-claimed"
    assert "evaluate" not in verification["memory_mb"]  # nothing was evaluated

    markdown = render_markdown(result)
    first = markdown.split("\n")[3]
    assert first.startswith("⚠️ **Not verified**: the install stage failed")
    assert "Valid submission" not in markdown
    assert markdown.count("ERROR: ") == 2  # the message once, and the log's last lines once
    assert "\\u000a" not in markdown and "Beehive" not in markdown.split("<details>")[0]
    assert str(tmp_path) not in markdown
    assert "`ESC-50` (on stand-in `synth_tones-1.0.0-full`)" in markdown
    terminal = render_text(result)
    assert terminal.count("ERROR: No matching distribution found") == 1

    # As a person sees it: GitHub's Markdown, in Chromium.
    html = comment_html(markdown)
    (block,) = [pre for pre in re.findall(r"<pre.*?</pre>", html, re.S) if "pip install" in pre]
    assert "\n[model] ERROR: No matching distribution found" in block  # real line breaks
    assert "\u200b" not in block and "&#8203;" not in block
    if chromium() is not None:
        shots = Path(os.environ.get("HEARBOT_SCREENSHOTS") or tmp_path)
        png = screenshot(markdown, shots / "install-error-comment.png")
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_a_second_run_says_which_stages_were_cached(tmp_path: Path, offline: None) -> None:
    from bot.report import render_markdown

    wheel = build_example_wheel(tmp_path / "dist")
    arguments = url_pinned_submission(tmp_path / "sub", wheel, None)
    work = str(tmp_path / "work")
    extra = ("--find-links", str(wheel.parent), "--work", work)
    _, first = run(arguments, tmp_path / "out1", *extra)
    assert first["verification"]["cached_s"] == {}
    _, second = run(arguments, tmp_path / "out2", *extra)
    cached = second["verification"]["cached_s"]
    assert set(cached) == {"install_s", "check_model_s", "embed_s", "evaluate_s"}
    assert cached["install_s"] == pytest.approx(first["verification"]["timings"]["install_s"], 0.5)
    markdown = render_markdown(second)
    assert "install cached (original " in markdown and "embed cached" in markdown
