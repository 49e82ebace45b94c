"""``hearbot github ...``: the commands the privileged report workflow and maintainers run.

Exit codes of ``report-validation``:

- 0: reported (whatever the verdict: a failing check run is a successful report), or nothing
  to report (no open PR at that SHA, or the PR moved on: a stale SHA gets no report);
- 1: the default branch's own leaderboard.csv is unusable (fix the repository, then re-run);
- 2: bad environment, arguments or event payload (the message names the variable or field);
- 3: GitHub API failure after retries: an infrastructure error, nothing reported as passing;
  re-run the workflow.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from bot.github.env import ConfigError, load_env
from bot.github.events import read_event, workflow_run_target
from bot.github.shard_cli import register_shard_commands
from bot.github.verify_cli import register_verification_commands
from bot.submission.validate import BaseFileError

if TYPE_CHECKING:
    from bot.github.flow import Target

# PyGithub (bot.github.client, bot.github.flow) is imported by the command itself, so that
# registering the command costs `hearbot validate` nothing at start-up.

EXIT_OK = 0
EXIT_BASE_BROKEN = 1
EXIT_CONFIG = 2
EXIT_INFRASTRUCTURE = 3


def register_github_commands(subparsers: Any) -> None:
    """Add ``github`` (with its own subcommands) to hearbot's argparse subparsers."""
    github = subparsers.add_parser(
        "github", help="GitHub integration: report on pull requests (needs GITHUB_* env)"
    )
    commands = github.add_subparsers(dest="github_command", metavar="COMMAND", required=True)
    report = commands.add_parser(
        "report-validation",
        help="re-validate a PR from API data and post the sticky comment, check run and labels",
        description=(
            "Re-resolves the pull request through the GitHub API (from the workflow_run "
            "event's head SHA, or --pr), validates its leaderboard.csv and manifest read "
            "through the API at that SHA, and posts one sticky comment, the check run "
            "'hear-leaderboard / validate' and the labels submission + valid/invalid. "
            "Environment: GITHUB_API_URL, GITHUB_REPOSITORY, GITHUB_TOKEN, GITHUB_EVENT_PATH, "
            "HEARBOT_LOGIN. Exit codes: 0 reported or nothing to report, 1 the default "
            "branch's leaderboard.csv is broken, 2 configuration/event error, 3 GitHub API "
            "failure (infrastructure; re-run)."
        ),
    )
    source = report.add_mutually_exclusive_group()
    source.add_argument(
        "--event",
        metavar="PATH",
        help="workflow_run event payload (default: $GITHUB_EVENT_PATH)",
    )
    source.add_argument(
        "--pr", type=_pr_number, metavar="N", help="report on pull request N at its current head"
    )
    report.add_argument(
        "--dry-run",
        action="store_true",
        help="read and validate, then print what would be posted instead of posting it",
    )
    report.set_defaults(func=cmd_report_validation)
    register_verification_commands(commands)
    register_shard_commands(commands)


def cmd_report_validation(args: argparse.Namespace) -> int:
    from bot.github.client import GitHubClient, InfrastructureError
    from bot.github.flow import report_validation

    try:
        env = load_env(os.environ)
        target = _target(args, env.event_path, env.repository)
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, f"error: {exc}")
    client = GitHubClient(env)
    try:
        return report_validation(
            client, env.repository, env.bot_login, target, dry_run=args.dry_run
        )
    except ConfigError as exc:
        return _fail(EXIT_CONFIG, f"error: {exc}")
    except BaseFileError as exc:
        return _fail(EXIT_BASE_BROKEN, f"error: the default branch is broken: {exc}")
    except InfrastructureError as exc:
        return _fail(
            EXIT_INFRASTRUCTURE,
            f"error: infrastructure failure, not a verdict on the submission: {exc}. "
            "Nothing was reported as passing; re-run the workflow.",
        )
    finally:
        client.close()


def _target(args: argparse.Namespace, event_path: str | None, repository: str) -> Target:
    from bot.github.flow import Target

    if args.pr is not None:
        return Target(pr_number=args.pr)
    path = args.event or event_path
    if not path:
        raise ConfigError("GITHUB_EVENT_PATH is not set; pass --event PATH or --pr N")
    return Target(head_sha=workflow_run_target(read_event(path), repository).head_sha)


def _pr_number(text: str) -> int:
    if not text.isascii() or not text.isdigit() or text.startswith("0") or len(text) > 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def _fail(code: int, message: str) -> int:
    print(f"hearbot github report-validation: {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        print(f"::error title=hearbot github::{_one_line(message)}", file=sys.stderr)
    return code


def _one_line(text: str) -> str:
    """Workflow-command escaping, so the message cannot start a command of its own."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: ``python -m bot.github.cli github report-validation ...``."""
    parser = argparse.ArgumentParser(prog="hearbot")
    register_github_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
