"""Event payloads for verify.yml's triggers, in GitHub's webhook shape.

Built from the recorded ``pull_request.opened`` fixture's repository and sender, so that the
parts the bot does not read are realistic too; the tests check every payload they build
against @octokit/webhooks-schemas (``webhook_errors``).
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parents[1] / "data" / "events"
WEB = "https://github.com"
API = "https://api.github.com"


@cache
def _template() -> dict[str, Any]:
    return json.loads((EVENTS_DIR / "pull_request.opened.json").read_text())


def repository() -> dict[str, Any]:
    return copy.deepcopy(_template()["repository"])


def webhook_user(login: str, user_id: int = 4242, kind: str = "User") -> dict[str, Any]:
    user = copy.deepcopy(_template()["sender"])
    for key, value in list(user.items()):
        if isinstance(value, str) and user["login"] in value:
            user[key] = value.replace(user["login"], login)
    user.update(login=login, id=user_id, type=kind)
    return user


def _reactions(url: str) -> dict[str, Any]:
    names = ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
    counts = dict.fromkeys(names, 0)
    return {"url": url, "total_count": 0, **counts}


def issue_comment(
    number: int,
    login: str,
    body: str,
    *,
    action: str = "created",
    user_type: str = "User",
    on_pull_request: bool = True,
    comment_id: int = 9001,
    created_at: str = "2024-05-01T12:00:00Z",
) -> dict[str, Any]:
    repo = repository()
    full_name = repo["full_name"]
    issue_api = f"{API}/repos/{full_name}/issues/{number}"
    author = webhook_user(login, kind=user_type)
    issue: dict[str, Any] = {
        "url": issue_api,
        "repository_url": f"{API}/repos/{full_name}",
        "labels_url": f"{issue_api}/labels{{/name}}",
        "comments_url": f"{issue_api}/comments",
        "events_url": f"{issue_api}/events",
        "html_url": f"{WEB}/{full_name}/{'pull' if on_pull_request else 'issues'}/{number}",
        "id": 700000 + number,
        "node_id": f"I_{number}",
        "number": number,
        "title": "Add my model",
        "user": webhook_user("alice", 1001),
        "labels": [],
        "state": "open",
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 1,
        "created_at": "2024-05-01T10:00:00Z",
        "updated_at": created_at,
        "closed_at": None,
        "author_association": "CONTRIBUTOR",
        "active_lock_reason": None,
        "body": "Adds one row.",
        "reactions": _reactions(f"{issue_api}/reactions"),
    }
    if on_pull_request:
        issue["pull_request"] = {
            "url": f"{API}/repos/{full_name}/pulls/{number}",
            "html_url": f"{WEB}/{full_name}/pull/{number}",
            "diff_url": f"{WEB}/{full_name}/pull/{number}.diff",
            "patch_url": f"{WEB}/{full_name}/pull/{number}.patch",
            "merged_at": None,
        }
    comment_api = f"{API}/repos/{full_name}/issues/comments/{comment_id}"
    payload: dict[str, Any] = {
        "action": action,
        "issue": issue,
        "comment": {
            "url": comment_api,
            "html_url": f"{issue['html_url']}#issuecomment-{comment_id}",
            "issue_url": issue_api,
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "user": author,
            "created_at": created_at,
            "updated_at": created_at,
            "author_association": "MEMBER",
            "performed_via_github_app": None,
            "body": body,
            "reactions": _reactions(f"{comment_api}/reactions"),
        },
        "repository": repo,
        "sender": author,
    }
    if action == "edited":
        payload["changes"] = {"body": {"from": "an earlier text"}}
    return payload


def workflow_dispatch(login: str, inputs: dict[str, str]) -> dict[str, Any]:
    return {
        "inputs": inputs,
        "ref": "refs/heads/main",
        "repository": repository(),
        "sender": webhook_user(login),
        "workflow": ".github/workflows/verify.yml",
    }
