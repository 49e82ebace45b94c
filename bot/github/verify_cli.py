"""``hearbot github accept-command|acknowledge|fetch-submission|report-verification``: the steps
of verify.yml (docs/maintainers.md). Exit codes, for all four:

- 0: done (a refused, stale or failed verification is still a successful report);
- 1: ``fetch-submission`` only: the PR does not have exactly one manifest to verify;
- 2: bad environment, arguments, event payload or decision (the message names it);
- 3: GitHub API failure after retries: an infrastructure error, never reported as a pass.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.github.env import ConfigError, GitHubEnv, load_env
from bot.github.events import SHA_RE, read_event

EXIT_OK = 0
EXIT_SHAPE = 1
EXIT_CONFIG = 2
EXIT_INFRASTRUCTURE = 3
JOB_RESULTS = ("success", "failure", "cancelled", "skipped")


def register_verification_commands(commands: Any) -> None:
    accept = commands.add_parser(
        "accept-command",
        help="decide what an issue_comment or workflow_dispatch event asks for (read-only)",
        description=(
            "Reads the event ($GITHUB_EVENT_PATH, $GITHUB_EVENT_NAME), checks the commenter's "
            "permission through the API, binds the request to the PR's current head SHA, and "
            "writes the job outputs action, pr, sha, columns, requester and decision to "
            "$GITHUB_OUTPUT (or prints them)."
        ),
    )
    accept.add_argument(
        "--event", metavar="PATH", help="event payload (default $GITHUB_EVENT_PATH)"
    )
    accept.add_argument("--event-name", help="event name (default $GITHUB_EVENT_NAME)")
    accept.add_argument("--output", metavar="PATH", help="outputs file (default $GITHUB_OUTPUT)")
    accept.set_defaults(func=cmd_accept_command)

    ack = commands.add_parser(
        "acknowledge",
        help="answer a command in the sticky comment (and cancel runs or record an override)",
    )
    ack.add_argument("--decision", required=True, help="the decision JSON from accept-command")
    ack.set_defaults(func=cmd_acknowledge)

    fetch = commands.add_parser(
        "fetch-submission",
        help="fetch a PR's CSVs and manifest at the accepted SHA through the API, as data",
    )
    fetch.add_argument("--pr", required=True, type=_pr_number, metavar="N")
    fetch.add_argument("--sha", required=True, type=_sha, metavar="SHA")
    fetch.add_argument("--columns", default="[]", help="JSON list of columns (default: all)")
    fetch.add_argument("--out", required=True, type=Path, metavar="DIR")
    fetch.set_defaults(func=cmd_fetch_submission)

    report = commands.add_parser(
        "report-verification",
        help="report the verify job's artifact on the PR (comment section, check run, labels)",
    )
    report.add_argument("--artifact", required=True, type=Path, metavar="DIR")
    report.add_argument("--pr", required=True, type=_pr_number, metavar="N")
    report.add_argument("--sha", required=True, type=_sha, metavar="SHA")
    report.add_argument(
        "--job-result",
        required=True,
        choices=JOB_RESULTS,
        help="needs.verify.result: anything but success is an error",
    )
    report.add_argument(
        "--merged",
        action="store_true",
        help="the artifact is merge-results' output, which already marks the columns of "
        "failed shards as errors: report it whatever the job result",
    )
    report.set_defaults(func=cmd_report_verification)


def cmd_accept_command(args: argparse.Namespace) -> int:
    from bot.github.accept import accept
    from bot.github.decision import write_outputs

    def run(env: GitHubEnv, client: Any) -> int:
        path = args.event or env.event_path
        name = args.event_name or os.environ.get("GITHUB_EVENT_NAME", "")
        if not path:
            raise ConfigError("GITHUB_EVENT_PATH is not set; pass --event PATH")
        decision = accept(client, env.repository, name, read_event(path))
        output = args.output or os.environ.get("GITHUB_OUTPUT")
        if output:
            write_outputs(output, decision)
        else:
            print(json.dumps(decision.outputs(), indent=2))
        print(f"decision: {decision.action} (pr {decision.pr}, sha {decision.sha})")
        return EXIT_OK

    return _with_client("accept-command", run)


def cmd_acknowledge(args: argparse.Namespace) -> int:
    from bot.github.acknowledge import acknowledge
    from bot.github.decision import Decision

    def run(env: GitHubEnv, client: Any) -> int:
        decision = Decision.from_json(args.decision)
        run_id = os.environ.get("GITHUB_RUN_ID", "")
        own = int(run_id) if run_id.isascii() and run_id.isdigit() else None
        return acknowledge(client, env.bot_login, decision, own_run_id=own)

    return _with_client("acknowledge", run)


def cmd_fetch_submission(args: argparse.Namespace) -> int:
    from bot.github.commands import Malformed, parse_columns
    from bot.github.fetch import SubmissionShapeError, fetch_submission

    def run(env: GitHubEnv, client: Any) -> int:
        columns = _columns(args.columns, parse_columns, Malformed)
        try:
            fetch_submission(client, args.pr, args.sha, columns, args.out)
        except SubmissionShapeError as exc:
            return _fail("fetch-submission", EXIT_SHAPE, f"error: {exc}")
        return EXIT_OK

    return _with_client("fetch-submission", run)


def cmd_report_verification(args: argparse.Namespace) -> int:
    from bot.github.verification import report_verification

    def run(env: GitHubEnv, client: Any) -> int:
        report_verification(
            client,
            env.bot_login,
            args.pr,
            args.sha,
            args.artifact,
            args.job_result,
            merged=args.merged,
        )
        return EXIT_OK

    return _with_client("report-verification", run)


def _with_client(command: str, run: Callable[[GitHubEnv, Any], int]) -> int:
    from bot.github.client import GitHubClient, InfrastructureError

    try:
        env = load_env(os.environ)
    except ConfigError as exc:
        return _fail(command, EXIT_CONFIG, f"error: {exc}")
    client = GitHubClient(env)
    try:
        return run(env, client)
    except ConfigError as exc:
        return _fail(command, EXIT_CONFIG, f"error: {exc}")
    except InfrastructureError as exc:
        return _fail(
            command,
            EXIT_INFRASTRUCTURE,
            f"error: infrastructure failure, not a verdict on the submission: {exc}. "
            "Nothing was reported as passing; re-run the workflow.",
        )
    finally:
        client.close()


def _columns(text: str, parse: Any, malformed: type) -> tuple[str, ...]:
    try:
        names = json.loads(text)
    except ValueError:
        raise ConfigError("--columns is not a JSON list") from None
    if not isinstance(names, list) or not all(isinstance(n, str) and "," not in n for n in names):
        raise ConfigError("--columns must be a JSON list of column names")
    columns = parse(", ".join(names))
    if isinstance(columns, malformed):
        raise ConfigError(f"--columns: {columns.problem}")
    return columns


def _pr_number(text: str) -> int:
    if not text.isascii() or not text.isdigit() or text.startswith("0") or len(text) > 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def _sha(text: str) -> str:
    if not SHA_RE.match(text):
        raise argparse.ArgumentTypeError(f"{text[:50]!r} is not a 40-character lowercase hex SHA")
    return text


def _fail(command: str, code: int, message: str) -> int:
    print(f"hearbot github {command}: {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        one_line = message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        print(f"::error title=hearbot github::{one_line}", file=sys.stderr)
    return code
