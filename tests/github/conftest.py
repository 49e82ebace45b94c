"""Fixtures for the GitHub-side tests: the fake GitHub, its environment, a submission PR.

The fake checks every request and response against GitHub's OpenAPI description from
``node_modules`` (``npm ci`` at the repository root installs it). Without it these tests skip,
except in CI (``CI`` set), where setup installs it and its absence is a failure.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `tests.fake_github` lives beside this directory
    sys.path.insert(0, str(REPO_ROOT))

from tests.fake_github import FakeGitHub  # noqa: E402
from tests.fake_github.openapi import Spec, load_spec, require_octokit  # noqa: E402
from tests.fake_github.scenario import BOT, REPOSITORY, TOKEN  # noqa: E402


@pytest.fixture(scope="session")
def github_spec() -> Spec:
    require_octokit()
    return load_spec()


@pytest.fixture
def fake(github_spec: Spec) -> Iterator[FakeGitHub]:
    with FakeGitHub(REPOSITORY, token=TOKEN, bot_login=BOT, spec=github_spec) as server:
        yield server
        violations = list(server.violations)
    if violations:
        pytest.fail(
            "the fake GitHub saw traffic that does not match GitHub's OpenAPI description:\n  "
            + "\n  ".join(violations),
            pytrace=False,
        )


@pytest.fixture
def github_env(fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    env = {
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_TOKEN": TOKEN,
        "HEARBOT_RETRIES": "3",
        "HEARBOT_RETRY_BACKOFF": "0",
        "HEARBOT_SECONDARY_RATE_WAIT": "0",
        "HEARBOT_SECONDS_BETWEEN_REQUESTS": "0",
        "HEARBOT_SECONDS_BETWEEN_WRITES": "0",
    }
    for name in ("GITHUB_EVENT_PATH", "HEARBOT_LOGIN", "GITHUB_ACTIONS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env
