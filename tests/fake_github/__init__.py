"""A faithful, stateful fake of the GitHub REST API for the bot's tests (see server.py)."""

from tests.fake_github.openapi import missing_files, webhook_errors
from tests.fake_github.server import FakeGitHub

__all__ = ["FakeGitHub", "missing_files", "webhook_errors"]
