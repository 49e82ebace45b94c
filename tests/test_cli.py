"""The command line: exit codes (0 acceptable, 1 rejected, 2 usage), output formats, JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot import __version__
from bot.cli import codes_markdown, main
from bot.report import STICKY_MARKER
from bot.submission.findings import CODES
from tests.rowgen import (
    EXAMPLE_MANIFEST_BYTES,
    EXAMPLE_ROW,
    LEADERBOARD,
    NEW_LINE,
    REPO,
    append,
    make_row,
    result_schema_errors,
)

TODAY = ["--today", "2026-11-26"]


def run(argv):
    """main()'s exit status, whether it returns it or exits through argparse."""
    try:
        return main(argv)
    except SystemExit as exc:
        return exc.code


@pytest.fixture
def files(tmp_path):
    def write(name, data):
        path = tmp_path / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return str(path)

    return write


@pytest.fixture
def good(files):
    return {
        "base": str(LEADERBOARD),
        "head": files("head.csv", append(EXAMPLE_ROW)),
        "manifest": files("manifest.json", EXAMPLE_MANIFEST_BYTES),
    }


def validate_json(capsys, base, head, *extra):
    status = run(
        ["validate", "--base-file", base, "--head-file", head, "--format", "json", *TODAY, *extra]
    )
    out = capsys.readouterr().out
    return status, json.loads(out)


def test_acceptable_submission_exits_0(capsys, good):
    status, result = validate_json(
        capsys, good["base"], good["head"], "--manifest", good["manifest"]
    )
    assert status == 0
    assert result_schema_errors(result) == []
    assert result["ok"] is True
    assert result["errors"] == [] and result["warnings"] == []
    assert result["checked"] == {"manifest": True, "changed_files": False}
    assert result["submission"]["line"] == NEW_LINE


def test_without_manifest_the_warning_says_so(capsys, good):
    status, result = validate_json(capsys, good["base"], good["head"])
    assert status == 0
    assert [w["code"] for w in result["warnings"]] == ["manifest-not-checked"]


def test_rejected_submission_exits_1_with_findings(capsys, files):
    head = files("head.csv", append(make_row(scores={"ESC-50": "81.2"}, date="HEAR 2021")))
    status, result = validate_json(capsys, str(LEADERBOARD), head)
    assert status == 1
    assert result_schema_errors(result) == []
    assert result["ok"] is False
    assert {(f["code"], f["line"], f["column"]) for f in result["errors"]} == {
        ("score-range", NEW_LINE, "ESC-50"),
        ("date", NEW_LINE, "Submission Date"),
    }
    for finding in result["errors"]:
        assert list(finding) == ["code", "line", "column", "message", "fix"]


def test_today_changes_what_counts_as_the_future(capsys, files):
    head = files("head.csv", append(make_row(date="2026-11-26")))
    status, _ = validate_json(capsys, str(LEADERBOARD), head)
    assert status == 0
    status = run(
        [
            "validate",
            "--base-file",
            str(LEADERBOARD),
            "--head-file",
            head,
            "--format",
            "json",
            "--today",
            "2026-11-25",
        ]
    )
    result = json.loads(capsys.readouterr().out)
    assert status == 1
    assert [f["code"] for f in result["errors"]] == ["date"]


def test_text_and_markdown_formats(capsys, good):
    assert run(["validate", "--base-file", good["base"], "--head-file", good["head"], *TODAY]) == 0
    text = capsys.readouterr().out
    assert text.startswith("ACCEPTABLE (HEAR Team naive baseline (example))")
    assert (
        run(
            [
                "validate",
                "--base-file",
                good["base"],
                "--head-file",
                good["head"],
                "--format",
                "markdown",
                *TODAY,
            ]
        )
        == 0
    )
    markdown = capsys.readouterr().out
    assert markdown.startswith(STICKY_MARKER)
    assert "Valid submission" in markdown


def test_output_file_holds_the_json_result(capsys, good, tmp_path):
    output = tmp_path / "out" / "result.json"
    status = run(
        [
            "validate",
            "--base-file",
            good["base"],
            "--head-file",
            good["head"],
            "--format",
            "json",
            "--output",
            str(output),
            *TODAY,
        ]
    )
    assert status == 0
    assert json.loads(output.read_text()) == json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["validate", "--base-file", str(LEADERBOARD), "--head-file", "/nonexistent/h.csv"],
            "cannot read head file",
        ),
        (
            ["validate", "--base-file", "/nonexistent/b.csv", "--head-file", str(LEADERBOARD)],
            "cannot read base file",
        ),
        (["validate", "--base-file", str(LEADERBOARD)], "--base-file and --head-file go together"),
        (["validate"], "give either --base-file"),
        (
            [
                "validate",
                "--base-file",
                str(LEADERBOARD),
                "--head-file",
                str(LEADERBOARD),
                "--repo",
                ".",
            ],
            "give either --base-file",
        ),
        (["validate", "--repo", ".", "--base", "HEAD"], "--repo, --base and --head go together"),
        (
            ["validate", "--repo", ".", "--base", "HEAD", "--head", "HEAD", "--manifest", "m.json"],
            "--manifest is for file mode",
        ),
        (
            [
                "validate",
                "--base-file",
                str(LEADERBOARD),
                "--head-file",
                str(LEADERBOARD),
                "--manifest",
                "/nonexistent/m.json",
            ],
            "cannot read manifest",
        ),
        (
            [
                "validate",
                "--base-file",
                str(LEADERBOARD),
                "--head-file",
                str(LEADERBOARD),
                "--today",
                "2026-13-01",
            ],
            "is not a YYYY-MM-DD date",
        ),
        (
            [
                "validate",
                "--base-file",
                str(LEADERBOARD),
                "--head-file",
                str(LEADERBOARD),
                "--today",
                "tomorrow",
            ],
            "is not a YYYY-MM-DD date",
        ),
        (
            [
                "validate",
                "--base-file",
                str(LEADERBOARD),
                "--head-file",
                str(LEADERBOARD),
                "--format",
                "yaml",
            ],
            "invalid choice",
        ),
        (
            ["validate", "--repo", "/nonexistent", "--base", "main", "--head", "HEAD"],
            "is not a commit",
        ),
        (["report", "/nonexistent/result.json"], "cannot read result"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(capsys, argv, message):
    assert run(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


def test_base_file_with_a_foreign_header_is_a_usage_error(capsys, files):
    base = files("base.csv", "a,b,c\n1,2,3")
    assert run(["validate", "--base-file", base, "--head-file", str(LEADERBOARD)]) == 2
    assert "header does not match schemas/tasks.json" in capsys.readouterr().err


# ------------------------------------------------------------------ report


@pytest.fixture
def result_file(capsys, good, tmp_path):
    output = tmp_path / "result.json"
    run(
        [
            "validate",
            "--base-file",
            good["base"],
            "--head-file",
            good["head"],
            "--format",
            "json",
            "--output",
            str(output),
            *TODAY,
        ]
    )
    capsys.readouterr()
    return output


def test_report_renders_a_valid_result(capsys, result_file):
    assert run(["report", str(result_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(STICKY_MARKER) and "Valid submission" in out
    assert run(["report", str(result_file), "--format", "text"]) == 0
    assert capsys.readouterr().out.startswith("ACCEPTABLE")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r.update(ok="yes"), "does not match schemas/result.schema.json"),
        (lambda r: r.pop("errors"), "'errors' is a required property"),
        (lambda r: r["errors"].append({"code": "x"}), "/errors/0"),
        (lambda r: r.update(extra=1), "Additional properties"),
        (lambda r: r["ranks"][0].update(claimed=2), "/ranks/0/claimed"),
        (lambda r: r.update(schema_version=2), "/schema_version"),
    ],
)
def test_report_refuses_a_result_that_breaks_the_schema(capsys, result_file, change, message):
    result = json.loads(result_file.read_text())
    change(result)
    result_file.write_text(json.dumps(result))
    assert run(["report", str(result_file)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert captured.out == ""


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_report_refuses_non_strict_json(capsys, result_file, constant):
    text = result_file.read_text()
    claimed = json.dumps(json.loads(text)["ranks"][0]["claimed"])
    result_file.write_text(text.replace(f'"claimed": {claimed}', f'"claimed": {constant}', 1))
    assert constant in result_file.read_text()
    assert run(["report", str(result_file)]) == 2
    assert f"{constant.lstrip('-')} is not allowed" in capsys.readouterr().err


def test_report_refuses_non_utf8(capsys, tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(b'{"ok": "\xff"}')
    assert run(["report", str(path)]) == 2
    assert "not strict UTF-8 JSON" in capsys.readouterr().err


# ------------------------------------------------------------------ other commands


def test_validate_only_demo_exits_0(capsys):
    assert run(["demo", "--validate-only"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(STICKY_MARKER)
    assert "HEAR Team naive baseline (example)" in out


def test_schemas_are_up_to_date(capsys):
    assert run(["schemas"]) == 0
    assert capsys.readouterr().out.strip() == "schemas are up to date"


def test_codes_lists_every_code(capsys):
    assert run(["codes"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(CODES)
    assert run(["codes", "--format", "markdown"]) == 0
    assert capsys.readouterr().out == codes_markdown()


def test_version_through_python_m_bot():
    completed = subprocess.run(
        [sys.executable, "-m", "bot", "--version"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == f"hearbot {__version__}"
