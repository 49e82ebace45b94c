"""The submission manifest (submissions/<slug>.json): schema, strict JSON, agreement, pins."""

from __future__ import annotations

import copy
import json

import pytest

from bot.submission.manifest import classify_install_line
from bot.submission.validate import ChangedFile
from tests.rowgen import (
    COMMIT,
    EXAMPLE_MANIFEST,
    EXAMPLE_MANIFEST_BYTES,
    EXAMPLE_MANIFEST_PATH,
    EXAMPLE_ROW,
    NEW_LINE,
    SHA,
    append,
    check,
    error_codes,
    findings_of,
    warning_codes,
)

HEAD = append(EXAMPLE_ROW)
PATH = EXAMPLE_MANIFEST_PATH


def with_manifest(data: bytes, head: bytes = HEAD):
    return check(head, manifests={PATH: data})


def mutated(**changes) -> bytes:
    manifest = copy.deepcopy(EXAMPLE_MANIFEST)
    for key, value in changes.items():
        if value is None:
            manifest.pop(key)
        else:
            manifest[key] = value
    return json.dumps(manifest).encode("utf-8")


def test_example_submission_is_valid():
    result = with_manifest(EXAMPLE_MANIFEST_BYTES)
    assert result["ok"] is True, result["errors"]
    assert result["errors"] == [] and result["warnings"] == []
    assert result["checked"]["manifest"] is True
    assert result["submission"]["manifest_path"] == PATH
    assert result["submission"]["slug"] == "hear-team-naive-baseline-example"


def test_named_manifest_is_checked_whatever_its_path():
    result = check(HEAD, named_manifest=("somewhere/else.json", EXAMPLE_MANIFEST_BYTES))
    assert result["ok"] is True
    assert result["checked"]["manifest"] is True
    # Where the repository keeps it, not where this machine read it from.
    assert result["submission"]["manifest_path"] == "submissions/else.json"


def test_without_a_manifest_the_checks_are_skipped_with_a_warning():
    result = check(HEAD)
    assert result["ok"] is True
    assert warning_codes(result) == {"manifest-not-checked"}
    assert result["checked"]["manifest"] is False


# ------------------------------------------------------------------ schema errors


@pytest.mark.parametrize(
    ("changes", "pointer_or_name"),
    [
        ({"sample_rate": 8000}, "/sample_rate"),
        ({"authors": []}, "/authors"),
        ({"authors": ["Ada", ""]}, "/authors/1"),
        ({"trainable_parameters": -1}, "/trainable_parameters"),
        ({"trainable_parameters": 1.5}, "/trainable_parameters"),
        ({"hear_module": "1bad.module"}, "/hear_module"),
        ({"python": "3.8"}, "/python"),
        ({"weights": {"url": "https://x.example/w.pt", "sha256": "abc"}}, "/weights/sha256"),
        ({"weights": {"url": "https://x.example/w.pt"}}, "/weights"),
        ({"install": []}, "/install"),  # (and manifest-unpinned: nothing pins the model)
        ({"install": [1]}, "/install/0"),
        ({"install": ["x" * 2001]}, "/install/0"),  # (and manifest-unpinned)
        ({"pretraining_data": ["speech", "speech"]}, "/pretraining_data"),
        ({"pretraining_data": ["video"]}, "/pretraining_data/0"),
        ({"model_options": []}, "/model_options"),
        ({"scene_embedding_size": 0}, "/scene_embedding_size"),
        ({"description": ""}, "/description"),
        ({"hear_module": None}, "'hear_module' is a required property"),
        ({"extra": 1}, "'extra' was unexpected"),
    ],
)
def test_schema_error_is_manifest_invalid_with_a_pointer(changes, pointer_or_name):
    result = with_manifest(mutated(**changes))
    expected = {"manifest-invalid"}
    if changes.get("install") not in (None, [1]):
        expected.add("manifest-unpinned")
    assert error_codes(result) == expected, result["errors"]
    messages = [f["message"] for f in findings_of(result, "manifest-invalid")]
    assert any(message.startswith(PATH) for message in messages)
    assert any(pointer_or_name in message for message in messages), messages


def test_unknown_column_in_tasks_not_run():
    not_run = {**EXAMPLE_MANIFEST["tasks_not_run"], "Bogus Task": "not a column"}
    result = with_manifest(mutated(tasks_not_run=not_run))
    assert error_codes(result) == {"manifest-invalid"}
    (finding,) = findings_of(result, "manifest-invalid")
    assert "/tasks_not_run" in finding["message"] and "Bogus Task" in finding["message"]


def test_every_schema_error_is_reported_at_once():
    result = with_manifest(mutated(sample_rate=8000, authors=[], hear_module=None))
    assert len(findings_of(result, "manifest-invalid")) == 3


def test_pointer_escapes_a_slash_in_a_column_name():
    row = EXAMPLE_ROW.split(",")
    row[3 + 7] = ""  # GTZAN Music/Speech, now not run, with an empty reason
    not_run = {**EXAMPLE_MANIFEST["tasks_not_run"], "GTZAN Music/Speech": ""}
    result = with_manifest(mutated(tasks_not_run=not_run), head=append(",".join(row)))
    (finding,) = findings_of(result, "manifest-invalid")
    assert "/tasks_not_run/GTZAN Music~1Speech" in finding["message"]


# ------------------------------------------------------------------ strict JSON


@pytest.mark.parametrize(
    ("data", "explanation"),
    [
        pytest.param(b'{"model": "a", "model": "b"}', "duplicate key(s) 'model'", id="dup-key"),
        pytest.param(
            EXAMPLE_MANIFEST_BYTES.replace(
                b'"trainable_parameters": 0', b'"trainable_parameters": NaN'
            ),
            "NaN is not JSON",
            id="nan",
        ),
        pytest.param(
            EXAMPLE_MANIFEST_BYTES.replace(
                b'"trainable_parameters": 0', b'"trainable_parameters": Infinity'
            ),
            "Infinity is not JSON",
            id="infinity",
        ),
        pytest.param(b"\xef\xbb\xbf" + EXAMPLE_MANIFEST_BYTES, "byte-order mark", id="bom"),
        pytest.param(b'{"model": "Universit\xe9"}', "not UTF-8", id="latin-1"),
        pytest.param(EXAMPLE_MANIFEST_BYTES[:-5], "not valid JSON (line", id="truncated"),
        pytest.param(b"", "not valid JSON", id="empty"),
    ],
)
def test_strict_json(data, explanation):
    result = with_manifest(data)
    assert error_codes(result) == {"manifest-invalid"}
    (finding,) = result["errors"]
    assert finding["message"].startswith(PATH + ": ")
    assert explanation in finding["message"]


def test_top_level_array():
    result = with_manifest(b"[]")
    (finding,) = result["errors"]
    assert finding["code"] == "manifest-invalid"
    assert "is not of type 'object'" in finding["message"]


# ------------------------------------------------------------------ agreement with the row


def test_model_mismatch():
    result = with_manifest(mutated(model="HEAR Team naive baseline"))
    assert error_codes(result) == {"manifest-mismatch"}
    (finding,) = result["errors"]
    assert finding["column"] == "Model"
    assert "HEAR Team naive baseline (example)" in finding["message"]


def test_url_mismatch():
    result = with_manifest(mutated(url="https://github.com/hearbenchmark/other"))
    assert error_codes(result) == {"manifest-mismatch"}
    assert result["errors"][0]["column"] == "URL"


def test_empty_column_without_a_reason():
    not_run = dict(EXAMPLE_MANIFEST["tasks_not_run"])
    del not_run["Beehive"]
    result = with_manifest(mutated(tasks_not_run=not_run))
    assert error_codes(result) == {"manifest-mismatch"}
    (finding,) = result["errors"]
    assert finding["column"] == "Beehive"
    assert "leaves Beehive empty" in finding["message"]


def test_reason_for_a_column_that_has_a_score():
    not_run = {**EXAMPLE_MANIFEST["tasks_not_run"], "ESC-50": "not run"}
    result = with_manifest(mutated(tasks_not_run=not_run))
    assert error_codes(result) == {"manifest-mismatch"}
    (finding,) = result["errors"]
    assert finding["column"] == "ESC-50"
    assert "`tasks_not_run` lists ESC-50, which the row claims" in finding["message"]


def test_manifest_under_another_name_is_missing():
    result = check(HEAD, manifests={"submissions/hear-team-naive-baseline.json": b"{}"})
    assert error_codes(result) == {"manifest-missing"}
    (finding,) = result["errors"]
    assert PATH in finding["message"]
    assert "adds submissions/hear-team-naive-baseline.json instead" in finding["message"]
    assert finding["fix"] == f"Rename it: `git mv submissions/hear-team-naive-baseline.json {PATH}`"
    assert result["checked"]["manifest"] is False


def test_no_manifest_in_the_pull_request():
    result = check(HEAD, manifests={})
    assert error_codes(result) == {"manifest-missing"}
    assert "Found instead" not in result["errors"][0]["message"]


def test_changed_files_policy():
    changed = (
        ChangedFile("leaderboard.csv", "modified"),
        ChangedFile(PATH, "added"),
        ChangedFile("README.md", "modified"),
        ChangedFile("submissions/other-team.json", "modified"),
    )
    result = check(HEAD, manifests={PATH: EXAMPLE_MANIFEST_BYTES}, changed_files=changed)
    assert error_codes(result) == {"unexpected-file"}
    messages = sorted(f["message"] for f in result["errors"])
    assert messages == [
        "The pull request changes README.md (modified).",
        "The pull request changes submissions/other-team.json (modified).",
    ]
    assert result["checked"]["changed_files"] is True


def test_an_extra_added_manifest_is_unexpected():
    changed = (
        ChangedFile("leaderboard.csv", "modified"),
        ChangedFile(PATH, "added"),
        ChangedFile("submissions/someone-else.json", "added"),
    )
    manifests = {PATH: EXAMPLE_MANIFEST_BYTES, "submissions/someone-else.json": b"{}"}
    result = check(HEAD, manifests=manifests, changed_files=changed)
    assert error_codes(result) == {"unexpected-file"}
    assert "submissions/someone-else.json" in result["errors"][0]["message"]


# ------------------------------------------------------------------ install pins

OWN_PACKAGE_PINS = [
    f"acmenet @ https://files.example.org/acmenet-1.0-py3-none-any.whl#sha256={SHA}",
    f"https://files.example.org/acmenet-1.0.tar.gz#sha256={SHA}",
    f"acmenet @ https://files.example.org/acmenet-1.0.zip#sha256={SHA}",
    f"git+https://github.com/acme/net@{COMMIT}",
    f"acmenet @ git+https://github.com/acme/net@{COMMIT}",
    f"git+https://github.com/acme/net.git@{COMMIT}#egg=acmenet",
    f"git+https://github.com/acme/net.git@{COMMIT}#subdirectory=pkg",
    f"acmenet==1.0 --hash=sha256:{SHA}",
    f"acmenet[extra]==1.0 --hash=sha256:{SHA}",
    f"acmenet==1.0 --hash=sha256:{SHA} --hash=sha256:{'b' * 64}",
]
CONSTRAINTS = [
    "librosa==0.9.2",
    "librosa<0.10",
    "numpy>=1.20,<2",
    "librosa ~= 0.9",
    'librosa==0.9.2 ; python_version < "3.9"',
]
REFUSED = {
    "-e .": "pip options",
    f"-e git+https://github.com/acme/net@{COMMIT}": "pip options",
    "--index-url https://evil.example/simple": "pip options",
    "--extra-index-url https://evil.example/simple": "pip options",
    "-r requirements.txt": "pip options",
    "--find-links ./wheels": "pip options",
    "git+https://github.com/acme/net@main": "'main' is not a 40-hex commit",
    "git+https://github.com/acme/net@v1.0": "'v1.0' is not a 40-hex commit",
    "git+https://github.com/acme/net@0123456": "'0123456' is not a 40-hex commit",
    f"git+https://github.com/acme/net@{COMMIT.upper()}": "is not a 40-hex commit",
    "git+https://github.com/acme/net": "only https archive URLs",
    f"git+http://github.com/acme/net@{COMMIT}": "only https archive URLs",
    f"git+ssh://git@github.com/acme/net@{COMMIT}": "only https archive URLs",
    "https://files.example.org/acmenet-1.0-py3-none-any.whl": "no #sha256=",
    f"http://files.example.org/acmenet-1.0.tar.gz#sha256={SHA}": "only https archive URLs",
    f"https://files.example.org/acmenet-1.0.tar.gz#sha256={SHA[:-1]}": "only https archive",
    f"https://files.example.org/acmenet-1.0.tar.gz#sha256={SHA.upper()}": "only https archive",
    f"https://user:pw@files.example.org/acmenet-1.0.tar.gz#sha256={SHA}": "only https archive",
    "./acmenet": "only https archive URLs",
    "/tmp/acmenet-1.0-py3-none-any.whl": "only https archive URLs",
    "file:///tmp/acmenet-1.0-py3-none-any.whl": "only https archive URLs",
    "acmenet @ file:///tmp/acmenet.whl": "only https archive URLs",
    "acmenet==1.0 --hash=md5:0123": "not a requirement pip understands",
    f"acmenet>=1.0 --hash=sha256:{SHA}": "not a requirement pip understands",
    f"librosa==0.9.2 --hash=sha256:{SHA} --no-deps": "not a requirement pip understands",
    "acme net": "not a requirement pip understands",
}


@pytest.mark.parametrize("line", OWN_PACKAGE_PINS)
def test_content_pinned_lines(line):
    assert classify_install_line(line).kind == "content-pinned"


@pytest.mark.parametrize("line", CONSTRAINTS)
def test_dependency_constraints(line):
    assert classify_install_line(line).kind == "constraint"


@pytest.mark.parametrize(("line", "reason"), list(REFUSED.items()))
def test_refused_lines(line, reason):
    classified = classify_install_line(line)
    assert classified.kind == "unpinned"
    assert reason in classified.reason


@pytest.mark.parametrize(
    "line",
    [
        'librosa==0.9.2 ; python_version > "0"\n-e /tmp/evil',
        "librosa==0.9.2 ; x\n--find-links /tmp/wheels",
        'librosa==0.9.2 ; python_version > "0"\r-r other.txt',
        "librosa==0.9.2\n",
    ],
)
def test_a_line_with_a_line_break_is_refused(line):
    assert classify_install_line(line).kind == "unpinned"


def test_manifest_with_a_smuggled_pip_option_is_rejected():
    install = [*EXAMPLE_MANIFEST["install"], 'librosa==0.9.2 ; python_version > "0"\n-e /tmp/evil']
    result = with_manifest(mutated(install=install))
    assert result["ok"] is False
    assert error_codes(result) <= {"manifest-unpinned", "manifest-invalid"}


def test_install_without_a_content_pin():
    result = with_manifest(mutated(install=["hearbaseline==2021.1.1", "librosa<0.10"]))
    assert error_codes(result) == {"manifest-unpinned"}
    (finding,) = result["errors"]
    assert "no install line pins the model's own package (`hearbaseline`)" in finding["message"]
    assert "`hearbaseline==2021.1.1 --hash=sha256:<64 hex>`" in finding["fix"]
    assert "`pip download hearbaseline==2021.1.1 --no-deps -d dist`" in finding["fix"]
    assert "acmenet" not in finding["fix"]


def test_each_refused_line_is_named():
    install = [*EXAMPLE_MANIFEST["install"], "-e .", "git+https://github.com/acme/net@main"]
    result = with_manifest(mutated(install=install))
    assert error_codes(result) == {"manifest-unpinned"}
    messages = [f["message"] for f in result["errors"]]
    assert len(messages) == 2
    assert "`-e .`" in messages[0] and "`git+https://github.com/acme/net@main`" in messages[1]


def test_git_pin_is_enough():
    result = with_manifest(mutated(install=[f"git+https://github.com/acme/net@{COMMIT}"]))
    assert result["ok"] is True, result["errors"]


def test_manifest_findings_have_no_csv_line():
    result = with_manifest(mutated(sample_rate=8000, model="Other"))
    assert {f["line"] for f in result["errors"]} == {None}
    assert result["submission"]["line"] == NEW_LINE
