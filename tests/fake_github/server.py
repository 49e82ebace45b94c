"""A stateful fake of the GitHub REST API, served on 127.0.0.1, checked against GitHub's spec.

Routing goes through the OpenAPI description itself (``Spec.match``): a request GitHub would
not recognise is a violation. Each request and each response is validated (see openapi.py);
violations are collected in ``FakeGitHub.violations`` and the test fixture fails the test on
any. Only the operations the bot uses are implemented; any other is a violation too.

State: one repository (plus the forks PRs come from), commits with their files, branches,
pull requests, issue comments, check runs with accumulated annotations, labels, users,
repository roles, workflow runs (listed and cancelled) and tokens. Faults can be injected:
N answers of 5xx, or secondary-rate-limit 403s.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import threading
import traceback
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.fake_github import objects
from tests.fake_github.openapi import Match, Spec, load_spec

INLINE_CONTENT_LIMIT = 1024 * 1024  # the contents API inlines files up to 1 MB
MAX_PR_FILES = 3000
SECONDARY_RATE_LIMIT_MESSAGE = (
    "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
    "If you reach out to GitHub Support for help, please include the request ID "
    "ABCD:1234:5678:9ABC:DEF0."
)
EPOCH = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

Json = Any
Reply = tuple[int, Json, dict[str, str]]


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = {**objects.basic_error(message, status), **extra}


@dataclass
class Commit:
    sha: str
    parents: tuple[str, ...]
    files: dict[str, bytes]
    message: str
    date: str


@dataclass
class Pull:
    number: int
    pull_id: int
    author: str
    head_repo: str
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str
    title: str
    body: str | None
    state: str = "open"
    labels: list[str] = field(default_factory=list)
    created_at: str = ""
    updated_at: str = ""
    merge_commit_sha: str | None = None  # set by merge_pull


@dataclass
class Comment:
    id: int
    number: int
    author: str
    body: str
    created_at: str
    updated_at: str


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None
    started_at: str
    completed_at: str | None
    output: dict[str, Any]
    annotations: list[dict[str, Any]]
    external_id: str
    details_url: str | None
    suite_id: int


@dataclass
class WorkflowRunState:
    id: int
    path: str  # .github/workflows/<file>
    display_title: str
    event: str
    status: str
    conclusion: str | None
    head_sha: str
    actor: str
    created_at: str


@dataclass
class WorkflowJobState:
    id: int
    run_id: int
    name: str
    status: str  # queued, in_progress, completed, waiting, requested, pending
    conclusion: str | None
    labels: list[str]
    created_at: str
    started_at: str
    completed_at: str | None = None
    runner_name: str | None = None
    steps: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Fault:
    remaining: int
    status: int
    body: Json
    headers: dict[str, str]
    method: str | None
    path_contains: str | None

    def applies(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in path)
        )


@dataclass(frozen=True)
class Record:
    method: str
    path: str
    query: dict[str, list[str]]
    operation_id: str | None
    status: int
    injected: bool
    body: Json


class FakeGitHub:
    """Start with ``with FakeGitHub() as fake:``; ``fake.base_url`` is PyGithub's base_url."""

    def __init__(
        self,
        repository: str = "hearbenchmark/hear-leaderboard",
        *,
        token: str = "test-token",
        bot_login: str = "github-actions[bot]",
        spec: Spec | None = None,
    ) -> None:
        self.repository = repository
        self.spec = spec or load_spec()
        self.lock = threading.RLock()
        self.violations: list[str] = []
        self.log: list[Record] = []
        self.faults: list[Fault] = []
        self.hooks: list[Callable[[Record], None]] = []
        self.users: dict[str, tuple[int, str]] = {}
        self.tokens: dict[str, str] = {token: bot_login}
        self.commits: dict[str, Commit] = {}
        self.branches: dict[str, str] = {}
        self.pulls: dict[int, Pull] = {}
        self.comments: dict[int, Comment] = {}
        self.check_runs: dict[int, CheckRun] = {}
        self.labels: dict[str, tuple[int, str, str]] = {}  # casefold -> (id, name, color)
        self.roles: dict[str, str] = {}  # login -> admin/maintain/write/triage/read
        self.workflow_runs: dict[int, WorkflowRunState] = {}
        self.workflow_jobs: dict[int, WorkflowJobState] = {}
        # repository settings (settings-check): GitHub's defaults for a new public repository
        self.required_checks: dict[str, list[str]] = {}  # protected branch -> check names
        self.environments: dict[str, dict[str, Any]] = {}  # name -> reviewers, branch_policy
        self.workflow_permissions = {
            "default_workflow_permissions": "read",
            "can_approve_pull_request_reviews": False,
        }
        self.actions_permissions: dict[str, Any] = {"enabled": True, "allowed_actions": "all"}
        self.pages_build_type: str | None = None  # None: Pages is off
        self._ids = 1000
        self._tick = 0
        self.add_user(repository.split("/")[0], "Organization")
        self.add_user(bot_login, "Bot")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.handlers: dict[str, Callable[[dict[str, str], dict[str, list[str]], Json, str], Reply]]
        self.handlers = {
            "pulls/list": self._list_pulls,
            "pulls/get": self._get_pull,
            "pulls/list-files": self._list_pull_files,
            "repos/compare-commits-with-basehead": self._compare,
            "repos/get-content": self._get_content,
            "repos/create-or-update-file-contents": self._put_content,
            "repos/get-status-checks-protection": self._get_required_checks,
            "repos/get-environment": self._get_environment,
            "actions/get-github-actions-default-workflow-permissions-repository": (
                lambda *_: (200, dict(self.workflow_permissions), {})
            ),
            "actions/get-github-actions-permissions-repository": (
                lambda *_: (200, dict(self.actions_permissions), {})
            ),
            "git/get-ref": self._get_ref,
            "repos/list-pull-requests-associated-with-commit": self._pulls_of_commit,
            "repos/get-pages": self._get_pages,
            "git/get-blob": self._get_blob,
            "issues/list-comments": self._list_comments,
            "issues/create-comment": self._create_comment,
            "issues/update-comment": self._update_comment,
            "issues/delete-comment": self._delete_comment,
            "checks/list-for-ref": self._list_check_runs,
            "checks/create": self._create_check_run,
            "checks/update": self._update_check_run,
            "issues/add-labels": self._add_labels,
            "issues/remove-label": self._remove_label,
            "repos/get-collaborator-permission-level": self._get_permission,
            "actions/list-workflow-runs": self._list_workflow_runs,
            "actions/cancel-workflow-run": self._cancel_workflow_run,
            "actions/list-jobs-for-workflow-run": self._list_run_jobs,
        }

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> FakeGitHub:
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeGitHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def site(self) -> objects.Site:
        return objects.Site(api=self.base_url)

    # --- seeding state -----------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def now(self) -> str:
        self._tick += 1
        return (EPOCH + dt.timedelta(seconds=self._tick)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def add_user(self, login: str, kind: str = "User") -> None:
        with self.lock:
            if login not in self.users:
                self.users[login] = (self._next_id(), kind)

    def add_token(self, token: str, login: str) -> None:
        self.add_user(login)
        self.tokens[token] = login

    def commit(
        self, files: dict[str, bytes], parents: tuple[str, ...] = (), message: str = "commit"
    ) -> str:
        with self.lock:
            digest = hashlib.sha1()
            for path in sorted(files):
                digest.update(path.encode() + b"\0" + objects.git_blob_sha(files[path]).encode())
            digest.update(repr((parents, message, len(self.commits))).encode())
            sha = digest.hexdigest()
            self.commits[sha] = Commit(sha, tuple(parents), dict(files), message, self.now())
            return sha

    def set_branch(self, name: str, sha: str) -> None:
        self.branches[name] = sha

    def open_pull(
        self,
        head_sha: str,
        *,
        base: str = "main",
        author: str = "alice",
        head_ref: str = "add-my-model",
        head_repo: str | None = None,
        title: str = "Add my model",
        body: str | None = "Adds one row.",
    ) -> int:
        with self.lock:
            self.add_user(author)
            number = max([0, *self.pulls]) + 1
            created = self.now()
            self.pulls[number] = Pull(
                number=number,
                pull_id=self._next_id(),
                author=author,
                head_repo=head_repo or f"{author}/{self.repository.split('/')[1]}",
                head_ref=head_ref,
                head_sha=head_sha,
                base_ref=base,
                base_sha=self.branches[base],
                title=title,
                body=body,
                created_at=created,
                updated_at=created,
            )
            return number

    def push(self, number: int, head_sha: str) -> None:
        with self.lock:
            pull = self.pulls[number]
            pull.head_sha = head_sha
            pull.updated_at = self.now()

    def merge_pull(self, number: int, merge_commit_sha: str) -> None:
        """The PR was merged as ``merge_commit_sha`` (already on its base branch): closed, and
        associated with that commit as GitHub does for squash, rebase and merge commits."""
        with self.lock:
            pull = self.pulls[number]
            pull.state = "closed"
            pull.merge_commit_sha = merge_commit_sha
            pull.updated_at = self.now()

    def add_comment(self, number: int, author: str, body: str) -> int:
        with self.lock:
            self.add_user(author)
            when = self.now()
            comment = Comment(self._next_id(), number, author, body, when, when)
            self.comments[comment.id] = comment
            return comment.id

    def set_role(self, login: str, role: str) -> None:
        """Give ``login`` a repository role (admin, maintain, write, triage or read). Users
        without one read the public repository: ``read``, as GitHub answers."""
        self.add_user(login)
        self.roles[login] = role

    def add_workflow_run(
        self,
        workflow_file: str,
        display_title: str,
        *,
        status: str = "queued",
        event: str = "issue_comment",
        actor: str = "maintainer",
    ) -> int:
        with self.lock:
            self.add_user(actor)
            run_id = self._next_id()
            self.workflow_runs[run_id] = WorkflowRunState(
                id=run_id,
                path=f".github/workflows/{workflow_file}",
                display_title=display_title,
                event=event,
                status=status,
                conclusion=None,
                head_sha=self.branches.get("main", "0" * 40),
                actor=actor,
                created_at=self.now(),
            )
            return run_id

    def add_job(
        self,
        run_id: int,
        name: str,
        *,
        status: str = "queued",
        labels: tuple[str, ...] = ("self-hosted", "linux", "gpu"),
    ) -> int:
        """A job of workflow run ``run_id`` (``GET .../actions/runs/{id}/jobs`` lists it)."""
        with self.lock:
            job_id = self._next_id()
            created = self.now()
            self.workflow_jobs[job_id] = WorkflowJobState(
                id=job_id,
                run_id=run_id,
                name=name,
                status=status,
                conclusion=None,
                labels=list(labels),
                created_at=created,
                started_at=created,
            )
            return job_id

    def set_job(
        self,
        job_id: int,
        *,
        status: str,
        conclusion: str | None = None,
        runner_name: str | None = None,
        started_at: str | None = None,
        step: str | None = None,
        step_started_at: str | None = None,
    ) -> None:
        """Move a job on: ``step`` becomes the running step (earlier ones completed), started
        at ``step_started_at`` (default: the fake's clock)."""
        with self.lock:
            job = self.workflow_jobs[job_id]
            job.status, job.conclusion = status, conclusion
            if runner_name is not None:
                job.runner_name = runner_name
            if started_at is not None:
                job.started_at = started_at
            if status == "completed":
                job.completed_at = self.now()
                for old in job.steps:
                    if old["status"] != "completed":
                        old.update(status="completed", conclusion=conclusion or "success")
                        old["completed_at"] = job.completed_at
            if step is not None:
                for old in job.steps:
                    if old["status"] != "completed":
                        old.update(status="completed", conclusion="success")
                        old["completed_at"] = self.now()
                job.steps.append(
                    {
                        "name": step,
                        "status": "in_progress",
                        "conclusion": None,
                        "number": len(job.steps) + 1,
                        "started_at": step_started_at or self.now(),
                        "completed_at": None,
                    }
                )

    def label_pull(self, number: int, *names: str) -> None:
        with self.lock:
            for name in names:
                self._ensure_label(name)
                if name.casefold() not in {n.casefold() for n in self.pulls[number].labels}:
                    self.pulls[number].labels.append(self.labels[name.casefold()][1])

    def fail(
        self,
        times: int,
        status: int = 502,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        message: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status`` (5xx as GitHub's proxies
        do, or e.g. a 403 that is not a rate limit)."""
        default = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        body = objects.basic_error(message or default.get(status, "Error"), status)
        self.faults.append(Fault(times, status, body, {}, method, path_contains))

    def secondary_rate_limit(
        self,
        times: int,
        *,
        retry_after: int | None = 1,
        method: str | None = None,
        path_contains: str | None = None,
    ) -> None:
        body = objects.basic_error(
            SECONDARY_RATE_LIMIT_MESSAGE,
            403,
            "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            "#about-secondary-rate-limits",
        )
        headers = {"x-ratelimit-remaining": "4990", "x-ratelimit-resource": "core"}
        if retry_after is not None:
            headers["retry-after"] = str(retry_after)
        self.faults.append(Fault(times, 403, body, headers, method, path_contains))

    # --- inspecting state --------------------------------------------------------------

    def comments_on(self, number: int) -> list[Comment]:
        with self.lock:
            return sorted(
                (c for c in self.comments.values() if c.number == number), key=lambda c: c.id
            )

    def check_runs_on(self, sha: str) -> list[CheckRun]:
        with self.lock:
            return sorted(
                (r for r in self.check_runs.values() if r.head_sha == sha), key=lambda r: r.id
            )

    def labels_on(self, number: int) -> list[str]:
        with self.lock:
            return list(self.pulls[number].labels)

    def writes(self) -> list[Record]:
        return [r for r in self.log if r.method != "GET"]

    # --- the HTTP side -----------------------------------------------------------------

    def handle(self, request: _Handler) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        method = request.command
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        length = int(request.headers.get("Content-Length") or 0)
        raw_body = request.rfile.read(length) if length else b""
        content_type = request.headers.get("Content-Type", "")
        match = self.spec.match(method, parsed.path)
        where = f"{method} {parsed.path}"
        if match is None:
            self._violation(f"{where}: no such operation in GitHub's OpenAPI description")
            self._send(request, 404, objects.basic_error("Not Found", 404), {})
            return
        op_id = match.operation.operation_id
        errors = self.spec.request_errors(match, query, raw_body, content_type)
        injected = False
        if errors:
            for error in errors:
                self._violation(f"{where} ({op_id}) request: {error}")
            status, body, headers = (
                422,
                objects.basic_error(
                    "fake GitHub: request does not match GitHub's OpenAPI description: "
                    + "; ".join(errors),
                    422,
                ),
                {},
            )
        elif (login := self._login(request)) is None:
            status, body, headers = 401, objects.basic_error("Bad credentials", 401), {}
        elif (fault := self._take_fault(method, parsed.path)) is not None:
            status, body, headers, injected = fault.status, fault.body, fault.headers, True
        elif op_id not in self.handlers:
            self._violation(f"{where}: {op_id} is not implemented by the fake")
            status, body, headers = 404, objects.basic_error("Not Found", 404), {}
        else:
            status, body, headers = self._dispatch(op_id, match, query, raw_body, login, parsed)
        payload = b"" if body is None else json.dumps(body).encode()
        if not injected:
            for error in self.spec.response_errors(match, status, payload):
                self._violation(f"{where} ({op_id}) response {status}: {error}")
        record = Record(method, parsed.path, query, op_id, status, injected, body)
        with self.lock:
            self.log.append(record)
        self._send(request, status, body, headers)
        for hook in list(self.hooks):
            hook(record)

    def _dispatch(
        self,
        op_id: str,
        match: Match,
        query: dict[str, list[str]],
        raw_body: bytes,
        login: str,
        parsed: urllib.parse.SplitResult,
    ) -> Reply:
        params = dict(match.path_params)
        if f"{params.get('owner')}/{params.get('repo')}" != self.repository:
            return 404, objects.basic_error("Not Found", 404), {}
        body = json.loads(raw_body) if raw_body else None
        params["_path"] = parsed.path
        try:
            with self.lock:
                return self.handlers[op_id](params, query, body, login)
        except ApiError as exc:
            return exc.status, exc.body, {}
        except Exception:  # a bug in the fake: make it loud, not a mysterious retry
            self._violation(f"the fake crashed on {op_id}:\n{traceback.format_exc()}")
            return 500, objects.basic_error("fake GitHub crashed", 500), {}

    def _login(self, request: _Handler) -> str | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() not in ("token", "bearer"):
            return None
        return self.tokens.get(token.strip())

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.applies(method, path):
                    fault.remaining -= 1
                    return fault
        return None

    def _violation(self, message: str) -> None:
        with self.lock:
            self.violations.append(message)

    def _send(self, request: _Handler, status: int, body: Json, headers: dict[str, str]) -> None:
        headers = dict(headers)
        payload = b"" if body is None else json.dumps(body).encode()
        request.send_response(status)
        if body is not None:
            request.send_header("Content-Type", "application/json; charset=utf-8")
        request.send_header("Content-Length", str(len(payload)))
        request.send_header("X-GitHub-Media-Type", "github.v3; format=json")
        request.send_header("X-GitHub-Api-Version-Selected", "2022-11-28")
        request.send_header("X-RateLimit-Limit", "5000")
        request.send_header("X-RateLimit-Remaining", headers.pop("x-ratelimit-remaining", "4999"))
        request.send_header("X-RateLimit-Reset", str(int(EPOCH.timestamp()) + 3600))
        request.send_header("X-RateLimit-Used", "1")
        request.send_header("X-RateLimit-Resource", headers.pop("x-ratelimit-resource", "core"))
        request.send_header("X-GitHub-Request-Id", f"FAKE:{len(self.log):06d}")
        for name, value in headers.items():
            request.send_header(name, value)
        request.end_headers()
        request.wfile.write(payload)

    # --- helpers over state ------------------------------------------------------------

    def _paginate(
        self, items: list[Json], query: dict[str, list[str]], path: str
    ) -> tuple[list[Json], dict[str, str]]:
        per_page = min(int(query.get("per_page", ["30"])[0]), 100)
        page = max(int(query.get("page", ["1"])[0]), 1)
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def link(number: int, rel: str) -> str:
            params = {k: v[0] for k, v in query.items()}
            params["page"] = str(number)
            return f'<{self.base_url}{path}?{urllib.parse.urlencode(params)}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        return chunk, ({"Link": ", ".join(links)} if links else {})

    def _user(self, login: str) -> Json:
        self.add_user(login)
        user_id, kind = self.users[login]
        return objects.user(self.site, login, user_id, kind)

    def _repo(self, full_name: str) -> Json:
        owner = full_name.split("/")[0]
        self.add_user(owner)
        repo_id = int(hashlib.sha1(full_name.encode()).hexdigest()[:7], 16)
        fork = full_name != self.repository
        return objects.repository(self.site, full_name, repo_id, self._user(owner), fork=fork)

    def _resolve(self, ref: str) -> str | None:
        if ref in self.commits:
            return ref
        for prefix in ("refs/heads/", "heads/"):
            ref = ref.removeprefix(prefix)
        return self.branches.get(ref)

    def _ancestors(self, sha: str) -> list[str]:
        """``sha`` and its ancestors, nearest first (breadth-first)."""
        seen: list[str] = []
        queue = [sha]
        while queue:
            current = queue.pop(0)
            if current in seen:
                continue
            seen.append(current)
            queue += list(self.commits[current].parents)
        return seen

    def merge_base(self, base: str, head: str) -> str | None:
        base_side = set(self._ancestors(base))
        return next((sha for sha in self._ancestors(head) if sha in base_side), None)

    def _diff(
        self, old_sha: str | None, new_sha: str
    ) -> list[tuple[str, str, bytes, int, int, str | None]]:
        old = self.commits[old_sha].files if old_sha else {}
        new = self.commits[new_sha].files
        entries = []
        for path in sorted(set(old) | set(new)):
            if old.get(path) == new.get(path):
                continue
            status = "added" if path not in old else "removed" if path not in new else "modified"
            before = old.get(path, b"").decode("utf-8", "replace").splitlines()
            after = new.get(path, b"").decode("utf-8", "replace").splitlines()
            diff = list(difflib.unified_diff(before, after, lineterm="", n=0))[2:]
            additions = sum(1 for line in diff if line.startswith("+"))
            deletions = sum(1 for line in diff if line.startswith("-"))
            entries.append(
                (
                    path,
                    status,
                    new.get(path, old.get(path, b"")),
                    additions,
                    deletions,
                    "\n".join(diff) or None,
                )
            )
        return entries

    def _pull_or_404(self, params: dict[str, str], key: str) -> Pull:
        pull = self.pulls.get(int(params[key]))
        if pull is None:
            raise ApiError(404, "Not Found")
        return pull

    def _labels_json(self, names: list[str]) -> list[Json]:
        out = []
        for name in names:
            label_id, label_name, color = self.labels[name.casefold()]
            out.append(objects.label(self.site, self.repository, label_id, label_name, color))
        return out

    def _ensure_label(self, name: str) -> None:
        if name.casefold() not in self.labels:
            self.labels[name.casefold()] = (self._next_id(), name, "ededed")

    def _pull_json(self, pull: Pull, *, full: bool) -> Json:
        base_repo = self._repo(self.repository)
        head = objects.pull_ref(self.site, self._repo(pull.head_repo), pull.head_ref, pull.head_sha)
        base = objects.pull_ref(self.site, base_repo, pull.base_ref, pull.base_sha)
        simple = objects.pull_request_simple(
            self.site,
            self.repository,
            pull_id=pull.pull_id,
            number=pull.number,
            state=pull.state,
            title=pull.title,
            body=pull.body,
            author=self._user(pull.author),
            head=head,
            base=base,
            labels=self._labels_json(pull.labels),
            created_at=pull.created_at,
            updated_at=pull.updated_at,
            closed_at=None if pull.state == "open" else pull.updated_at,
        )
        if pull.merge_commit_sha is not None:
            simple["merged_at"] = pull.updated_at
            simple["merge_commit_sha"] = pull.merge_commit_sha
        if not full:
            return simple
        diff = self._pull_diff(pull)
        full_json = objects.pull_request_full(
            simple,
            commits=len(self._commits_between(pull.base_sha, pull.head_sha)),
            additions=sum(d[3] for d in diff),
            deletions=sum(d[4] for d in diff),
            changed_files=len(diff),
            comments=len(self.comments_on(pull.number)),
        )
        full_json["merged"] = pull.merge_commit_sha is not None
        return full_json

    def _pull_diff(self, pull: Pull) -> list[tuple[str, str, bytes, int, int, str | None]]:
        return self._diff(self.merge_base(pull.base_sha, pull.head_sha), pull.head_sha)

    def _commits_between(self, base: str, head: str) -> list[str]:
        excluded = set(self._ancestors(base))
        return [sha for sha in reversed(self._ancestors(head)) if sha not in excluded]

    def _commit_json(self, sha: str) -> Json:
        commit = self.commits[sha]
        tree = hashlib.sha1(repr(sorted(commit.files)).encode() + sha.encode()).hexdigest()
        return objects.commit(
            self.site, self.repository, sha, commit.message, commit.parents, commit.date, tree
        )

    # --- operations --------------------------------------------------------------------

    def _list_pulls(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        state = query.get("state", ["open"])[0]
        pulls = [p for p in self.pulls.values() if state == "all" or p.state == state]
        if "head" in query:
            owner, _, ref = query["head"][0].partition(":")
            pulls = [p for p in pulls if p.head_repo.split("/")[0] == owner and p.head_ref == ref]
        if "base" in query:
            pulls = [p for p in pulls if p.base_ref == query["base"][0]]
        descending = query.get("direction", ["desc"])[0] == "desc"
        pulls.sort(key=lambda p: p.number, reverse=descending)
        items = [self._pull_json(p, full=False) for p in pulls]
        page, headers = self._paginate(items, query, params["_path"])
        return 200, page, headers

    def _get_pull(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        return 200, self._pull_json(self._pull_or_404(params, "pull_number"), full=True), {}

    def _list_pull_files(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        pull = self._pull_or_404(params, "pull_number")
        items = [
            objects.diff_entry(
                self.site,
                self.repository,
                pull.head_sha,
                path,
                status,
                objects.git_blob_sha(data),
                adds,
                dels,
                patch,
            )
            for path, status, data, adds, dels, patch in self._pull_diff(pull)[:MAX_PR_FILES]
        ]
        page, headers = self._paginate(items, query, params["_path"])
        return 200, page, headers

    def _compare(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        base_ref, dots, head_ref = params["basehead"].partition("...")
        base, head = self._resolve(base_ref), self._resolve(head_ref)
        if not dots or base is None or head is None:
            raise ApiError(404, "Not Found")
        merge_base = self.merge_base(base, head)
        if merge_base is None:
            raise ApiError(404, f"No common ancestor between {base_ref} and {head_ref}.")
        ahead = self._commits_between(base, head)
        behind = self._commits_between(head, base)
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        files = [
            objects.diff_entry(
                self.site,
                self.repository,
                head,
                path,
                st,
                objects.git_blob_sha(data),
                adds,
                dels,
                patch,
            )
            for path, st, data, adds, dels, patch in self._diff(merge_base, head)
        ]
        commits = [self._commit_json(sha) for sha in ahead]
        if "page" in query or "per_page" in query:
            page, headers = self._paginate(commits, query, params["_path"])
        else:
            page, headers = commits[:250], {}
        return (
            200,
            objects.comparison(
                self.site,
                self.repository,
                params["basehead"],
                base_commit=self._commit_json(base),
                merge_base_commit=self._commit_json(merge_base),
                status=status,
                ahead_by=len(ahead),
                behind_by=len(behind),
                commits=page,
                files=files,
            ),
            headers,
        )

    def _get_content(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        ref = query.get("ref", ["main"])[0]
        sha = self._resolve(ref)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref}")
        path = params["path"].strip("/")
        files = self.commits[sha].files
        if path in files:
            data = files[path]
            return (
                200,
                objects.content_file(
                    self.site,
                    self.repository,
                    ref,
                    path,
                    data,
                    inline=len(data) <= INLINE_CONTENT_LIMIT,
                ),
                {},
            )
        prefix = path + "/"
        below = sorted(p for p in files if p.startswith(prefix))
        if not below:
            raise ApiError(404, "Not Found")
        entries, seen = [], set()
        for file_path in below:
            rest = file_path[len(prefix) :]
            name = rest.split("/", 1)[0]
            if name in seen:
                continue
            seen.add(name)
            if "/" in rest:
                tree = hashlib.sha1((sha + prefix + name).encode()).hexdigest()
                entries.append(
                    objects.content_directory_entry(
                        self.site, self.repository, ref, prefix + name, "dir", tree, 0
                    )
                )
            else:
                data = files[file_path]
                entries.append(
                    objects.content_directory_entry(
                        self.site,
                        self.repository,
                        ref,
                        file_path,
                        "file",
                        objects.git_blob_sha(data),
                        len(data),
                    )
                )
        return 200, entries, {}

    def _put_content(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        """A commit on ``branch`` that writes one file (``sha`` must name the blob it
        replaces, as GitHub requires; a missing branch is a 404)."""
        branch = body.get("branch", "main")
        head = self.branches.get(branch)
        if head is None:
            raise ApiError(404, f"Branch {branch} not found")
        path = params["path"].strip("/")
        files = dict(self.commits[head].files)
        existing = files.get(path)
        if existing is not None and body.get("sha") != objects.git_blob_sha(existing):
            raise ApiError(409, f"{path} does not match {body.get('sha')}")
        if existing is None and body.get("sha"):
            raise ApiError(422, f"sha given, but {path} does not exist")
        import base64

        files[path] = base64.b64decode(body["content"])
        sha = self.commit(files, parents=(head,), message=body["message"])
        self.branches[branch] = sha
        blob = objects.git_blob_sha(files[path])
        api = self.site.repo_api(self.repository)
        reply = {
            "content": {"name": path.rsplit("/", 1)[-1], "path": path, "sha": blob,
                        "size": len(files[path]), "type": "file",
                        "url": f"{api}/contents/{path}?ref={branch}"},
            "commit": {"sha": sha, "message": body["message"],
                       "url": f"{api}/git/commits/{sha}", "parents": [{"sha": head}]},
        }  # fmt: skip
        return (200 if existing is not None else 201), reply, {}

    def _get_required_checks(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        names = self.required_checks.get(params["branch"])
        if names is None:
            raise ApiError(404, "Branch not protected")
        url = f"{self.site.repo_api(self.repository)}/branches/{params['branch']}/protection"
        return 200, {
            "url": f"{url}/required_status_checks",
            "strict": True,
            "contexts": list(names),
            "checks": [{"context": name, "app_id": 15368} for name in names],
            "contexts_url": f"{url}/required_status_checks/contexts",
        }, {}  # fmt: skip

    def _get_environment(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        name = params["environment_name"]
        env = self.environments.get(name)
        if env is None:
            raise ApiError(404, "Not Found")
        rules = []
        if env.get("reviewers"):
            reviewers = [
                {"type": "User", "reviewer": self._user(login)} for login in env["reviewers"]
            ]
            rules.append({"id": 3755, "node_id": objects.node_id("Gate", 3755),
                          "prevent_self_review": False, "type": "required_reviewers",
                          "reviewers": reviewers})  # fmt: skip
        policy = (
            {"protected_branches": True, "custom_branch_policies": False}
            if env.get("branch_policy")
            else None
        )
        api = self.site.repo_api(self.repository)
        return 200, {
            "id": 161088068, "node_id": objects.node_id("Environment", 161088068), "name": name,
            "url": f"{api}/environments/{name}",
            "html_url": f"{objects.WEB}/{self.repository}/deployments/{name}",
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
            "protection_rules": rules, "deployment_branch_policy": policy,
        }, {}  # fmt: skip

    def _pulls_of_commit(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        sha = params["commit_sha"]
        found = [
            self._pull_json(pull, full=False)
            for pull in sorted(self.pulls.values(), key=lambda p: p.number)
            if sha in (pull.merge_commit_sha, pull.head_sha)
        ]
        page, headers = self._paginate(found, query, params["_path"])
        return 200, page, headers

    def _get_ref(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        ref = params["ref"]
        sha = self.branches.get(ref.removeprefix("heads/")) if ref.startswith("heads/") else None
        if sha is None:
            raise ApiError(404, "Not Found")
        api = self.site.repo_api(self.repository)
        return 200, {
            "ref": f"refs/{ref}", "node_id": objects.node_id("Ref", len(ref)),
            "url": f"{api}/git/refs/{ref}",
            "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
        }, {}  # fmt: skip

    def _get_pages(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        if self.pages_build_type is None:
            raise ApiError(404, "Not Found")
        owner, name = self.repository.split("/")
        return 200, {
            "url": f"{self.site.repo_api(self.repository)}/pages", "status": "built",
            "cname": None, "custom_404": False, "html_url": f"https://{owner}.github.io/{name}/",
            "build_type": self.pages_build_type, "source": {"branch": "main", "path": "/"},
            "public": True, "https_enforced": True,
        }, {}  # fmt: skip

    def _get_blob(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        for commit in self.commits.values():
            for data in commit.files.values():
                if objects.git_blob_sha(data) == params["file_sha"]:
                    return 200, objects.blob(self.site, self.repository, data), {}
        raise ApiError(404, "Not Found")

    def _comment_json(self, comment: Comment) -> Json:
        association = "NONE" if comment.author != self.repository.split("/")[0] else "OWNER"
        return objects.issue_comment(
            self.site,
            self.repository,
            comment_id=comment.id,
            number=comment.number,
            author=self._user(comment.author),
            body=comment.body,
            created_at=comment.created_at,
            updated_at=comment.updated_at,
            association=association,
        )

    def _list_comments(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        pull = self._pull_or_404(params, "issue_number")
        since = query.get("since", [""])[0]
        items = [
            self._comment_json(c) for c in self.comments_on(pull.number) if c.updated_at >= since
        ]
        page, headers = self._paginate(items, query, params["_path"])
        return 200, page, headers

    def _create_comment(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        pull = self._pull_or_404(params, "issue_number")
        text = body["body"]
        if len(text) > 65536:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "IssueComment",
                        "code": "custom",
                        "field": "body",
                        "message": "body is too long (maximum is 65536 characters)",
                    }
                ],
            )
        comment_id = self.add_comment(pull.number, login, text)
        data = self._comment_json(self.comments[comment_id])
        return 201, data, {"Location": data["url"]}

    def _update_comment(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        comment = self.comments.get(int(params["comment_id"]))
        if comment is None:
            raise ApiError(404, "Not Found")
        comment.body = body["body"]
        comment.updated_at = self.now()
        return 200, self._comment_json(comment), {}

    def _delete_comment(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        if self.comments.pop(int(params["comment_id"]), None) is None:
            raise ApiError(404, "Not Found")
        return 204, None, {}

    def _check_run_json(self, run: CheckRun) -> Json:
        return objects.check_run(
            self.site,
            self.repository,
            run_id=run.id,
            name=run.name,
            head_sha=run.head_sha,
            status=run.status,
            conclusion=run.conclusion,
            started_at=run.started_at,
            completed_at=run.completed_at,
            output=run.output,
            annotations_count=len(run.annotations),
            external_id=run.external_id,
            details_url=run.details_url,
            suite_id=run.suite_id,
        )

    def _list_check_runs(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        sha = self._resolve(params["ref"])
        if sha is None:
            raise ApiError(404, "No commit found for SHA: " + params["ref"])
        runs = self.check_runs_on(sha)
        if "check_name" in query:
            runs = [r for r in runs if r.name == query["check_name"][0]]
        if "status" in query:
            runs = [r for r in runs if r.status == query["status"][0]]
        runs.sort(key=lambda r: r.id, reverse=True)
        if query.get("filter", ["latest"])[0] == "latest":
            newest: dict[str, CheckRun] = {}
            for run in runs:
                newest.setdefault(run.name, run)
            runs = list(newest.values())
        items = [self._check_run_json(r) for r in runs]
        page, headers = self._paginate(items, query, params["_path"])
        return 200, {"total_count": len(items), "check_runs": page}, headers

    def _apply_check_fields(self, run: CheckRun, body: Json) -> None:
        output = body.get("output")
        if output is not None:
            annotations = output.get("annotations", [])
            if len(annotations) > 50:
                raise ApiError(
                    422, f"Only 50 annotations can be sent per request (got {len(annotations)})"
                )
            run.output = {k: output.get(k) for k in ("title", "summary", "text")}
            run.annotations += annotations
        for key in ("name", "details_url", "external_id", "started_at"):
            if key in body:
                setattr(run, key, body[key])
        if "conclusion" in body:
            run.conclusion = body["conclusion"]
            run.status = "completed"
        if "status" in body:
            run.status = body["status"]
        if run.status == "completed":
            if run.conclusion is None:
                raise ApiError(422, "Conclusion is required when status is completed")
            run.completed_at = body.get("completed_at") or run.completed_at or self.now()

    def _create_check_run(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        if body["head_sha"] not in self.commits:
            raise ApiError(422, "No commit found for SHA: " + body["head_sha"])
        run = CheckRun(
            id=self._next_id(),
            name=body["name"],
            head_sha=body["head_sha"],
            status="queued",
            conclusion=None,
            started_at=self.now(),
            completed_at=None,
            output={"title": None, "summary": None, "text": None},
            annotations=[],
            external_id="",
            details_url=None,
            suite_id=self._next_id(),
        )
        self._apply_check_fields(run, body)
        self.check_runs[run.id] = run
        return 201, self._check_run_json(run), {}

    def _update_check_run(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        run = self.check_runs.get(int(params["check_run_id"]))
        if run is None:
            raise ApiError(404, "Not Found")
        self._apply_check_fields(run, body)
        return 200, self._check_run_json(run), {}

    def _add_labels(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        pull = self._pull_or_404(params, "issue_number")
        names = body["labels"] if isinstance(body, dict) else body
        names = [n if isinstance(n, str) else n["name"] for n in names]
        self.label_pull(pull.number, *names)
        return 200, self._labels_json(pull.labels), {}

    def _remove_label(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        pull = self._pull_or_404(params, "issue_number")
        name = params["name"].casefold()
        kept = [n for n in pull.labels if n.casefold() != name]
        if len(kept) == len(pull.labels):
            raise ApiError(404, "Label does not exist")
        pull.labels = kept
        return 200, self._labels_json(kept), {}

    def _get_permission(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        name = params["username"]
        if name not in self.users:
            raise ApiError(404, f"{name} is not a user")
        user_id, kind = self.users[name]
        role = self.roles.get(name, "read")
        data = objects.collaborator_permission(self.site, name, user_id, kind, role)
        return 200, data, {}

    def _workflow_run_json(self, run: WorkflowRunState) -> Json:
        return objects.workflow_run(
            self.site,
            self.repository,
            self._repo(self.repository),
            self._user(run.actor),
            run_id=run.id,
            workflow_id=int(hashlib.sha1(run.path.encode()).hexdigest()[:6], 16),
            path=run.path,
            display_title=run.display_title,
            event=run.event,
            status=run.status,
            conclusion=run.conclusion,
            head_sha=run.head_sha,
            created_at=run.created_at,
        )

    def _list_workflow_runs(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        workflow = params["workflow_id"]
        runs = [r for r in self.workflow_runs.values() if r.path.rsplit("/", 1)[1] == workflow]
        if "status" in query:
            wanted = query["status"][0]
            runs = [r for r in runs if wanted in (r.status, r.conclusion)]
        runs.sort(key=lambda r: r.id, reverse=True)
        items = [self._workflow_run_json(r) for r in runs]
        page, headers = self._paginate(items, query, params["_path"])
        return 200, {"total_count": len(items), "workflow_runs": page}, headers

    def _list_run_jobs(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        run_id = int(params["run_id"])
        if run_id not in self.workflow_runs:
            raise ApiError(404, "Not Found")
        head_sha = self.workflow_runs[run_id].head_sha
        jobs = [j for j in self.workflow_jobs.values() if j.run_id == run_id]
        items = [
            objects.workflow_job(
                self.site,
                self.repository,
                job_id=j.id,
                run_id=j.run_id,
                name=j.name,
                status=j.status,
                conclusion=j.conclusion,
                head_sha=head_sha,
                created_at=j.created_at,
                started_at=j.started_at,
                completed_at=j.completed_at,
                labels=j.labels,
                runner_name=j.runner_name,
                steps=[dict(step) for step in j.steps],
            )
            for j in sorted(jobs, key=lambda j: j.id)
        ]
        page, headers = self._paginate(items, query, params["_path"])
        return 200, {"total_count": len(items), "jobs": page}, headers

    def _cancel_workflow_run(
        self, params: dict[str, str], query: dict[str, list[str]], body: Json, login: str
    ) -> Reply:
        run = self.workflow_runs.get(int(params["run_id"]))
        if run is None:
            raise ApiError(404, "Not Found")
        if run.status == "completed":
            raise ApiError(409, "Cannot cancel a workflow run that is completed.")
        run.status, run.conclusion = "completed", "cancelled"
        return 202, {}, {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per response and no Nagle delay: keep-alive requests stay fast.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True
    fake: FakeGitHub

    def do_GET(self) -> None:
        self.fake.handle(self)

    do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass
