"""``accept-command``: decide what a comment or a manual dispatch asks for, and bind it to a SHA.

Runs in verify.yml's first job, read-only. For an ``issue_comment`` event it ignores edited
comments, bots, comments on plain issues and comments that are not commands; it asks the API
for the commenter's permission (threat model 6) and reads the PR's current head SHA, which is
the commit the run is bound to (threat model 7). A ``workflow_dispatch`` names the SHA itself:
a SHA that is no longer the PR's head is refused as ``stale``. The answer is a ``Decision``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from bot.github.client import GitHubClient, NotFoundError
from bot.github.commands import COMMANDS, Action, Command, Malformed, parse_columns, parse_command
from bot.github.decision import MAX_PR_NUMBER, TIMESTAMP_RE, Decision
from bot.github.env import LOGIN_RE, ConfigError
from bot.github.events import SHA_RE
from bot.github.permissions import Who, is_bot, may_use

Clock = Callable[[], str]
PR_INPUT_RE = re.compile(r"^[1-9][0-9]{0,9}$")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def accept(
    client: GitHubClient,
    repository: str,
    event_name: str,
    payload: dict[str, Any],
    now: Clock = utc_now,
) -> Decision:
    _check_repository(payload, repository)
    if event_name == "issue_comment":
        return accept_comment(client, payload, now)
    if event_name == "workflow_dispatch":
        return accept_dispatch(client, payload, now)
    raise ConfigError(
        f"accept-command handles issue_comment and workflow_dispatch, not {event_name!r}"
    )


def accept_comment(client: GitHubClient, payload: dict[str, Any], now: Clock) -> Decision:
    comment, issue = payload.get("comment"), payload.get("issue")
    if payload.get("action") != "created" or not isinstance(comment, dict):
        return Decision(Action.IGNORE)  # edited or deleted comments never start anything
    if not isinstance(issue, dict) or not isinstance(issue.get("pull_request"), dict):
        return Decision(Action.IGNORE)  # a plain issue, not a pull request
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    if not isinstance(login, str) or not LOGIN_RE.match(login):
        return Decision(Action.IGNORE)
    if is_bot(login, user.get("type") if isinstance(user, dict) else None):
        return Decision(Action.IGNORE)
    body = comment.get("body")
    parsed = parse_command(body) if isinstance(body, str) else None
    number = issue.get("number")
    if parsed is None or type(number) is not int or not 0 < number < MAX_PR_NUMBER:
        return Decision(Action.IGNORE)
    created = comment.get("created_at")
    when = created if isinstance(created, str) and TIMESTAMP_RE.match(created) else now()
    spec = COMMANDS[parsed.name] if isinstance(parsed, Command) else None
    command = spec.word if spec is not None else ""
    base = {"pr": number, "requester": login, "requested_at": when, "command": command}
    # A malformed command is answered with HELP only to those who may use the commands.
    if not may_use(client, login, spec.who if spec is not None else Who.MAINTAINERS):
        return Decision(Action.DENY, **base)
    if isinstance(parsed, Malformed):
        return Decision(Action.HELP, note=parsed.problem, **base)
    try:
        pull = client.pull(number)
    except NotFoundError:
        return Decision(Action.IGNORE)
    if pull.state != "open":
        return Decision(Action.HELP, note=f"pull request #{number} is not open", **base)
    assert spec is not None
    return Decision(
        spec.action,
        sha=pull.head_sha,
        columns=parsed.columns,
        verdict=parsed.verdict,
        note=parsed.reason,
        **base,
    )


def accept_dispatch(client: GitHubClient, payload: dict[str, Any], now: Clock) -> Decision:
    inputs = payload.get("inputs")
    if not isinstance(inputs, dict):
        raise ConfigError("the workflow_dispatch event has no inputs")
    pr_text, sha = str(inputs.get("pr", "")), inputs.get("head_sha")
    if not PR_INPUT_RE.match(pr_text):
        raise ConfigError(f"input 'pr' {pr_text[:40]!r} is not a pull request number")
    if not isinstance(sha, str) or not SHA_RE.match(sha):
        raise ConfigError("input 'head_sha' is not a 40-character lowercase hex SHA")
    columns = parse_columns(str(inputs.get("columns") or ""))
    if isinstance(columns, Malformed):
        raise ConfigError(f"input 'columns': {columns.problem}")
    sender = payload.get("sender")
    login = sender.get("login") if isinstance(sender, dict) else None
    if not isinstance(login, str) or not LOGIN_RE.match(login):
        raise ConfigError("the workflow_dispatch event has no usable sender login")
    spec = COMMANDS["verify"]  # a manual run is a /verify
    base = {"pr": int(pr_text), "requester": login, "requested_at": now(), "command": spec.word}
    if not may_use(client, login, spec.who):  # dispatching needs write already; checked again
        return Decision(Action.DENY, **base)
    try:
        pull = client.pull(int(pr_text))
    except NotFoundError:
        raise ConfigError(f"pull request #{pr_text} does not exist") from None
    if pull.head_sha != sha:
        return Decision(Action.STALE, sha=sha, note=pull.head_sha, **base)
    return Decision(Action.VERIFY, sha=sha, columns=columns, **base)


def _check_repository(payload: dict[str, Any], repository: str) -> None:
    repo = payload.get("repository")
    full_name = repo.get("full_name") if isinstance(repo, dict) else None
    if full_name != repository:
        raise ConfigError(f"the event is not for GITHUB_REPOSITORY={repository}")
