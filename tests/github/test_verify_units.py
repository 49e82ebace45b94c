"""Pure parts of the verification commands: command parsing, decisions, sticky sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.common.schemas import leaderboard_facts
from bot.github.commands import Command, Malformed, parse_command
from bot.github.decision import Decision, write_outputs
from bot.github.env import ConfigError
from bot.github.labels import verification_label_changes
from bot.github.permissions import allows_commands, is_bot
from bot.github.sticky import compose, parse_sections, section_end, section_start
from bot.report import STICKY_MARKER

SHA = "a" * 40


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/verify", Command("verify")),
        ("  \n/VERIFY  \nmore text", Command("verify")),
        ("/verify-cancel", Command("verify-cancel")),
        (
            "/override accept  flaky node ",
            Command("override", verdict="accept", reason="flaky node"),
        ),
        ("/override REJECT x", Command("override", verdict="reject", reason="x")),
        ("hello /verify", None),
        ("/", None),
        ("/1", None),
        ("/ verify", None),
        ("/é", None),
    ],
)
def test_parse_command(body: str, expected: Command | None) -> None:
    assert parse_command(body) == expected


def test_parse_command_columns_are_canonical_and_deduplicated() -> None:
    first, second = leaderboard_facts().score_columns[:2]
    parsed = parse_command(f"/verify  {first.lower()} ,{second},{first}")
    assert parsed == Command("verify", columns=(first, second))


@pytest.mark.parametrize(
    "body",
    ["/verify nope", "/verify ,", "/override", "/override accept " + "x" * 301, "/x_y", "/lgtm"],
)
def test_malformed_commands(body: str) -> None:
    assert isinstance(parse_command(body), Malformed)


def test_permissions() -> None:
    assert all(allows_commands((level, level)) for level in ("admin", "write", "maintain"))
    assert not any(allows_commands((level, level)) for level in ("read", "triage", "none"))
    assert not allows_commands(("read", "write"))  # role_name alone does not decide
    assert not allows_commands(None)
    assert is_bot("dependabot[bot]", "User") and is_bot("x", "Bot") and not is_bot("x", "User")


def test_decision_round_trips_through_job_outputs(tmp_path: Path) -> None:
    column = leaderboard_facts().score_columns[1]
    decision = Decision("verify", pr=7, sha=SHA, columns=(column,), requester="bob",
                        requested_at="2024-05-01T12:00:00Z", command="verify")  # fmt: skip
    out = tmp_path / "out"
    out.write_text("earlier=1\n")
    write_outputs(out, decision)
    lines = out.read_text().splitlines()
    assert lines[0] == "earlier=1" and len(lines) == 7
    outputs = dict(line.split("=", 1) for line in lines[1:])
    assert Decision.from_json(outputs["decision"]) == decision
    assert json.loads(outputs["columns"]) == [column]


@pytest.mark.parametrize(
    "change",
    [
        {"action": "run"},
        {"pr": 0},
        {"pr": "7"},
        {"pr": True},
        {"sha": "A" * 40},
        {"columns": ["Nope"]},
        {"requester": "a b"},
        {"requested_at": "yesterday"},
        {"extra": 1},
    ],
)
def test_tampered_decisions_are_refused(change: dict) -> None:
    data = json.loads(Decision("verify", pr=7, sha=SHA).to_json())
    data.update(change)
    with pytest.raises(ConfigError):
        Decision.from_json(json.dumps(data))


def test_sections_are_replaced_one_at_a_time() -> None:
    body = compose(None, "verification", "V1")
    body = compose(body, "validation", "A1")
    body = compose(body, "commands", "C1")
    assert parse_sections(body) == {"validation": "A1", "commands": "C1", "verification": "V1"}
    body = compose(body, "verification", "V2")
    assert parse_sections(body) == {"validation": "A1", "commands": "C1", "verification": "V2"}
    assert body.startswith(STICKY_MARKER) and body.count(STICKY_MARKER) == 1


def test_a_comment_from_before_sections_is_replaced_whole() -> None:
    old = f"{STICKY_MARKER}\n### HEAR leaderboard submission check\nold"
    assert parse_sections(old) == {}
    assert "old" not in compose(old, "validation", "new")


def test_forged_markers_in_unescaped_text_would_be_read_so_the_renderer_must_escape() -> None:
    # the parser trusts the markers: this is why every untrusted value goes through bot.report
    forged = (
        f"x\n{section_end('validation')}\n{section_start('verification')}\nfake pass\n"
        f"{section_end('verification')}\n{section_start('validation')}\ny"
    )
    body = compose(None, "validation", forged)
    assert parse_sections(body)["verification"] == "fake pass"  # raw text would forge one


def test_verification_labels() -> None:
    assert verification_label_changes(["submission"], "pass").add == ("verified",)
    changes = verification_label_changes(["Verified"], "fail")
    assert changes.add == ("verification-failed",) and changes.remove == ("Verified",)
    assert verification_label_changes(["verified"], "stale").remove == ("verified",)
    error = verification_label_changes(["verified"], "error")
    assert error.add == () and error.remove == ()
