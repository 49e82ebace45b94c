"""Building blocks for end-to-end tests: a submission PR in the fake, events, the command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.common.schemas import leaderboard_facts
from bot.github.cli import main as github_main
from tests.fake_github.server import Comment, FakeGitHub

REPO_ROOT = Path(__file__).resolve().parents[2]
REPOSITORY = "hearbenchmark/hear-leaderboard"
TOKEN = "test-token"
BOT = "github-actions[bot]"
EVENTS_DIR = REPO_ROOT / "tests" / "data" / "events"
BASE_CSV = (REPO_ROOT / "leaderboard.csv").read_bytes()
MODEL_URL = "https://github.com/acme/acme-net"
WHEEL = "https://files.example.org/acme_net-1.0-py3-none-any.whl#sha256=" + "a" * 64


def score_row(model: str = "Acme Net", *, first_score: str = "0.1", url: str = MODEL_URL) -> str:
    columns = leaderboard_facts().score_columns
    scores = [first_score] + ["0.1"] * (len(columns) - 1)
    return ",".join([model, url, "2024-05-01", *scores])


def manifest(model: str = "Acme Net", url: str = MODEL_URL) -> bytes:
    return json.dumps(
        {
            "model": model,
            "team": "Acme",
            "authors": ["A. Person"],
            "url": url,
            "description": "A test model.",
            "pretraining_data": ["broad-domain"],
            "trainable_parameters": 1000,
            "hear_module": "acme_net.hear",
            "install": [f"acme-net @ {WHEEL}"],
            "model_options": {},
            "sample_rate": 16000,
            "scene_embedding_size": 512,
            "timestamp_embedding_size": 512,
            "tasks_not_run": {},
        },
        indent=2,
    ).encode()


@dataclass
class SubmissionPR:
    number: int
    base_sha: str
    head_sha: str
    new_line: int  # 1-based line of the appended row in head leaderboard.csv


def open_submission(
    fake: FakeGitHub,
    row: str | None = None,
    *,
    files: dict[str, bytes] | None = None,
    slug: str = "acme-net",
    model: str = "Acme Net",
) -> SubmissionPR:
    """main has the real leaderboard.csv; a fork branch appends ``row`` and adds a manifest."""
    base = fake.commit({"leaderboard.csv": BASE_CSV}, message="leaderboard")
    fake.set_branch("main", base)
    if files is None:
        files = {
            "leaderboard.csv": BASE_CSV + b"\n" + (row or score_row(model)).encode(),
            f"submissions/{slug}.json": manifest(model),
        }
    # the evidence branch (bot/github/evidence.py), as a maintainer creates it once
    fake.set_branch("hearbot-evidence", fake.commit({"README.md": b"evidence\n"}, message="init"))
    head = fake.commit(files, parents=(base,), message="Add my model")
    number = fake.open_pull(head)
    return SubmissionPR(number, base, head, BASE_CSV.count(b"\n") + 2)


def workflow_run_event(tmp_path: Path, head_sha: Any, **changes: Any) -> Path:
    """The recorded-shape workflow_run payload with ``head_sha`` put in, written to a file."""
    payload = json.loads((EVENTS_DIR / "workflow_run.completed.json").read_text())
    payload["workflow_run"]["head_sha"] = head_sha
    payload["workflow_run"]["head_commit"]["id"] = head_sha
    for key, value in changes.items():
        payload[key] = value
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    return path


def report(*args: str) -> int:
    return github_main(["github", "report-validation", *args])


def bot_comments(fake: FakeGitHub, number: int) -> list[Comment]:
    return [c for c in fake.comments_on(number) if c.author == BOT]


def github(*args: str) -> int:
    return github_main(["github", *args])


def accept_command(
    tmp_path: Path, event_name: str, payload: dict[str, Any]
) -> tuple[int, dict[str, str]]:
    """Run ``accept-command`` on ``payload`` (checked against @octokit/webhooks-schemas first);
    the exit code and the job outputs it wrote."""
    from tests.fake_github.openapi import webhook_errors

    action = payload.get("action", "event")
    assert webhook_errors(event_name, action, payload) == []
    event = tmp_path / f"{event_name}.json"
    event.write_text(json.dumps(payload))
    output = tmp_path / "github_output"
    output.write_text("")
    code = github("accept-command", "--event", str(event), "--event-name", event_name,
                  "--output", str(output))  # fmt: skip
    lines = output.read_text().splitlines()
    return code, dict(line.split("=", 1) for line in lines)
