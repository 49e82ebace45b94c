"""A thin adapter over PyGithub: the calls the bot makes, plain data out, one error type.

Retries: urllib3 (through PyGithub's ``GithubRetry``) retries 5xx answers and secondary rate
limits with exponential backoff, honouring ``Retry-After``. Whatever still fails is raised as
``InfrastructureError`` (threat model 15), which the CLI reports as exit 3, never as a pass.
Every method reads or writes exactly the REST endpoints named in its docstring.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.PaginatedList import PaginatedList
from github.WorkflowRun import WorkflowRun
from urllib3.exceptions import HTTPError as Urllib3Error

from bot.github.env import GitHubEnv
from bot.github.run_status import Job, Step
from bot.submission.validate import ChangedFile

T = TypeVar("T")

# Methods worth retrying: reads, and writes whose repetition converges (labels are sets,
# edits overwrite, a duplicate sticky comment is deleted by the next upsert).
RETRIED_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PATCH", "PUT", "DELETE"})
HTTP_TIMEOUT_S = 30
PUT_CONFLICT_ATTEMPTS = 4  # a file write that loses a race for the branch head is re-read
# Statuses of a workflow run that has not finished (``waiting``: for an environment approval).
ACTIVE_RUN_STATUSES = ("requested", "queued", "pending", "waiting", "in_progress")


class InfrastructureError(RuntimeError):
    """The GitHub API could not be used (after retries): not a verdict on the submission."""


class NotFoundError(InfrastructureError):
    """The API answered 404 for something the bot expected to exist."""


@dataclass(frozen=True)
class PullInfo:
    number: int
    state: str
    head_sha: str
    base_sha: str
    labels: tuple[str, ...]


@dataclass(frozen=True)
class MergedPull:
    number: int
    url: str
    merge_commit_sha: str


@dataclass(frozen=True)
class CommentInfo:
    id: int
    login: str
    body: str


@dataclass(frozen=True)
class WorkflowRunInfo:
    id: int
    display_title: str
    status: str


@dataclass(frozen=True)
class CheckRunInfo:
    id: int
    name: str
    head_sha: str
    annotations_count: int


def make_github(env: GitHubEnv) -> Github:
    policy = env.retry
    retry = GithubRetry(
        total=policy.retries,
        backoff_factor=policy.backoff_factor,
        secondary_rate_wait=policy.secondary_rate_wait,
        allowed_methods=RETRIED_METHODS,
    )
    return Github(
        auth=Auth.Token(env.token),
        base_url=env.api_url,
        per_page=100,
        retry=retry,
        timeout=HTTP_TIMEOUT_S,
        seconds_between_requests=policy.seconds_between_requests or None,
        seconds_between_writes=policy.seconds_between_writes or None,
        lazy=True,
        user_agent="hearbot",
    )


def _api(what: str, call: Callable[[], T]) -> T:
    """Run one API interaction, turning every transport/API failure into InfrastructureError."""
    try:
        return call()
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        detail = f"HTTP {exc.status}" + (f": {message}" if message else "")
        error_type = NotFoundError if exc.status == 404 else InfrastructureError
        raise error_type(f"GitHub API failed to {what} ({detail})") from exc
    except (requests.RequestException, Urllib3Error) as exc:
        raise InfrastructureError(
            f"GitHub API failed to {what} ({type(exc).__name__}: {exc})"
        ) from exc


class GitHubClient:
    """The repository ``env.repository`` as seen through the REST API."""

    def __init__(self, env: GitHubEnv, github: Github | None = None) -> None:
        self._github = github or make_github(env)
        self._repo = self._github.get_repo(env.repository)

    def close(self) -> None:
        self._github.close()

    # --- reading -------------------------------------------------------------------------

    def open_pulls_with_head(self, head_sha: str) -> list[PullInfo]:
        """``GET /repos/{o}/{r}/pulls?state=open`` (all pages), those whose head is ``head_sha``."""

        def matching() -> list[PullInfo]:
            pulls = self._repo.get_pulls(state="open")
            return [_pull_info(pr) for pr in pulls if pr.head.sha == head_sha]

        return sorted(_api("list open pull requests", matching), key=lambda pr: pr.number)

    def pull(self, number: int) -> PullInfo:
        """``GET /repos/{o}/{r}/pulls/{n}``, always a fresh request."""
        return _api(f"read pull request #{number}", lambda: _pull_info(self._repo.get_pull(number)))

    def merge_base(self, base_sha: str, head_sha: str) -> str:
        """``GET /repos/{o}/{r}/compare/{base}...{head}``: the merge-base commit's SHA."""

        def compare() -> str:
            return self._repo.compare(base_sha, head_sha).merge_base_commit.sha

        return _api(f"compare {base_sha[:12]}...{head_sha[:12]}", compare)

    def commits_between(self, base_sha: str, head_sha: str) -> list[str]:
        """``GET /repos/{o}/{r}/compare/{base}...{head}`` (all pages): the commits on head
        since base, oldest first."""

        def listing() -> list[str]:
            return [commit.sha for commit in self._repo.compare(base_sha, head_sha).commits]

        return _api(f"compare {base_sha[:12]}...{head_sha[:12]}", listing)

    def changed_files(self, number: int) -> tuple[ChangedFile, ...]:
        """``GET /repos/{o}/{r}/pulls/{n}/files`` (all pages; GitHub lists at most 3000)."""

        def listing() -> tuple[ChangedFile, ...]:
            files = self._repo.get_pull(number).get_files()
            return tuple(ChangedFile(path=f.filename, status=f.status) for f in files)

        return _api(f"list the files of pull request #{number}", listing)

    def file_at(self, path: str, sha: str) -> bytes | None:
        """``GET /repos/{o}/{r}/contents/{path}?ref={sha}``; None when there is no file there.

        Files over 1 MB come back without inline content; those are read by blob SHA through
        ``GET /repos/{o}/{r}/git/blobs/{blob_sha}``. A directory or submodule is "no file".
        """

        def read() -> bytes | None:
            try:
                content = self._repo.get_contents(path, ref=sha)
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise
            if isinstance(content, list) or content.type != "file":
                return None
            if content.encoding == "base64":
                return _b64decode(content.content or "")
            blob = self._repo.get_git_blob(content.sha)
            return _b64decode(blob.content) if blob.encoding == "base64" else blob.content.encode()

        return _api(f"read {path} at {sha[:12]}", read)

    def collaborator_permission(self, login: str) -> tuple[str, str] | None:
        """``GET /repos/{o}/{r}/collaborators/{login}/permission``: (permission, role_name), or
        None when GitHub answers 404 (not a user, or no access to a private repository).

        ``permission`` is admin/write/read/none (maintain reads as write, triage as read);
        ``role_name`` names the role itself (admin, maintain, write, triage, read or custom).
        """
        url = f"{self._repo.url}/collaborators/{urllib.parse.quote(login, safe='')}/permission"

        def read() -> tuple[str, str] | None:
            try:
                _, data = self._github.requester.requestJsonAndCheck("GET", url)
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise
            return str(data.get("permission", "")), str(data.get("role_name", ""))

        return _api(f"read the permission of {login}", read)

    def active_workflow_runs(self, workflow_file: str) -> list[WorkflowRunInfo]:
        """``GET /repos/{o}/{r}/actions/workflows/{file}/runs?status=S`` (all pages) for every
        status a run has before it completes."""
        url = f"{self._repo.url}/actions/workflows/{urllib.parse.quote(workflow_file)}/runs"

        def listing() -> list[WorkflowRunInfo]:
            found: dict[int, WorkflowRunInfo] = {}
            for status in ACTIVE_RUN_STATUSES:
                runs = PaginatedList(
                    WorkflowRun,
                    self._github.requester,
                    url,
                    {"status": status, "per_page": 100},
                    list_item="workflow_runs",
                )
                for run in runs:
                    found[run.id] = WorkflowRunInfo(run.id, run.display_title, run.status)
            return [found[key] for key in sorted(found)]

        return _api(f"list the active runs of {workflow_file}", listing)

    def cancel_workflow_run(self, run_id: int) -> bool:
        """``POST /repos/{o}/{r}/actions/runs/{id}/cancel``; False when it already finished
        (GitHub answers 409)."""
        url = f"{self._repo.url}/actions/runs/{run_id}/cancel"

        def cancel() -> bool:
            try:
                self._github.requester.requestJsonAndCheck("POST", url)
            except GithubException as exc:
                if exc.status == 409:
                    return False
                raise
            return True

        return _api(f"cancel workflow run {run_id}", cancel)

    def run_jobs(self, run_id: int) -> list[Job]:
        """``GET /repos/{o}/{r}/actions/runs/{id}/jobs?filter=latest`` (all pages): the jobs of
        the run's latest attempt, with their steps."""
        url = f"{self._repo.url}/actions/runs/{run_id}/jobs"

        def listing() -> list[Job]:
            jobs: list[Job] = []
            page = 1
            while True:
                _headers, data = self._github.requester.requestJsonAndCheck(
                    "GET", url, parameters={"filter": "latest", "per_page": 100, "page": page}
                )
                batch = data.get("jobs", [])
                jobs += [_job(item) for item in batch]
                if len(batch) < 100 or len(jobs) >= int(data.get("total_count", 0)):
                    return jobs
                page += 1

        return _api(f"list the jobs of workflow run {run_id}", listing)

    def put_file(
        self, path: str, data: bytes, branch: str, message: str, *, overwrite: bool = True
    ) -> str:
        """``PUT /repos/{o}/{r}/contents/{path}`` on ``branch``: one commit writing one file.
        "unchanged" (no request) when the file already holds exactly ``data``; else "created"
        or "updated"; "exists" (no request) when it holds something else and not
        ``overwrite``. A missing branch is a NotFoundError."""
        url = f"{self._repo.url}/contents/{urllib.parse.quote(path)}"

        def put() -> str:
            try:
                current = self._repo.get_contents(path, ref=branch)
            except GithubException as exc:
                if exc.status != 404:
                    raise
                current = None
            if isinstance(current, list):
                raise GithubException(422, {"message": f"{path} is a directory"}, None)
            body: dict[str, Any] = {
                "message": message,
                "content": base64.b64encode(data).decode(),
                "branch": branch,
            }
            if current is not None:
                if current.decoded_content == data:
                    return "unchanged"
                if not overwrite:
                    return "exists"
                body["sha"] = current.sha
            self._github.requester.requestJsonAndCheck("PUT", url, input=body)
            return "created" if current is None else "updated"

        def put_again_on_conflict() -> str:
            # Another job moved the branch between our read and our write (GitHub answers
            # 409): read again and write on the new head, a few times.
            for attempt in range(PUT_CONFLICT_ATTEMPTS):
                try:
                    return put()
                except GithubException as exc:
                    if exc.status != 409 or attempt == PUT_CONFLICT_ATTEMPTS - 1:
                        raise
            raise AssertionError("unreachable")

        return _api(f"write {path} on branch {branch}", put_again_on_conflict)

    def merged_pulls_of_commit(self, sha: str) -> list[MergedPull]:
        """``GET /repos/{o}/{r}/commits/{sha}/pulls`` (all pages): the merged PRs GitHub
        associates with the commit (for a squash or rebase merge: the PR it came from)."""
        url = f"{self._repo.url}/commits/{sha}/pulls"

        def listing() -> list[MergedPull]:
            found: list[MergedPull] = []
            page = 1
            while True:
                params = {"per_page": 100, "page": page}
                _, data = self._github.requester.requestJsonAndCheck("GET", url, parameters=params)
                for pr in data or []:
                    if pr.get("merged_at"):
                        found.append(
                            MergedPull(
                                int(pr["number"]),
                                str(pr["html_url"]),
                                str(pr.get("merge_commit_sha") or ""),
                            )
                        )
                if len(data or []) < 100:
                    return sorted(found, key=lambda p: p.number)
                page += 1

        return _api(f"list the pull requests of commit {sha[:12]}", listing)

    # --- repository settings (settings-check) --------------------------------------------

    def _get_or_none(self, what: str, path: str) -> Any:
        """``GET {repo}/{path}``: the JSON, or None when GitHub answers 404 (not set)."""
        url = f"{self._repo.url}/{path}"

        def read() -> Any:
            try:
                _, data = self._github.requester.requestJsonAndCheck("GET", url)
            except GithubException as exc:
                if exc.status == 404:
                    return None
                raise
            return data

        return _api(f"read {what}", read)

    def required_status_checks(self, branch: str) -> list[str] | None:
        """``GET .../branches/{b}/protection/required_status_checks``: the required check
        names, or None when the branch requires none (404)."""
        path = f"branches/{urllib.parse.quote(branch, safe='')}/protection/required_status_checks"
        data = self._get_or_none(f"the required checks of {branch}", path)
        if data is None:
            return None
        names = [str(c.get("context", "")) for c in data.get("checks") or []]
        return sorted(set(names) | {str(c) for c in data.get("contexts") or []})

    def environment(self, name: str) -> dict[str, Any] | None:
        """``GET .../environments/{name}``, or None when it does not exist."""
        return self._get_or_none(
            f"environment {name}", f"environments/{urllib.parse.quote(name, safe='')}"
        )

    def actions_workflow_permissions(self) -> dict[str, Any]:
        """``GET .../actions/permissions/workflow``: the default GITHUB_TOKEN permissions."""
        return self._get_or_none("the workflow permissions", "actions/permissions/workflow") or {}

    def actions_permissions(self) -> dict[str, Any]:
        """``GET .../actions/permissions``: whether Actions runs, and which actions may."""
        return self._get_or_none("the Actions permissions", "actions/permissions") or {}

    def branch_exists(self, branch: str) -> bool:
        """``GET .../git/ref/heads/{branch}``."""
        ref = f"git/ref/heads/{urllib.parse.quote(branch, safe='')}"
        return self._get_or_none(f"branch {branch}", ref) is not None

    def pages(self) -> dict[str, Any] | None:
        """``GET .../pages``, or None when Pages is off."""
        return self._get_or_none("the Pages settings", "pages")

    # --- the sticky comment ---------------------------------------------------------------

    def issue_comments(self, number: int) -> list[CommentInfo]:
        """``GET /repos/{o}/{r}/issues/{n}/comments`` (all pages)."""

        def listing() -> list[CommentInfo]:
            comments = self._repo.get_issue(number).get_comments()
            return [
                CommentInfo(id=c.id, login=c.user.login if c.user else "", body=c.body or "")
                for c in comments
            ]

        return _api(f"list the comments of pull request #{number}", listing)

    def create_comment(self, number: int, body: str) -> int:
        """``POST /repos/{o}/{r}/issues/{n}/comments``."""
        return _api(
            f"comment on pull request #{number}",
            lambda: self._repo.get_issue(number).create_comment(body).id,
        )

    def edit_comment(self, number: int, comment_id: int, body: str) -> None:
        """``PATCH /repos/{o}/{r}/issues/comments/{id}``."""
        _api(
            f"edit comment {comment_id}",
            lambda: self._repo.get_issue(number).get_comment(comment_id).edit(body),
        )

    def delete_comment(self, number: int, comment_id: int) -> None:
        """``DELETE /repos/{o}/{r}/issues/comments/{id}``."""
        _api(
            f"delete comment {comment_id}",
            lambda: self._repo.get_issue(number).get_comment(comment_id).delete(),
        )

    # --- the check run --------------------------------------------------------------------

    def check_runs(self, head_sha: str, name: str) -> list[CheckRunInfo]:
        """``GET /repos/{o}/{r}/commits/{sha}/check-runs?check_name=...`` (all pages)."""

        def listing() -> list[CheckRunInfo]:
            runs = self._repo.get_commit(head_sha).get_check_runs(check_name=name)
            return [
                CheckRunInfo(
                    id=run.id,
                    name=run.name,
                    head_sha=run.head_sha,
                    annotations_count=run.output.annotations_count if run.output else 0,
                )
                for run in runs
            ]

        return _api(f"list check runs of {head_sha[:12]}", listing)

    def create_check_run(self, payload: dict[str, Any]) -> int:
        """``POST /repos/{o}/{r}/check-runs``."""
        return _api("create a check run", lambda: self._repo.create_check_run(**payload).id)

    def update_check_run(self, check_run_id: int, payload: dict[str, Any]) -> None:
        """``PATCH /repos/{o}/{r}/check-runs/{id}``."""
        _api(
            f"update check run {check_run_id}",
            lambda: self._repo.get_check_run(check_run_id).edit(**payload),
        )

    # --- labels ---------------------------------------------------------------------------

    def add_labels(self, number: int, names: Iterable[str]) -> None:
        """``POST /repos/{o}/{r}/issues/{n}/labels`` (GitHub creates missing labels).

        Sent as ``{"labels": [...]}``, the form GitHub's OpenAPI description documents;
        PyGithub's ``add_to_labels`` sends a bare array, which the description no longer has.
        """
        url = f"{self._repo.url}/issues/{number}/labels"
        body = {"labels": list(names)}
        _api(
            f"label pull request #{number}",
            lambda: self._github.requester.requestJsonAndCheck("POST", url, input=body),
        )

    def remove_label(self, number: int, name: str) -> None:
        """``DELETE /repos/{o}/{r}/issues/{n}/labels/{name}``; a label already gone is fine."""

        def remove() -> None:
            try:
                self._repo.get_issue(number).remove_from_labels(name)
            except GithubException as exc:
                if exc.status != 404:
                    raise

        _api(f"remove label {name!r} from pull request #{number}", remove)


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def _job(item: dict[str, Any]) -> Job:
    return Job(
        id=int(item["id"]),
        name=str(item["name"]),
        status=str(item["status"]),
        conclusion=item.get("conclusion"),
        started_at=_time(item.get("started_at")),
        html_url=str(item.get("html_url") or ""),
        runner_name=item.get("runner_name"),
        steps=tuple(
            Step(
                str(step["name"]),
                str(step["status"]),
                step.get("conclusion"),
                _time(step.get("started_at")),
            )
            for step in item.get("steps") or ()
        ),
    )


def _pull_info(pr: Any) -> PullInfo:
    return PullInfo(
        number=pr.number,
        state=pr.state,
        head_sha=pr.head.sha,
        base_sha=pr.base.sha,
        labels=tuple(label.name for label in pr.labels),
    )


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise InfrastructureError(f"GitHub returned undecodable base64 content ({exc})") from exc
