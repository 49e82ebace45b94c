"""Each message names the root cause in the submitter's own terms, and its fix, applied
literally, makes the submission pass (or moves it on to the next real problem)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.report import render_markdown
from tests.rowgen import (
    BASE,
    EXAMPLE_MANIFEST,
    EXAMPLE_MANIFEST_PATH,
    EXAMPLE_ROW,
    NEW_LINE,
    SCORE_COLUMNS,
    SHA,
    append,
    check,
    error_codes,
    findings_of,
    make_row,
)

MODEL = "HEAR Team naive baseline (example)"


def manifest_bytes(**changes: object) -> bytes:
    return json.dumps({**EXAMPLE_MANIFEST, **changes}).encode()


def with_manifest(head: bytes, manifest: bytes) -> dict:
    return check(head, manifests={EXAMPLE_MANIFEST_PATH: manifest})


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def test_sixteen_empty_columns_are_one_finding_with_the_block_to_paste() -> None:
    claimed = {"ESC-50": "0.5", "FSD50K": "0.4", "DCASE 2016": "0.3"}
    row = make_row(model=MODEL, url=EXAMPLE_MANIFEST["url"], default_score="", scores=claimed)
    head = append(row)
    result = with_manifest(head, manifest_bytes(tasks_not_run={}))
    (finding,) = result["errors"]
    assert finding["code"] == "manifest-mismatch"
    assert "16 columns: Beehive, Beijing Opera" in finding["message"]
    block = code_spans(finding["fix"])[1]
    assert block.startswith('"tasks_not_run": {"Beehive": "not run"')

    # Pasted literally into the manifest: it passes.
    pasted = json.loads("{" + block + "}")
    assert with_manifest(head, manifest_bytes(**pasted))["ok"] is True


def test_reasons_already_given_are_kept_in_the_block() -> None:
    empty = [c for c in SCORE_COLUMNS if c not in ("ESC-50",)]
    row = make_row(
        model=MODEL, url=EXAMPLE_MANIFEST["url"], default_score="", scores={"ESC-50": "0.5"}
    )
    reasons = {"Beehive": "too long", "ESC-50": "oops"}
    result = with_manifest(append(row), manifest_bytes(tasks_not_run=reasons))
    (finding,) = result["errors"]
    assert "lists ESC-50, which the row claims" in finding["message"]
    pasted = json.loads("{" + code_spans(finding["fix"])[1] + "}")
    assert pasted["tasks_not_run"]["Beehive"] == "too long" and len(pasted["tasks_not_run"]) == len(
        empty
    )
    assert with_manifest(append(row), manifest_bytes(**pasted))["ok"] is True


def test_a_quoted_model_name_is_the_root_cause_and_no_fix_copies_a_quote() -> None:
    quoted = EXAMPLE_ROW.replace(MODEL, f'"{MODEL}"', 1)
    result = with_manifest(append(quoted), manifest_bytes())
    assert error_codes(result) == {"forbidden-character"}  # no follow-up manifest-mismatch
    (finding,) = result["errors"]
    assert finding["column"] == "Model"
    assert finding["fix"] == f"Delete the quotes (cells are never quoted): Model becomes `{MODEL}`"
    assert '"' not in code_spans(finding["fix"])[0]

    fixed = quoted.replace(f'"{MODEL}"', code_spans(finding["fix"])[0], 1)
    assert with_manifest(append(fixed), manifest_bytes())["ok"] is True


def test_a_mismatched_model_fix_is_the_json_line_to_paste() -> None:
    result = with_manifest(append(EXAMPLE_ROW), manifest_bytes(model="Something else"))
    (finding,) = result["errors"]
    (line,) = code_spans(finding["fix"])
    assert line == f'"model": "{MODEL}"'
    assert with_manifest(append(EXAMPLE_ROW), manifest_bytes(**json.loads("{" + line + "}")))["ok"]


def test_a_quoted_field_with_a_comma_is_named_as_such_with_the_line_to_paste() -> None:
    row = EXAMPLE_ROW.replace("HEAR Team naive", '"HEAR Team, naive', 1).replace(
        "(example)", '(example)"', 1
    )
    result = with_manifest(append(row), manifest_bytes())
    (finding,) = result["errors"]
    assert finding["code"] == "field-count" and finding["line"] == NEW_LINE
    assert (
        'quotes a field that contains a comma (`"HEAR Team, naive baseline (example)"`)'
        in (finding["message"])
    )
    (line,) = code_spans(finding["fix"])  # the whole line, as it must be
    assert line == EXAMPLE_ROW
    assert with_manifest(append(line), manifest_bytes())["ok"] is True


def test_an_unpinned_model_names_the_submitters_package_and_how_to_get_a_sha256() -> None:
    install = ["hearbaseline==2021.1.1", "librosa<0.10"]
    result = with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=install))
    (finding,) = result["errors"]
    assert "acmenet" not in finding["fix"] and "`hearbaseline`" in finding["message"]
    pin, *_ = code_spans(finding["fix"])
    assert pin == "hearbaseline==2021.1.1 --hash=sha256:<64 hex>"
    assert "sha256sum dist/*" in finding["fix"] and "shasum -a 256" in finding["fix"]
    fixed = [pin.replace("<64 hex>", SHA), "librosa<0.10"]  # the sha256 the command prints
    assert with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=fixed))["ok"] is True


def test_an_unversioned_dependency_line_gets_a_dependency_fix() -> None:
    install = [*EXAMPLE_MANIFEST["install"], "soundfile"]
    result = with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=install))
    (finding,) = result["errors"]
    assert "pin the model" not in finding["fix"].lower() and "by content" not in finding["fix"]
    assert "`soundfile==<version>`" in finding["fix"] and "`pip show soundfile`" in finding["fix"]
    fixed = [
        *EXAMPLE_MANIFEST["install"],
        code_spans(finding["fix"])[0].replace("<version>", "0.12.1"),
    ]
    assert with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=fixed))["ok"] is True


def test_a_branch_pin_is_one_finding_with_the_commit_to_fill_in() -> None:
    install = ["git+https://github.com/acme/net@main"]
    result = with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=install))
    (finding,) = result["errors"]  # not a second "no content pin" for the same line
    pinned, command = code_spans(finding["fix"])[1:3]
    assert pinned == "git+https://github.com/acme/net@<40-hex commit>"
    assert command == "git ls-remote https://github.com/acme/net main"
    fixed = [pinned.replace("<40-hex commit>", "0123456789abcdef0123456789abcdef01234567")]
    assert with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=fixed))["ok"] is True


def test_row_modified_shows_the_old_and_the_new_cell() -> None:
    lines = BASE.decode().split("\n")
    old = lines[5].split(",")
    changed = [*old]
    changed[4] = "0.999"
    lines[5] = ",".join(changed)
    head = "\n".join(lines).encode()
    result = check(append(EXAMPLE_ROW, base=head), base=BASE)
    (finding,) = findings_of(result, "row-modified")
    assert f"Beijing Opera was `{old[4]}`, is now `0.999`" in finding["message"]


def test_the_trailing_newline_fix_runs_as_it_is_and_removes_every_final_newline(
    tmp_path: Path,
) -> None:
    (tmp_path / "leaderboard.csv").write_bytes(append(EXAMPLE_ROW) + b"\n\n")
    result = check((tmp_path / "leaderboard.csv").read_bytes())
    (finding,) = findings_of(result, "trailing-newline")
    (command,) = code_spans(finding["fix"])
    assert command.startswith("python3 -c ")
    python3 = tmp_path / "bin" / "python3"  # whichever Python runs the tests, as `python3`
    python3.parent.mkdir()
    python3.symlink_to(sys.executable)
    path = f"{python3.parent}:{os.environ['PATH']}"
    subprocess.run(command, shell=True, cwd=tmp_path, check=True, env={**os.environ, "PATH": path})
    assert check((tmp_path / "leaderboard.csv").read_bytes())["ok"] is True


def test_the_bom_fix_runs_as_it_is_on_macos_and_linux(tmp_path: Path) -> None:
    (tmp_path / "leaderboard.csv").write_bytes(b"\xef\xbb\xbf" + append(EXAMPLE_ROW))
    result = check((tmp_path / "leaderboard.csv").read_bytes())
    (finding,) = findings_of(result, "bom")
    (command,) = code_spans(finding["fix"])
    assert command.startswith("python3 -c ") and "sed" not in command  # BSD sed differs
    python3 = tmp_path / "bin" / "python3"
    python3.parent.mkdir()
    python3.symlink_to(sys.executable)
    path = f"{python3.parent}:{os.environ['PATH']}"
    subprocess.run(command, shell=True, cwd=tmp_path, check=True, env={**os.environ, "PATH": path})
    assert check((tmp_path / "leaderboard.csv").read_bytes())["ok"] is True


def test_no_fix_in_the_rendered_comment_carries_a_zero_width_character_inside_code() -> None:
    install = [*EXAMPLE_MANIFEST["install"], "acme @ https://h.org/acme-1.0-py3-none-any.whl"]
    result = with_manifest(append(EXAMPLE_ROW), manifest_bytes(install=install))
    markdown = render_markdown(result)
    spans = re.findall(r"`([^`]+)`", markdown)
    assert any("acme @ https://h.org/acme-1.0-py3-none-any.whl#sha256=<64 hex>" in s for s in spans)
    for span in spans:
        assert "\u200b" not in span and "&#8203;" not in span, span


def test_the_repository_keeps_editors_and_git_from_making_the_common_mistakes() -> None:
    import configparser
    import shutil

    root = Path(__file__).resolve().parents[2]
    editorconfig = configparser.ConfigParser()
    editorconfig.read_string("[root]\n" + (root / ".editorconfig").read_text())
    csv = editorconfig["leaderboard.csv"]
    assert (csv["insert_final_newline"], csv["end_of_line"], csv["charset"]) == (
        "false",
        "lf",
        "utf-8",
    )
    if shutil.which("git") and (root / ".git").exists():
        attributes = subprocess.run(
            ["git", "-C", str(root), "check-attr", "eol", "text", "--", "leaderboard.csv"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "leaderboard.csv: eol: lf" in attributes and "text: set" in attributes


def test_the_pull_request_template_points_to_the_manifest_instead_of_repeating_it() -> None:
    root = Path(__file__).resolve().parents[2]
    template = (root / ".github" / "PULL_REQUEST_TEMPLATE.md").read_text()
    assert "submissions/<slug>.json" in template and "schemas/submission.schema.json" in template
    for field in ("Trainable parameters", "Scene embedding size", "Sample rate", "Authors:"):
        assert field not in template, f"{field} belongs in the manifest only"
