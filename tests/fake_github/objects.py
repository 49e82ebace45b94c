"""JSON objects as the REST API returns them, built from the fake's state.

Every object is complete: it carries each property GitHub's OpenAPI schema marks required,
with URLs that point back at the fake (PyGithub follows ``url``, ``issue_url`` and ``Link``).
Values the bot never reads (counts, avatars, ...) are plain but realistic.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

WEB = "https://github.com"


@dataclass(frozen=True)
class Site:
    api: str  # e.g. http://127.0.0.1:40123

    def repo_api(self, full_name: str) -> str:
        return f"{self.api}/repos/{full_name}"


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def git_blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def user(site: Site, login: str, user_id: int, kind: str = "User") -> dict[str, Any]:
    api = f"{site.api}/users/{login}"
    return {
        "login": login,
        "id": user_id,
        "node_id": node_id("User", user_id),
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": kind,
        "site_admin": False,
        "user_view_type": "public",
    }


_REPO_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def repository(
    site: Site, full_name: str, repo_id: int, owner: dict[str, Any], *, fork: bool
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    name = full_name.split("/", 1)[1]
    data: dict[str, Any] = {
        "id": repo_id,
        "node_id": node_id("Repository", repo_id),
        "name": name,
        "full_name": full_name,
        "owner": owner,
        "private": False,
        "html_url": f"{WEB}/{full_name}",
        "description": "HEAR benchmark leaderboard",
        "fork": fork,
        "url": api,
        "clone_url": f"{WEB}/{full_name}.git",
        "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git",
        "svn_url": f"{WEB}/{full_name}",
        "mirror_url": None,
        "homepage": None,
        "language": "Python",
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "size": 120,
        "default_branch": "main",
        "open_issues": 0,
        "open_issues_count": 0,
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": True,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "public",
        "license": None,
        "allow_forking": True,
        "web_commit_signoff_required": False,
        "pushed_at": "2024-01-01T00:00:00Z",
        "created_at": "2023-01-01T00:00:00Z",
        "updated_at": "2024-01-01T00:00:00Z",
    }
    for key, suffix in _REPO_URL_TEMPLATES.items():
        data[key] = api + suffix
    return data


def label(site: Site, full_name: str, label_id: int, name: str, color: str) -> dict[str, Any]:
    return {
        "id": label_id,
        "node_id": node_id("Label", label_id),
        "url": f"{site.repo_api(full_name)}/labels/{name}",
        "name": name,
        # GitHub may send null here, but the spec's pull-request schemas say string
        "description": "",
        "color": color,
        "default": False,
    }


def pull_links(site: Site, full_name: str, number: int, head_sha: str) -> dict[str, Any]:
    api = site.repo_api(full_name)
    return {
        "self": {"href": f"{api}/pulls/{number}"},
        "html": {"href": f"{WEB}/{full_name}/pull/{number}"},
        "issue": {"href": f"{api}/issues/{number}"},
        "comments": {"href": f"{api}/issues/{number}/comments"},
        "review_comments": {"href": f"{api}/pulls/{number}/comments"},
        "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
        "commits": {"href": f"{api}/pulls/{number}/commits"},
        "statuses": {"href": f"{api}/statuses/{head_sha}"},
    }


def pull_request_simple(
    site: Site,
    full_name: str,
    *,
    pull_id: int,
    number: int,
    state: str,
    title: str,
    body: str | None,
    author: dict[str, Any],
    head: dict[str, Any],
    base: dict[str, Any],
    labels: list[dict[str, Any]],
    created_at: str,
    updated_at: str,
    closed_at: str | None,
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    return {
        "url": f"{api}/pulls/{number}",
        "id": pull_id,
        "node_id": node_id("PullRequest", pull_id),
        "html_url": f"{WEB}/{full_name}/pull/{number}",
        "diff_url": f"{WEB}/{full_name}/pull/{number}.diff",
        "patch_url": f"{WEB}/{full_name}/pull/{number}.patch",
        "issue_url": f"{api}/issues/{number}",
        "commits_url": f"{api}/pulls/{number}/commits",
        "review_comments_url": f"{api}/pulls/{number}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "comments_url": f"{api}/issues/{number}/comments",
        "statuses_url": f"{api}/statuses/{head['sha']}",
        "number": number,
        "state": state,
        "locked": False,
        "title": title,
        "user": author,
        "body": body,
        "labels": labels,
        "milestone": None,
        "active_lock_reason": None,
        "created_at": created_at,
        "updated_at": updated_at,
        "closed_at": closed_at,
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "head": head,
        "base": base,
        "_links": pull_links(site, full_name, number, head["sha"]),
        "author_association": "CONTRIBUTOR",
        "auto_merge": None,
        "draft": False,
    }


def pull_request_full(
    simple: dict[str, Any],
    *,
    commits: int,
    additions: int,
    deletions: int,
    changed_files: int,
    comments: int,
) -> dict[str, Any]:
    return {
        **simple,
        "merged": False,
        "mergeable": True,
        "rebaseable": True,
        "mergeable_state": "clean",
        "merged_by": None,
        "comments": comments,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": commits,
        "additions": additions,
        "deletions": deletions,
        "changed_files": changed_files,
    }


def pull_ref(site: Site, repo: dict[str, Any], ref: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{repo['owner']['login']}:{ref}",
        "ref": ref,
        "sha": sha,
        "user": repo["owner"],
        "repo": repo,
    }


def diff_entry(
    site: Site,
    full_name: str,
    head_sha: str,
    path: str,
    status: str,
    blob_sha: str,
    additions: int,
    deletions: int,
    patch: str | None,
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    entry = {
        "sha": blob_sha,
        "filename": path,
        "status": status,
        "additions": additions,
        "deletions": deletions,
        "changes": additions + deletions,
        "blob_url": f"{WEB}/{full_name}/blob/{head_sha}/{path}",
        "raw_url": f"{WEB}/{full_name}/raw/{head_sha}/{path}",
        "contents_url": f"{api}/contents/{path}?ref={head_sha}",
    }
    if patch is not None:
        entry["patch"] = patch
    return entry


def content_file(
    site: Site, full_name: str, ref: str, path: str, data: bytes, *, inline: bool
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    sha = git_blob_sha(data)
    url = f"{api}/contents/{path}?ref={ref}"
    git_url = f"{api}/git/blobs/{sha}"
    html_url = f"{WEB}/{full_name}/blob/{ref}/{path}"
    return {
        "type": "file",
        "encoding": "base64" if inline else "none",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": base64.encodebytes(data).decode() if inline else "",
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": f"https://raw.githubusercontent.com/{full_name}/{ref}/{path}",
        "_links": {"git": git_url, "self": url, "html": html_url},
    }


def content_directory_entry(
    site: Site, full_name: str, ref: str, path: str, kind: str, sha: str, size: int
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    url = f"{api}/contents/{path}?ref={ref}"
    git_url = f"{api}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
    html_url = f"{WEB}/{full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
    return {
        "type": kind,
        "size": size,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git_url,
        "html_url": html_url,
        "download_url": None
        if kind == "dir"
        else f"https://raw.githubusercontent.com/{full_name}/{ref}/{path}",
        "_links": {"git": git_url, "self": url, "html": html_url},
    }


def blob(site: Site, full_name: str, data: bytes) -> dict[str, Any]:
    sha = git_blob_sha(data)
    return {
        "sha": sha,
        "node_id": node_id("Blob", int(sha[:8], 16)),
        "size": len(data),
        "url": f"{site.repo_api(full_name)}/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode(),
        "encoding": "base64",
    }


def commit(
    site: Site,
    full_name: str,
    sha: str,
    message: str,
    parents: tuple[str, ...],
    date: str,
    tree_sha: str,
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    person = {"name": "A Submitter", "email": "submitter@example.com", "date": date}
    return {
        "url": f"{api}/commits/{sha}",
        "sha": sha,
        "node_id": node_id("Commit", int(sha[:8], 16)),
        "html_url": f"{WEB}/{full_name}/commit/{sha}",
        "comments_url": f"{api}/commits/{sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{sha}",
            "author": person,
            "committer": person,
            "message": message,
            "comment_count": 0,
            "tree": {"sha": tree_sha, "url": f"{api}/git/trees/{tree_sha}"},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        "author": None,
        "committer": None,
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{WEB}/{full_name}/commit/{p}"}
            for p in parents
        ],
    }


def comparison(
    site: Site,
    full_name: str,
    basehead: str,
    *,
    base_commit: dict[str, Any],
    merge_base_commit: dict[str, Any],
    status: str,
    ahead_by: int,
    behind_by: int,
    commits: list[dict[str, Any]],
    files: list[dict[str, Any]],
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    return {
        "url": f"{api}/compare/{basehead}",
        "html_url": f"{WEB}/{full_name}/compare/{basehead}",
        "permalink_url": f"{WEB}/{full_name}/compare/{basehead}",
        "diff_url": f"{WEB}/{full_name}/compare/{basehead}.diff",
        "patch_url": f"{WEB}/{full_name}/compare/{basehead}.patch",
        "base_commit": base_commit,
        "merge_base_commit": merge_base_commit,
        "status": status,
        "ahead_by": ahead_by,
        "behind_by": behind_by,
        "total_commits": len(commits),
        "commits": commits,
        "files": files,
    }


def issue_comment(
    site: Site,
    full_name: str,
    *,
    comment_id: int,
    number: int,
    author: dict[str, Any],
    body: str,
    created_at: str,
    updated_at: str,
    association: str,
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    return {
        "id": comment_id,
        "node_id": node_id("IssueComment", comment_id),
        "url": f"{api}/issues/comments/{comment_id}",
        "html_url": f"{WEB}/{full_name}/pull/{number}#issuecomment-{comment_id}",
        "body": body,
        "user": author,
        "created_at": created_at,
        "updated_at": updated_at,
        "issue_url": f"{api}/issues/{number}",
        "author_association": association,
        "performed_via_github_app": None,
    }


def github_actions_app(site: Site) -> dict[str, Any]:
    owner = user(site, "github", 9919, "Organization")
    return {
        "id": 15368,
        "slug": "github-actions",
        "client_id": "Iv1.05c79e9ad1f6bdfa",
        "node_id": node_id("Integration", 15368),
        "owner": owner,
        "name": "GitHub Actions",
        "description": "Automate your workflow from idea to production",
        "external_url": "https://help.github.com/en/actions",
        "html_url": f"{WEB}/apps/github-actions",
        "created_at": "2018-07-30T09:30:17Z",
        "updated_at": "2024-04-10T20:33:16Z",
        "permissions": {"checks": "write", "issues": "write", "pull_requests": "write"},
        "events": ["check_run", "pull_request", "workflow_run"],
    }


def check_run(
    site: Site,
    full_name: str,
    *,
    run_id: int,
    name: str,
    head_sha: str,
    status: str,
    conclusion: str | None,
    started_at: str,
    completed_at: str | None,
    output: dict[str, Any],
    annotations_count: int,
    external_id: str,
    details_url: str | None,
    suite_id: int,
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    return {
        "id": run_id,
        "node_id": node_id("CheckRun", run_id),
        "head_sha": head_sha,
        "external_id": external_id,
        "url": f"{api}/check-runs/{run_id}",
        "html_url": f"{WEB}/{full_name}/runs/{run_id}",
        "details_url": details_url,
        "status": status,
        "conclusion": conclusion,
        "started_at": started_at,
        "completed_at": completed_at,
        "output": {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": annotations_count,
            "annotations_url": f"{api}/check-runs/{run_id}/annotations",
        },
        "name": name,
        "check_suite": {"id": suite_id},
        "app": github_actions_app(site),
        "pull_requests": [],
    }


def basic_error(
    message: str, status: int, doc: str = "https://docs.github.com/rest"
) -> dict[str, Any]:
    return {"message": message, "documentation_url": doc, "status": str(status)}


def collaborator_permission(
    site: Site, login: str, user_id: int, kind: str, role: str
) -> dict[str, Any]:
    """``repository-collaborator-permission``: ``permission`` folds maintain into write and
    triage into read, as GitHub does; ``role_name`` keeps the role."""
    permission = {"maintain": "write", "triage": "read"}.get(role, role)
    levels = ("read", "triage", "write", "maintain", "admin")
    rank = levels.index(role) if role in levels else -1
    return {
        "permission": permission,
        "role_name": role,
        "user": {
            **user(site, login, user_id, kind),
            "permissions": {
                "pull": rank >= 0,
                "triage": rank >= 1,
                "push": rank >= 2,
                "maintain": rank >= 3,
                "admin": rank >= 4,
            },
            "role_name": role,
        },
    }


def workflow_run(
    site: Site,
    full_name: str,
    repo: dict[str, Any],
    actor: dict[str, Any],
    *,
    run_id: int,
    workflow_id: int,
    path: str,
    display_title: str,
    event: str,
    status: str,
    conclusion: str | None,
    head_sha: str,
    created_at: str,
) -> dict[str, Any]:
    api = f"{site.repo_api(full_name)}/actions/runs/{run_id}"
    return {
        "id": run_id,
        "name": "Verify submission",
        "node_id": node_id("WorkflowRun", run_id),
        "check_suite_id": run_id + 1,
        "check_suite_node_id": node_id("CheckSuite", run_id + 1),
        "head_branch": "main",
        "head_sha": head_sha,
        "path": path,
        "run_number": run_id,
        "run_attempt": 1,
        "referenced_workflows": [],
        "event": event,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": workflow_id,
        "url": api,
        "html_url": f"{WEB}/{full_name}/actions/runs/{run_id}",
        "pull_requests": [],
        "created_at": created_at,
        "updated_at": created_at,
        "actor": actor,
        "triggering_actor": actor,
        "run_started_at": created_at,
        "jobs_url": f"{api}/jobs",
        "logs_url": f"{api}/logs",
        "check_suite_url": f"{site.repo_api(full_name)}/check-suites/{run_id + 1}",
        "artifacts_url": f"{api}/artifacts",
        "cancel_url": f"{api}/cancel",
        "rerun_url": f"{api}/rerun",
        "previous_attempt_url": None,
        "workflow_url": f"{site.repo_api(full_name)}/actions/workflows/{workflow_id}",
        "head_commit": {
            "id": head_sha,
            "tree_id": head_sha[::-1],
            "message": "commit",
            "timestamp": created_at,
            "author": {"name": "A Maintainer", "email": "maintainer@example.com"},
            "committer": {"name": "A Maintainer", "email": "maintainer@example.com"},
        },
        "repository": repo,
        "head_repository": repo,
        "display_title": display_title,
    }


def workflow_job(
    site: Site,
    full_name: str,
    *,
    job_id: int,
    run_id: int,
    name: str,
    status: str,
    conclusion: str | None,
    head_sha: str,
    created_at: str,
    started_at: str,
    completed_at: str | None,
    labels: list[str],
    runner_name: str | None,
    steps: list[dict[str, Any]],
) -> dict[str, Any]:
    api = site.repo_api(full_name)
    assigned = runner_name is not None
    return {
        "id": job_id,
        "run_id": run_id,
        "run_url": f"{api}/actions/runs/{run_id}",
        "run_attempt": 1,
        "node_id": node_id("CheckRun", job_id),
        "head_sha": head_sha,
        "url": f"{api}/actions/jobs/{job_id}",
        "html_url": f"{WEB}/{full_name}/actions/runs/{run_id}/job/{job_id}",
        "status": status,
        "conclusion": conclusion,
        "created_at": created_at,
        "started_at": started_at,
        "completed_at": completed_at,
        "name": name,
        "steps": steps,
        "check_run_url": f"{api}/check-runs/{job_id}",
        "labels": labels,
        "runner_id": 7 if assigned else None,
        "runner_name": runner_name,
        "runner_group_id": 1 if assigned else None,
        "runner_group_name": "Default" if assigned else None,
        "workflow_name": "Verify submission",
        "head_branch": "main",
    }
