"""``hearbot github ...``: every subcommand the workflows and maintainers run, with one error
and exit path (``run``) and one escaping of workflow commands (``one_line``).

- ``report-validation`` (report.yml): re-validate a PR from API data, post comment, check, labels;
- ``accept-command``, ``acknowledge``, ``fetch-submission``, ``report-verification`` (verify.yml,
  docs/maintainers.md): the steps of a maintainer's ``/verify`` and the other commands;
- ``plan-shards``, ``merge-results`` (verify.yml's fan-out): split the GPU work into shards and
  merge the shards' untrusted results; neither needs a token.
- ``store-evidence`` (verify.yml's report job), ``find-pulls`` and ``sync-bound`` (publish.yml):
  the evidence records on the ``hearbot-evidence`` branch and the bindings of merged rows;
- ``settings-check`` (maintainers): what the merge gate needs from the repository's settings.

Exit codes, for all of them:

- 0: done (whatever the verdict: a failing check run, a refused, stale or failed verification is
  a successful report), or nothing to report (no open PR at that SHA, or it moved on);
- 1: the input is refused: ``report-validation``, the default branch's own leaderboard.csv is
  unusable (fix the repository, then re-run); ``fetch-submission``, the PR does not have exactly
  one manifest to verify; ``store-evidence``, the PR has no single row and manifest to bind, or
  another record already sits at the path; ``settings-check``, a setting is missing;
- 2: bad environment, arguments, event payload, decision, plan or columns (the message names it);
- 3: GitHub API failure after retries: an infrastructure error, nothing reported as passing;
  re-run the workflow.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.common import strict_json
from bot.common.fileio import write_atomic
from bot.github.artifact import RESULT_FILE, STALE_FILE
from bot.github.env import ConfigError, GitHubEnv, load_env
from bot.github.events import SHA_RE, read_event, workflow_run_target
from bot.submission.validate import BaseFileError

if TYPE_CHECKING:
    from bot.github.client import GitHubClient
    from bot.github.flow import Target

# PyGithub (bot.github.client and the modules that use it) is imported by the command itself,
# so that registering the commands costs `hearbot validate` nothing at start-up.

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_CONFIG = 2
EXIT_INFRASTRUCTURE = 3
JOB_RESULTS = ("success", "failure", "cancelled", "skipped")
MAX_PLAN_BYTES = 64 * 1024
INFRASTRUCTURE_MESSAGE = (
    "error: infrastructure failure, not a verdict on the submission: {}. "
    "Nothing was reported as passing; re-run the workflow."
)

Handler = Callable[[argparse.Namespace], int]


class ShardArgumentError(ValueError):
    """An argument or input file of plan-shards or merge-results is unusable."""


# --- the one error and exit path ------------------------------------------------------------


def run(command: str, handler: Handler, args: argparse.Namespace) -> int:
    """Run one subcommand; every failure it may meet becomes its exit code and one message."""
    from bot.github.client import InfrastructureError
    from bot.github.evidence import EvidenceError
    from bot.github.fetch import SubmissionShapeError
    from bot.github.shards import PlanError
    from bot.publish.records import RecordError

    try:
        return handler(args)
    except ConfigError as exc:
        return fail(command, EXIT_CONFIG, f"error: {exc}")
    except (PlanError, ShardArgumentError) as exc:
        return fail(command, EXIT_CONFIG, f"error: {exc}", annotation=str(exc))
    except BaseFileError as exc:
        return fail(command, EXIT_REFUSED, f"error: the default branch is broken: {exc}")
    except (SubmissionShapeError, EvidenceError, RecordError) as exc:
        return fail(command, EXIT_REFUSED, f"error: {exc}")
    except InfrastructureError as exc:
        return fail(command, EXIT_INFRASTRUCTURE, INFRASTRUCTURE_MESSAGE.format(exc))


def fail(command: str, code: int, message: str, *, annotation: str | None = None) -> int:
    """Say why on stderr and, in a workflow, as an error annotation (default: the message)."""
    print(f"hearbot github {command}: {message}", file=sys.stderr)
    if os.environ.get("GITHUB_ACTIONS") == "true":
        shown = message if annotation is None else annotation
        print(f"::error title=hearbot github::{one_line(shown)}", file=sys.stderr)
    return code


def one_line(text: str) -> str:
    """Workflow-command escaping, so the message cannot start a command of its own."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


@contextmanager
def github_client(env: GitHubEnv) -> Iterator[GitHubClient]:
    from bot.github.client import GitHubClient

    client = GitHubClient(env)
    try:
        yield client
    finally:
        client.close()


# --- the argparse tree ----------------------------------------------------------------------


def register_github_commands(subparsers: Any) -> None:
    """Add ``github`` (with its own subcommands) to hearbot's argparse subparsers."""
    github = subparsers.add_parser(
        "github", help="GitHub integration: report on pull requests (needs GITHUB_* env)"
    )
    commands = github.add_subparsers(dest="github_command", metavar="COMMAND", required=True)
    _add_validation_command(commands)
    _add_verification_commands(commands)
    _add_fanout_commands(commands)
    _add_publishing_commands(commands)


def _add(commands: Any, name: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(name, **kwargs)
    parser.set_defaults(func=functools.partial(run, name, handler))
    return parser


def _pr_and_sha(parser: argparse.ArgumentParser) -> None:
    """The trusted PR number and head SHA, as the command job accepted them."""
    parser.add_argument("--pr", required=True, type=pr_number, metavar="N")
    parser.add_argument("--sha", required=True, type=sha, metavar="SHA")


def _columns_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--columns", default="[]", help="JSON list of columns (default: all)")


def _add_validation_command(commands: Any) -> None:
    report = _add(
        commands,
        "report-validation",
        cmd_report_validation,
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
        "--pr", type=pr_number, metavar="N", help="report on pull request N at its current head"
    )
    report.add_argument(
        "--dry-run",
        action="store_true",
        help="read and validate, then print what would be posted instead of posting it",
    )


def _add_verification_commands(commands: Any) -> None:
    accept = _add(
        commands,
        "accept-command",
        cmd_accept_command,
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

    ack = _add(
        commands,
        "acknowledge",
        cmd_acknowledge,
        help="answer a command in the sticky comment (and cancel runs or record an override)",
    )
    ack.add_argument("--decision", required=True, help="the decision JSON from accept-command")

    fetch = _add(
        commands,
        "fetch-submission",
        cmd_fetch_submission,
        help="fetch a PR's CSVs and manifest at the accepted SHA through the API, as data",
    )
    _pr_and_sha(fetch)
    _columns_option(fetch)
    fetch.add_argument("--out", required=True, type=Path, metavar="DIR")

    report = _add(
        commands,
        "report-verification",
        cmd_report_verification,
        help="report the verify job's artifact on the PR (comment section, check run, labels)",
    )
    report.add_argument("--artifact", required=True, type=Path, metavar="DIR")
    _pr_and_sha(report)
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


def _add_fanout_commands(commands: Any) -> None:
    plan = _add(
        commands,
        "plan-shards",
        cmd_plan_shards,
        help="split the columns to verify into GPU shards balanced by audio hours",
        description=(
            "Reads the submission fetch-submission wrote (DIR/base.csv, head.csv, "
            "manifest.json; absent when stale) to learn which columns the row claims, and "
            'writes the matrix {"include": [{"shard", "columns", "hours"}]} to --output '
            "(and, with --github-output, as the job output `matrix`, with `stale` true when "
            "fetch-submission found the PR had moved on: then no GPU shard needs to run)."
        ),
    )
    plan.add_argument("--submission", required=True, type=Path, metavar="DIR")
    _columns_option(plan)
    plan.add_argument("--max-shards", required=True, type=shard_count, metavar="N")
    plan.add_argument(
        "--hours-per-shard",
        type=hours,
        default=None,
        metavar="H",
        help="use fewer shards when they would hold less than H audio hours (empty: no target)",
    )
    plan.add_argument("--output", required=True, type=Path, metavar="FILE")
    plan.add_argument(
        "--github-output", action="store_true", help="also append matrix=... to $GITHUB_OUTPUT"
    )

    merge = _add(
        commands,
        "merge-results",
        cmd_merge_results,
        help="merge the GPU shards' results (untrusted) into one result folder",
    )
    merge.add_argument("--shards", required=True, type=Path, metavar="DIR")
    merge.add_argument("--planned", required=True, type=Path, metavar="FILE")
    _columns_option(merge)
    _pr_and_sha(merge)
    merge.add_argument("--out", required=True, type=Path, metavar="DIR")

    watch = _add(
        commands,
        "watch-run",
        cmd_watch_run,
        help="keep the sticky comment's status current while the GPU shards wait and run",
        description=(
            "verify.yml's status job: polls this run's jobs through the API and writes the "
            "status section of the sticky comment (waiting for approval, waiting for a runner "
            "with the runs ahead, running with the projected column, share and time left, or "
            "error with the job's link), at most one edit per --min-edit-interval-s. Ends when "
            "every GPU job has finished. Environment: GITHUB_API_URL, GITHUB_REPOSITORY, "
            "GITHUB_TOKEN, GITHUB_RUN_ID, GITHUB_SERVER_URL."
        ),
    )
    _pr_and_sha(watch)
    watch.add_argument("--planned", required=True, type=Path, metavar="FILE")
    watch.add_argument("--run-id", type=int, help="the run to watch (default $GITHUB_RUN_ID)")
    watch.add_argument("--poll-s", type=seconds, default=20.0, help="seconds between polls")
    watch.add_argument(
        "--min-edit-interval-s", type=seconds, default=60.0, help="seconds between edits"
    )
    watch.add_argument(
        "--give-up-after-s", type=seconds, default=5.5 * 3600, help="stop watching after this"
    )


def _add_publishing_commands(commands: Any) -> None:
    store = _add(
        commands,
        "store-evidence",
        cmd_store_evidence,
        help="write the verification's evidence record to the hearbot-evidence branch",
        description=(
            "verify.yml's report job, after report-verification: binds the merged result to "
            "the PR's appended row and manifest (read through the API at --sha) and writes "
            "records/<key>/<run>.json on the hearbot-evidence branch. Nothing is written for "
            "a stale or missing result. Environment: GITHUB_RUN_ID, GITHUB_RUN_ATTEMPT, "
            "GITHUB_SHA, GITHUB_SERVER_URL (the run's link and hearbot's commit)."
        ),
    )
    store.add_argument("--artifact", required=True, type=Path, metavar="DIR")
    _pr_and_sha(store)
    store.add_argument("--requester", required=True, help="who asked for the verification")

    sync = _add(
        commands,
        "sync-bound",
        cmd_sync_bound,
        help="write `hearbot publish --bound-out` files to the hearbot-evidence branch",
        description=(
            "publish.yml: writes each DIR/bound/*.verification.json to the evidence branch "
            "where its content differs (a re-run writes nothing)."
        ),
    )
    sync.add_argument("--dir", required=True, type=Path, metavar="DIR")

    pulls = _add(
        commands,
        "find-pulls",
        cmd_find_pulls,
        help="which merged PR added each row a push brought to leaderboard.csv",
        description=(
            "publish.yml: walks the commits of a push (--before...--after) through the API "
            "and writes, for each row added to leaderboard.csv, the one merged pull request "
            "GitHub associates with the commit that added it (squash, rebase or merge). "
            "`hearbot publish --pulls FILE` links rows merged without verification to it."
        ),
    )
    pulls.add_argument("--before", required=True, type=sha, metavar="SHA")
    pulls.add_argument("--after", required=True, type=sha, metavar="SHA")
    pulls.add_argument("--out", required=True, type=Path, metavar="FILE")

    check = _add(
        commands,
        "settings-check",
        cmd_settings_check,
        help="say which repository settings the merge gate needs and are missing",
        description=(
            "Reads, through the API, the branch's required status checks (both "
            "hear-leaderboard / validate and hear-leaderboard / verify), the gpu-verification "
            "environment (required reviewers, deployment branches), the Actions settings "
            "(read-only default token, no PR approvals, SHA pinning), the hearbot-evidence "
            "branch and GitHub Pages (built by publish.yml). Exit codes: 0 all in place, 1 "
            "something is missing (each listed with where to fix it), 3 API failure. Reading "
            "branch protection needs a token with administration: read (a fine-grained "
            "token or an admin's), not the workflow's GITHUB_TOKEN."
        ),
    )
    check.add_argument("--branch", default="main", help="the default branch (default: main)")


# --- the subcommands: read the options, call the module that does the work ------------------


def cmd_report_validation(args: argparse.Namespace) -> int:
    from bot.github.flow import report_validation

    env = load_env(os.environ)
    target = _target(args, env.event_path, env.repository)
    with github_client(env) as client:
        return report_validation(
            client, env.repository, env.bot_login, target, dry_run=args.dry_run
        )


def cmd_accept_command(args: argparse.Namespace) -> int:
    from bot.github.accept import accept
    from bot.github.decision import write_outputs

    env = load_env(os.environ)
    with github_client(env) as client:
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


def cmd_acknowledge(args: argparse.Namespace) -> int:
    from bot.github.acknowledge import acknowledge
    from bot.github.decision import Decision

    env = load_env(os.environ)
    with github_client(env) as client:
        decision = Decision.from_json(args.decision)
        run_id = os.environ.get("GITHUB_RUN_ID", "")
        own = int(run_id) if run_id.isascii() and run_id.isdigit() else None
        return acknowledge(client, env.bot_login, decision, own_run_id=own)


def cmd_fetch_submission(args: argparse.Namespace) -> int:
    from bot.github.fetch import fetch_submission

    env = load_env(os.environ)
    with github_client(env) as client:
        columns = json_columns(args.columns)
        fetch_submission(client, args.pr, args.sha, columns, args.out)
    return EXIT_OK


def cmd_report_verification(args: argparse.Namespace) -> int:
    from bot.github.verification import report_verification

    env = load_env(os.environ)
    with github_client(env) as client:
        report_verification(
            client,
            env.bot_login,
            args.pr,
            args.sha,
            args.artifact,
            args.job_result,
            merged=args.merged,
            run_url=_run_url(env, _own_run_id()),
        )
    return EXIT_OK


def _run_url(env: GitHubEnv, run_id: int | None) -> str | None:
    if run_id is None:
        return None
    server = os.environ.get("GITHUB_SERVER_URL") or "https://github.com"
    return f"{server}/{env.repository}/actions/runs/{run_id}"


def _own_run_id() -> int | None:
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    return int(run_id) if run_id.isascii() and run_id.isdigit() else None


def cmd_watch_run(args: argparse.Namespace) -> int:
    from bot.github.live_status import WatchSettings, watch_run
    from bot.github.shards import parse_plan

    env = load_env(os.environ)
    plan = parse_plan(_read_plan(args.planned))
    run_id = args.run_id if args.run_id is not None else _own_run_id()
    if run_id is None:
        raise ConfigError("GITHUB_RUN_ID is not set; pass --run-id")
    run_url = _run_url(env, run_id)
    assert run_url is not None
    settings = WatchSettings(
        poll_s=args.poll_s,
        min_edit_interval_s=args.min_edit_interval_s,
        give_up_s=args.give_up_after_s,
    )
    with github_client(env) as client:
        watch_run(
            client,
            env.bot_login,
            pr=args.pr,
            sha=args.sha,
            run_id=run_id,
            run_url=run_url,
            plan=[(shard.number, shard.columns) for shard in plan],
            settings=settings,
        )
    return EXIT_OK


def cmd_store_evidence(args: argparse.Namespace) -> int:
    from bot.github.artifact import ArtifactError, read_artifact
    from bot.github.evidence import store_verification

    try:
        artifact = read_artifact(args.artifact, args.pr, args.sha)
    except ArtifactError as exc:
        print(f"no evidence to store: {exc}")
        return EXIT_OK
    if artifact.result is None:
        print("no evidence to store: the verification is stale")
        return EXIT_OK
    env = load_env(os.environ)
    with github_client(env) as client:
        store_verification(client, artifact.result, args.pr, args.sha, args.requester)
    return EXIT_OK


def cmd_sync_bound(args: argparse.Namespace) -> int:
    from bot.github.evidence import sync_bound

    env = load_env(os.environ)
    with github_client(env) as client:
        changed = sync_bound(client, args.dir)
    print(f"{changed} bound file(s) changed")
    return EXIT_OK


def cmd_find_pulls(args: argparse.Namespace) -> int:
    from bot.github.merged import merged_rows, write_pulls

    env = load_env(os.environ)
    with github_client(env) as client:
        found = merged_rows(client, args.before, args.after)
    write_pulls(args.out, found)
    print(f"{len(found)} new row(s) linked to their merged pull request")
    return EXIT_OK


def cmd_settings_check(args: argparse.Namespace) -> int:
    from bot.github.settings import check_settings

    env = load_env(os.environ)
    with github_client(env) as client:
        missing = check_settings(client, args.branch)
    if missing:
        print(f"{len(missing)} setting(s) the merge gate needs are missing:")
        for line in missing:
            print(f"- {line}")
        return EXIT_REFUSED
    print(f"every setting the merge gate needs is in place for {env.repository}")
    return EXIT_OK


def cmd_plan_shards(args: argparse.Namespace) -> int:
    from bot.github.fetch import claimed_columns
    from bot.github.shards import columns_to_plan, matrix, plan_shards

    requested = _requested(args.columns)
    columns, spread = columns_to_plan(requested, claimed_columns(args.submission))
    shards = plan_shards(columns, args.max_shards if spread else 1, args.hours_per_shard)
    document = matrix(shards)
    compact = json.dumps(document, separators=(",", ":"))
    output = os.environ.get("GITHUB_OUTPUT", "") if args.github_output else ""
    if args.github_output and not output:
        raise ShardArgumentError("--github-output: GITHUB_OUTPUT is not set")
    stale = (args.submission / STALE_FILE).is_file()
    write_atomic(args.output, json.dumps(document, indent=2).encode() + b"\n")
    if output:
        with open(output, "a", encoding="utf-8") as handle:
            handle.write(f"matrix={compact}\nstale={'true' if stale else 'false'}\n")
    if stale:
        print("stale: the pull request moved on; no GPU shard needs to run")
    for shard in shards:
        print(f"shard {shard.number}: {shard.hours:.1f} h: {', '.join(shard.columns)}")
    return EXIT_OK


def cmd_merge_results(args: argparse.Namespace) -> int:
    from bot.common.schemas import leaderboard_facts
    from bot.github.shard_artifacts import read_shard_inputs
    from bot.github.shard_merge import merge_shards
    from bot.github.shards import parse_plan

    plan = parse_plan(_read_plan(args.planned))
    listed = _requested(args.columns) or leaderboard_facts().score_columns
    inputs, notes = read_shard_inputs(args.shards, plan, args.pr, args.sha)
    merged = merge_shards(plan, listed, inputs)
    for name in (RESULT_FILE, STALE_FILE):
        (args.out / name).unlink(missing_ok=True)
    for note in [*notes, *merged.notes]:
        print(note)
    if merged.stale is not None:
        write_atomic(args.out / STALE_FILE, json.dumps(merged.stale, indent=2).encode() + b"\n")
        print(f"stale: the head moved to {merged.stale['current_head_sha']}")
    elif merged.result is not None:
        data = json.dumps(merged.result, indent=2, allow_nan=False).encode() + b"\n"
        write_atomic(args.out / RESULT_FILE, data)
        verification = merged.result["verification"]
        print(f"merged {len(plan)} shard(s): {verification['verdict']}")
    else:
        print("no shard left a result; nothing to merge")
    return EXIT_OK


# --- reading options and input files --------------------------------------------------------


def _target(args: argparse.Namespace, event_path: str | None, repository: str) -> Target:
    from bot.github.flow import Target

    if args.pr is not None:
        return Target(pr_number=args.pr)
    path = args.event or event_path
    if not path:
        raise ConfigError("GITHUB_EVENT_PATH is not set; pass --event PATH or --pr N")
    return Target(head_sha=workflow_run_target(read_event(path), repository).head_sha)


def json_columns(text: str) -> tuple[str, ...]:
    """``--columns``: a JSON list of leaderboard column names (empty: every column)."""
    from bot.github.commands import Malformed, parse_columns

    try:
        names = json.loads(text)
    except ValueError:
        raise ConfigError("--columns is not a JSON list") from None
    if not isinstance(names, list) or not all(isinstance(n, str) and "," not in n for n in names):
        raise ConfigError("--columns must be a JSON list of column names")
    columns = parse_columns(", ".join(names))
    if isinstance(columns, Malformed):
        raise ConfigError(f"--columns: {columns.problem}")
    return columns


def _requested(text: str) -> tuple[str, ...]:
    try:
        return json_columns(text)
    except ConfigError as exc:
        raise ShardArgumentError(str(exc)) from None


def _read_plan(path: Path) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ShardArgumentError(f"--planned {path}: {exc.strerror}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise ShardArgumentError(f"--planned {path} is larger than {MAX_PLAN_BYTES} bytes")
    try:
        return strict_json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ShardArgumentError(f"--planned {path} is not strict JSON: {exc}") from None


def pr_number(text: str) -> int:
    if not text.isascii() or not text.isdigit() or text.startswith("0") or len(text) > 10:
        raise argparse.ArgumentTypeError(f"{text!r} is not a pull request number")
    return int(text)


def sha(text: str) -> str:
    if not SHA_RE.match(text):
        raise argparse.ArgumentTypeError(f"{text[:50]!r} is not a 40-character lowercase hex SHA")
    return text


def shard_count(text: str) -> int:
    from bot.github.shards import MAX_SHARDS

    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_SHARDS:
        message = f"{text[:20]!r} is not a shard count from 1 to {MAX_SHARDS}"
        raise argparse.ArgumentTypeError(message)
    return int(text)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a positive number of seconds")
    return value


def hours(text: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"{text[:20]!r} is not a positive number of hours")
    return value


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry: ``python -m bot.github.cli github report-validation ...``."""
    parser = argparse.ArgumentParser(prog="hearbot")
    register_github_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
