"""Policy test for .github/workflows: threat-model items 1-5 (docs/security.md).

Each checker takes a parsed workflow and returns a list of violation messages naming the
file, job and step that break the rule; the real workflows must give none. The negative
tests at the bottom feed deliberately bad snippets to the same checkers, so this test
can fail when a rule breaks.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOW_DIR = Path(__file__).resolve().parent.parent / ".github" / "workflows"

# Triggers that run with the base repository's token/secrets whatever the PR contains.
PRIVILEGED_TRIGGERS = frozenset({"workflow_run", "issue_comment", "workflow_dispatch"})
# The only jobs that may hold a write permission (threat model 3): workflow -> job ids.
WRITER_JOBS: dict[str, frozenset[str]] = {
    "report.yml": frozenset({"report"}),
    "verify.yml": frozenset({"acknowledge", "status", "report"}),
    "publish.yml": frozenset({"publish", "deploy"}),
}
# The evidence branch: written only through the API by the jobs above; the one privileged
# checkout of another ref there is, as data, into its own folder, in these jobs only.
EVIDENCE_BRANCH = "hearbot-evidence"
EVIDENCE_CHECKOUTS: frozenset[tuple[str, str]] = frozenset({("publish.yml", "publish")})
# What may run last, after report-verification, in the job that downloaded the artifact.
AFTER_REPORT_EVIDENCE = "hearbot github store-evidence"
# GitHub's own Pages actions, and the only job that may deploy (with the OIDC token).
PAGES_ACTIONS = ("actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages")
PAGES_DEPLOY_JOB = ("publish.yml", "deploy")
# The only jobs that may download artifacts: those matching the pattern, of the same run, as
# data for `hearbot github merge-results` and `report-verification` (threat model 8).
ARTIFACT_READERS: dict[tuple[str, str], str] = {
    ("verify.yml", "report"): "hearbot-verification-shard-*"
}
# What may run after the download: merge-results (optional), then report-verification last.
AFTER_DOWNLOAD_MERGE = "hearbot github merge-results"
AFTER_DOWNLOAD_REPORT = "hearbot github report-verification"
DEFAULT_BRANCH_REF = "${{ github.event.repository.default_branch }}"
GPU_LABELS = ["self-hosted", "linux", "gpu"]
# An actions-runner-controller scale set is addressed by its name alone (docs/maintainers.md):
# the one other `runs-on` the GPU job may have, and treated as self-hosted everywhere.
GPU_SCALE_SET = "hear-gpu"
GPU_ENVIRONMENT = "gpu-verification"
# The one step of a self-hosted job that may see a token.
TOKEN_STEP_RE = re.compile(r"^\s*hearbot github fetch-submission\b")
# The only workflow that may name the self-hosted (GPU) runner label (threat model 5).
SELF_HOSTED_ALLOWED = frozenset({"verify.yml"})

# A checkout `ref:`/`repository:` that points at PR code.
PR_REF_RE = re.compile(
    r"github\.event\.pull_request|github\.event\.issue\.pull_request|head_sha|head\.sha"
    r"|head\.ref|head\.repo|head_ref|head_branch|head_repository|refs/pull",
    re.IGNORECASE,
)
# Shell commands that would bring PR code or artifacts into a privileged workspace.
FETCH_PR_CODE_RE = re.compile(
    r"\bgit\s+(?:-C\s+\S+\s+)?(?:fetch|pull)\b|\bgh\s+pr\s+checkout\b|\bgh\s+run\s+download\b"
)
ARTIFACT_DOWNLOAD_ACTIONS = ("actions/download-artifact", "dawidd6/action-download-artifact")
# `${{ ... }}` expressions and the untrusted contexts that must not be expanded in code.
EXPRESSION_RE = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
UNTRUSTED_CONTEXT_RE = re.compile(
    r"\bgithub\s*\.\s*event\b|\bgithub\s*\[\s*['\"]event['\"]\s*\]|\bgithub\s*\.\s*head_ref\b"
    r"|\binputs\s*[.\[]|\bneeds\s*[.\[]"
)
SECRET_RE = re.compile(r"\$\{\{[^}]*\b(?:secrets\s*[.\[]|github\s*\.\s*token\b)")
SHA_PIN_RE = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
DOCKER_PIN_RE = re.compile(r"^docker://\S+@sha256:[0-9a-f]{64}$")
USES_LINE_RE = re.compile(r"^\s*(?:-\s*)?uses:\s*['\"]?(?P<ref>[^'\"\s#]+)['\"]?\s*(?P<rest>.*)$")
VERSION_COMMENT_RE = re.compile(r"#\s*v\d+(?:\.\d+)*\b")


@dataclass(frozen=True)
class Workflow:
    name: str  # file name, e.g. "report.yml"
    text: str
    data: dict[str, Any]


def parse_workflow(name: str, text: str) -> Workflow:
    """Parse workflow YAML; PyYAML (YAML 1.1) reads the key `on` as True, so put it back."""
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"{name}: not a YAML mapping")
    if True in data and "on" not in data:
        data["on"] = data.pop(True)
    return Workflow(name=name, text=text, data=data)


def load_workflows() -> list[Workflow]:
    paths = sorted([*WORKFLOW_DIR.glob("*.yml"), *WORKFLOW_DIR.glob("*.yaml")])
    return [parse_workflow(p.name, p.read_text(encoding="utf-8")) for p in paths]


# --- small accessors -------------------------------------------------------------------


def triggers(wf: Workflow) -> set[str]:
    on = wf.data.get("on")
    if isinstance(on, str):
        return {on}
    if isinstance(on, list):
        return {str(t) for t in on}
    if isinstance(on, dict):
        return {str(t) for t in on}
    return set()


def jobs(wf: Workflow) -> Iterator[tuple[str, dict[str, Any]]]:
    for job_id, job in (wf.data.get("jobs") or {}).items():
        yield str(job_id), job if isinstance(job, dict) else {}


def steps(job: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (label, step): the label names the step for messages."""
    for index, step in enumerate(job.get("steps") or [], start=1):
        if not isinstance(step, dict):
            continue
        title = step.get("name") or step.get("uses") or str(step.get("run", ""))[:40]
        yield f"step {index} ({title!r})", step


def where(wf: Workflow, job_id: str, step_label: str | None = None) -> str:
    return f"{wf.name}: job {job_id!r}" + (f", {step_label}" if step_label else "")


def action_name(uses: str) -> str:
    return uses.split("@", 1)[0].lower()


def grants_write(permissions: Any) -> bool:
    if isinstance(permissions, str):
        return permissions == "write-all"
    if isinstance(permissions, dict):
        return any(str(v) == "write" for v in permissions.values())
    return False


def is_privileged(wf: Workflow) -> bool:
    if triggers(wf) & (PRIVILEGED_TRIGGERS | {"pull_request_target"}):
        return True
    if grants_write(wf.data.get("permissions")):
        return True
    return any(grants_write(job.get("permissions")) for _, job in jobs(wf))


def string_values(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from string_values(key)
            yield from string_values(value)
    elif isinstance(node, list):
        for item in node:
            yield from string_values(item)


# --- checkers: one per threat-model item -----------------------------------------------


def check_triggers_and_pr_code(wf: Workflow) -> list[str]:
    """1. No pull_request_target; privileged workflows never bring PR code in."""
    problems = []
    if "pull_request_target" in triggers(wf):
        problems.append(f"{wf.name}: uses the pull_request_target trigger")
    if not is_privileged(wf):
        return problems
    for job_id, job in jobs(wf):
        for label, step in steps(job):
            place = where(wf, job_id, label)
            uses = str(step.get("uses", ""))
            with_ = step.get("with") or {}
            if action_name(uses) == "actions/checkout" and evidence_checkout(wf, job_id, with_):
                continue
            if action_name(uses) == "actions/checkout":
                if with_.get("ref") != DEFAULT_BRANCH_REF or "repository" in with_:
                    problems.append(
                        f"{place}: privileged checkout of something other than the default "
                        f"branch (ref: {with_.get('ref')!r}; want {DEFAULT_BRANCH_REF})"
                    )
                if "pull_request" in triggers(wf) and not with_.get("ref"):
                    problems.append(
                        f"{place}: privileged checkout of the PR merge commit (no ref:)"
                    )
                for key in ("ref", "repository"):
                    value = str(with_.get(key, ""))
                    if PR_REF_RE.search(value):
                        problems.append(f"{place}: privileged checkout of PR code ({key}: {value})")
            if action_name(uses) in ARTIFACT_DOWNLOAD_ACTIONS:
                problems += artifact_download_problems(wf, job_id, job, place, step)
            match = FETCH_PR_CODE_RE.search(str(step.get("run", "")))
            if match:
                problems.append(f"{place}: privileged workflow fetches code ({match.group(0)!r})")
    return problems


def evidence_checkout(wf: Workflow, job_id: str, with_: dict[str, Any]) -> bool:
    """The evidence branch checked out as data: exactly that ref, of this repository, into
    its own folder, in an allowed job."""
    return (
        (wf.name, job_id) in EVIDENCE_CHECKOUTS
        and with_.get("ref") == EVIDENCE_BRANCH
        and "repository" not in with_
        and with_.get("path") == EVIDENCE_BRANCH
    )


def artifact_download_problems(
    wf: Workflow, job_id: str, job: dict[str, Any], place: str, step: dict[str, Any]
) -> list[str]:
    """A privileged job may download only its named artifacts, of the same run, into
    $RUNNER_TEMP, and afterwards run nothing but `hearbot github merge-results` and, last,
    `hearbot github report-verification --artifact`."""
    pattern = ARTIFACT_READERS.get((wf.name, job_id))
    if pattern is None:
        return [f"{place}: privileged workflow downloads an artifact ({step.get('uses')})"]
    problems = []
    with_ = step.get("with") or {}
    if with_.get("pattern") != pattern:
        problems.append(
            f"{place}: downloads artifacts {with_.get('pattern')!r}, not pattern {pattern!r}"
        )
    if set(with_) - {"pattern", "path"}:
        extra = sorted(set(with_) - {"pattern", "path"})
        problems.append(f"{place}: downloads with {extra} (only this run's artifacts by name)")
    path = str(with_.get("path", ""))
    if not path.startswith("${{ runner.temp }}/"):
        problems.append(f"{place}: downloads into {path!r}, not under ${{{{ runner.temp }}}}")
    all_steps = list(job.get("steps") or [])
    later = all_steps[all_steps.index(step) + 1 :] if step in all_steps else []
    runs = [str(s.get("run", "")).lstrip() for s in later if isinstance(s, dict)]
    if any("uses" in s for s in later if isinstance(s, dict)):
        problems.append(f"{place}: an action runs after the artifact was downloaded")
    if runs and runs[-1].startswith(AFTER_REPORT_EVIDENCE) and "--artifact" in runs[-1]:
        runs = runs[:-1]  # the evidence record, written last (bot/github/evidence.py)
    merges_then_reports = (
        bool(runs)
        and runs[-1].startswith(AFTER_DOWNLOAD_REPORT)
        and "--artifact" in runs[-1]
        and all(run.startswith(AFTER_DOWNLOAD_MERGE) for run in runs[:-1])
    )
    if not merges_then_reports:
        problems.append(
            f"{place}: after the download only `{AFTER_DOWNLOAD_MERGE}`, then "
            f"`{AFTER_DOWNLOAD_REPORT} --artifact` may run (and, last, "
            f"`{AFTER_REPORT_EVIDENCE} --artifact`)"
        )
    return problems


def check_no_untrusted_expansion(wf: Workflow) -> list[str]:
    """2. No github.event.* / inputs.* / github.head_ref expanded inside code (run:, script:)."""
    problems = []
    for job_id, job in jobs(wf):
        for label, step in steps(job):
            code = {"run": step.get("run")}
            if action_name(str(step.get("uses", ""))) == "actions/github-script":
                code["with.script"] = (step.get("with") or {}).get("script")
            for key, source in code.items():
                for expression in EXPRESSION_RE.findall(str(source or "")):
                    if UNTRUSTED_CONTEXT_RE.search(expression):
                        problems.append(
                            f"{where(wf, job_id, label)}: `${{{{{expression}}}}}` expanded in "
                            f"{key}; pass it through env: and quote it"
                        )
    return problems


def check_permissions(wf: Workflow) -> list[str]:
    """3. Top-level permissions: {}; each job names its own; only the WRITER_JOBS may write."""
    problems = []
    if wf.data.get("permissions", None) != {}:
        problems.append(f"{wf.name}: top-level permissions must be {{}}")
    for job_id, job in jobs(wf):
        if "permissions" not in job:
            problems.append(f"{where(wf, job_id)}: declares no permissions")
        elif grants_write(job["permissions"]) and job_id not in WRITER_JOBS.get(
            wf.name, frozenset()
        ):
            problems.append(
                f"{where(wf, job_id)}: has a write permission ({job['permissions']}); "
                f"only {sorted((w, sorted(j)) for w, j in WRITER_JOBS.items())} may write"
            )
    return problems


def check_pinning_and_hygiene(wf: Workflow) -> list[str]:
    """4. SHA-pinned uses: with a version comment; checkout without credentials; timeouts."""
    problems = []
    for job_id, job in jobs(wf):
        if "uses" in job:  # a reusable-workflow call: pinned too; its own jobs set timeouts
            problems += pin_problems(where(wf, job_id), str(job["uses"]))
        elif "timeout-minutes" not in job:
            problems.append(f"{where(wf, job_id)}: has no timeout-minutes")
        for label, step in steps(job):
            if "uses" not in step:
                continue
            uses = str(step["uses"])
            problems += pin_problems(where(wf, job_id, label), uses)
            if action_name(uses) == "actions/checkout":
                persist = (step.get("with") or {}).get("persist-credentials")
                if persist is not False and str(persist).lower() != "false":
                    problems.append(
                        f"{where(wf, job_id, label)}: actions/checkout without "
                        "persist-credentials: false"
                    )
    for number, line in enumerate(wf.text.splitlines(), start=1):
        match = USES_LINE_RE.match(line)
        if match and SHA_PIN_RE.match(match["ref"]) and not VERSION_COMMENT_RE.search(line):
            problems.append(f"{wf.name}:{number}: pinned uses: has no '# vX.Y.Z' comment")
    return problems


def pin_problems(place: str, uses: str) -> list[str]:
    if uses.startswith("./") or SHA_PIN_RE.match(uses) or DOCKER_PIN_RE.match(uses):
        return []
    return [f"{place}: uses {uses!r} is not pinned by a full 40-hex commit SHA"]


def check_self_hosted(wf: Workflow) -> list[str]:
    """5. The self-hosted label only in verify.yml, whose GPU jobs need an environment
    (required reviewers) and a concurrency group."""
    mentions = [s for s in string_values(wf.data) if names_self_hosted(s)]
    if wf.name not in SELF_HOSTED_ALLOWED:
        return [f"{wf.name}: names the self-hosted runner label" for _ in mentions[:1]]
    problems = []
    for job_id, job in jobs(wf):
        if not any(names_self_hosted(s) for s in string_values(job.get("runs-on"))):
            continue
        if "environment" not in job:
            problems.append(f"{where(wf, job_id)}: self-hosted job has no environment")
        if "concurrency" not in job and "concurrency" not in wf.data:
            problems.append(f"{where(wf, job_id)}: self-hosted job has no concurrency group")
        problems += gpu_job_problems(wf, job_id, job)
    return problems


def names_self_hosted(text: str) -> bool:
    return "self-hosted" in text.lower() or GPU_SCALE_SET in text.lower()


def gpu_job_problems(wf: Workflow, job_id: str, job: dict[str, Any]) -> list[str]:
    """The GPU job: exactly the documented labels (or scale set), the gpu-verification
    environment, one concurrency group per PR (and per shard when it is a matrix), no write
    permission, and a token only in the fetch step."""
    place = where(wf, job_id)
    problems = []
    if job.get("runs-on") not in (GPU_LABELS, GPU_SCALE_SET):
        problems.append(f"{place}: runs-on must be exactly {GPU_LABELS} or {GPU_SCALE_SET!r}")
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment.get("name")
    if environment != GPU_ENVIRONMENT:
        problems.append(f"{place}: environment must be {GPU_ENVIRONMENT!r}")
    group = str((job.get("concurrency") or {}).get("group", ""))
    if "needs.command.outputs.pr" not in group:
        problems.append(f"{place}: concurrency group {group!r} is not per PR")
    problems += matrix_problems(place, job, group)
    if grants_write(job.get("permissions")):
        problems.append(f"{place}: the GPU job holds a write permission")
    if any(SECRET_RE.search(v) for v in string_values(job.get("env") or {})):
        problems.append(f"{place}: a token in the job's env reaches every step")
    for label, step in steps(job):
        if any(SECRET_RE.search(v) for v in string_values(step)) and not TOKEN_STEP_RE.match(
            str(step.get("run", ""))
        ):
            problems.append(f"{where(wf, job_id, label)}: a token outside the fetch step")
    return problems


def matrix_problems(place: str, job: dict[str, Any], group: str) -> list[str]:
    """A GPU matrix (one job per shard): every shard in a concurrency group of its own (GitHub
    keeps one waiting job per group and cancels the others), no fail-fast (one failed shard
    must not cancel the rest), and a bounded max-parallel."""
    strategy = job.get("strategy")
    if not isinstance(strategy, dict) or "matrix" not in strategy:
        return []
    problems = []
    if "matrix.shard" not in group:
        problems.append(f"{place}: concurrency group {group!r} is not per shard (matrix.shard)")
    if strategy.get("fail-fast") is not False:
        problems.append(f"{place}: a GPU matrix needs fail-fast: false")
    parallel = strategy.get("max-parallel")
    from_variable = (
        MAX_PARALLEL_VARIABLE_RE.fullmatch(parallel) if isinstance(parallel, str) else None
    )
    if not from_variable and (type(parallel) is not int or parallel < 1):
        problems.append(
            f"{place}: a GPU matrix needs a max-parallel (the GPU runners there are): a number "
            "from 1, or a repository variable with a fallback from 1"
        )
    return problems


# max-parallel from a repository variable, with a literal fallback of at least 1.
MAX_PARALLEL_VARIABLE_RE = re.compile(
    r"\$\{\{\s*fromJSON\(\s*vars\.[A-Z][A-Z0-9_]*\s*\|\|\s*'[1-9][0-9]*'\s*\)\s*\}\}"
)


CHECKERS: dict[str, Callable[[Workflow], list[str]]] = {
    "1-triggers-and-pr-code": check_triggers_and_pr_code,
    "2-no-untrusted-expansion": check_no_untrusted_expansion,
    "3-permissions": check_permissions,
    "4-pinning-and-hygiene": check_pinning_and_hygiene,
    "5-self-hosted": check_self_hosted,
}


# --- the real workflows ------------------------------------------------------------------


@pytest.fixture(scope="module")
def workflows() -> list[Workflow]:
    return load_workflows()


def test_workflows_exist(workflows: list[Workflow]) -> None:
    names = {wf.name for wf in workflows}
    assert {"validate.yml", "report.yml", "ci.yml"} <= names, f"found only {sorted(names)}"


def test_1_no_pull_request_target_and_no_pr_code_in_privileged(workflows) -> None:
    problems = [p for wf in workflows for p in check_triggers_and_pr_code(wf)]
    assert not problems, "\n".join(problems)


def test_2_no_untrusted_expansion_in_run(workflows) -> None:
    problems = [p for wf in workflows for p in check_no_untrusted_expansion(wf)]
    assert not problems, "\n".join(problems)


def test_3_least_privilege(workflows) -> None:
    problems = [p for wf in workflows for p in check_permissions(wf)]
    assert not problems, "\n".join(problems)


def test_4_pinned_uses_no_credentials_timeouts(workflows) -> None:
    problems = [p for wf in workflows for p in check_pinning_and_hygiene(wf)]
    assert not problems, "\n".join(problems)


def test_5_self_hosted_only_in_verify(workflows) -> None:
    problems = [p for wf in workflows for p in check_self_hosted(wf)]
    assert not problems, "\n".join(problems)


def test_report_checks_out_only_the_default_branch(workflows) -> None:
    report = next(wf for wf in workflows if wf.name == "report.yml")
    assert "workflow_run" in triggers(report)
    for job_id, job in jobs(report):
        for label, step in steps(job):
            ref = str((step.get("with") or {}).get("ref", ""))
            assert ref in ("", "${{ github.event.repository.default_branch }}"), (
                f"{where(report, job_id, label)}: checks out {ref!r}, not the default branch"
            )


def test_report_listens_to_the_validate_workflow_by_name(workflows) -> None:
    report = next(wf for wf in workflows if wf.name == "report.yml")
    listened = set(report.data["on"]["workflow_run"]["workflows"])
    names = {wf.data.get("name") for wf in workflows}
    assert listened <= names, f"report.yml waits for {sorted(listened)}; names: {sorted(names)}"


# --- negative tests: the checkers catch deliberately bad workflows -----------------------

PIN = "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1"


def snippet(text: str, name: str = "bad.yml") -> Workflow:
    return parse_workflow(name, textwrap.dedent(text))


def good_job(steps_yaml: str = "", extra: str = "") -> str:
    """A job that passes every check, with extra steps/keys (YAML, 6/4-space indented)."""
    return (
        "jobs:\n"
        "  j:\n"
        "    runs-on: ubuntu-latest\n"
        "    timeout-minutes: 5\n"
        "    permissions:\n"
        "      contents: read\n"
        f"{extra}"
        "    steps:\n"
        f"      - uses: {PIN}\n"
        "        with:\n"
        "          persist-credentials: false\n"
        f"{steps_yaml}"
    )


def test_the_good_snippet_passes_every_check() -> None:
    wf = snippet("on: pull_request\npermissions: {}\n" + good_job())
    assert triggers(wf) == {"pull_request"}, "the YAML 1.1 `on: -> True` key was not restored"
    for name, checker in CHECKERS.items():
        assert checker(wf) == [], name


CHECKOUT_REF = "      - uses: " + PIN + "\n        with:\n          persist-credentials: false\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on: pull_request_target\npermissions: {}\n" + good_job(), "pull_request_target"),
        ("on: [push, pull_request_target]\npermissions: {}\n" + good_job(), "pull_request_target"),
        # workflow_run checking out the PR's head commit
        (
            "on:\n  workflow_run:\n    workflows: [x]\npermissions: {}\n"
            + good_job(CHECKOUT_REF + "          ref: ${{ github.event.workflow_run.head_sha }}\n"),
            "step 2 ('actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1'): privileged "
            "checkout of PR code (ref: ${{ github.event.workflow_run.head_sha }})",
        ),
        # issue_comment checking out refs/pull/N/head
        (
            "on: issue_comment\npermissions: {}\n"
            + good_job(
                CHECKOUT_REF + "          ref: refs/pull/${{ github.event.issue.number }}/head\n"
            ),
            "privileged checkout of PR code (ref: refs/pull/",
        ),
        # ... or the fork's repository
        (
            "on:\n  workflow_run:\n    workflows: [x]\npermissions: {}\n"
            + good_job(
                CHECKOUT_REF + "          repository: "
                "${{ github.event.workflow_run.head_repository.full_name }}\n"
            ),
            "privileged checkout of PR code (repository:",
        ),
        # workflow_dispatch fetching the PR into the workspace
        (
            "on: workflow_dispatch\npermissions: {}\n"
            + good_job('      - run: git fetch origin "pull/$PR/head"\n'),
            "step 2 ('git fetch origin \"pull/$PR/head\"'): privileged workflow fetches code",
        ),
        (
            "on: workflow_dispatch\npermissions: {}\n"
            + good_job('      - run: gh pr checkout "$PR"\n'),
            "privileged workflow fetches code ('gh pr checkout')",
        ),
        # a privileged workflow downloading an artifact
        (
            "on:\n  workflow_run:\n    workflows: [x]\npermissions: {}\n"
            + good_job(
                "      - uses: actions/download-artifact@"
                "0123456789abcdef0123456789abcdef01234567 # v4.1.8\n"
            ),
            "privileged workflow downloads an artifact",
        ),
        # a write permission makes a pull_request workflow privileged too ...
        (
            "on: pull_request\npermissions: {}\n"
            + good_job(
                CHECKOUT_REF + "          ref: ${{ github.event.pull_request.head.sha }}\n"
            ).replace("contents: read", "pull-requests: write"),
            "privileged checkout of PR code (ref: ${{ github.event.pull_request.head.sha }})",
        ),
        # ... and its default checkout (the PR merge commit) is PR code as well
        (
            "on: pull_request\npermissions: {}\n"
            + good_job().replace("contents: read", "pull-requests: write"),
            "step 1 ('actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1'): privileged "
            "checkout of the PR merge commit",
        ),
    ],
    ids=[
        "prt",
        "prt-list",
        "wr-head-sha",
        "ic-refs-pull",
        "wr-fork-repository",
        "wd-git-fetch",
        "wd-gh-pr",
        "wr-artifact",
        "write-perm-head-sha",
        "write-perm-merge-commit",
    ],
)
def test_check_1_catches(text: str, expected: str) -> None:
    problems = check_triggers_and_pr_code(snippet(text))
    assert any(expected in p for p in problems), problems
    assert all(p.startswith("bad.yml") for p in problems)


def test_check_1_allows_pr_code_in_unprivileged_pull_request() -> None:
    wf = snippet(
        "on: pull_request\npermissions: {}\n" + good_job("      - run: git fetch origin main\n")
    )
    assert check_triggers_and_pr_code(wf) == []


@pytest.mark.parametrize(
    "run",
    [
        'echo "${{ github.event.pull_request.title }}"',
        "echo ${{github.event.comment.body}}",
        'hearbot github report-validation --pr "${{ inputs.pr }}"',
        "git log ${{ github.head_ref }}",
        "echo ${{ github['event']['pull_request']['body'] }}",
    ],
)
def test_check_2_catches_expansion_in_run(run: str) -> None:
    wf = snippet("on: pull_request\npermissions: {}\n" + good_job(f"      - run: {run!r}\n"))
    problems = check_no_untrusted_expansion(wf)
    assert problems and "job 'j', step 2" in problems[0], problems


def test_check_2_catches_expansion_in_github_script() -> None:
    step = (
        "      - uses: actions/github-script@0123456789abcdef0123456789abcdef01234567 # v7.0.1\n"
        "        with:\n"
        "          script: console.log('${{ github.event.issue.title }}')\n"
    )
    wf = snippet("on: issues\npermissions: {}\n" + good_job(step))
    assert check_no_untrusted_expansion(wf)


def test_check_2_allows_env_and_trusted_contexts() -> None:
    step = (
        "      - env:\n"
        "          TITLE: ${{ github.event.pull_request.title }}\n"
        "          PR: ${{ inputs.pr }}\n"
        '        run: echo "$TITLE $PR ${{ runner.temp }} ${{ github.sha }}"\n'
    )
    wf = snippet("on: pull_request\npermissions: {}\n" + good_job(step))
    assert check_no_untrusted_expansion(wf) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("on: push\n" + good_job(), "top-level permissions"),
        ("on: push\npermissions: write-all\n" + good_job(), "top-level permissions"),
        ("on: push\npermissions:\n  contents: read\n" + good_job(), "top-level permissions"),
        (
            "on: push\npermissions: {}\n"
            + good_job().replace("    permissions:\n      contents: read\n", ""),
            "declares no permissions",
        ),
        (
            "on: push\npermissions: {}\n" + good_job().replace("contents: read", "checks: write"),
            "write permission",
        ),
        (
            "on: push\npermissions: {}\n"
            + good_job().replace("permissions:\n      contents: read", "permissions: write-all"),
            "write permission",
        ),
    ],
)
def test_check_3_catches(text: str, expected: str) -> None:
    problems = check_permissions(snippet(text, name="ci.yml"))
    assert any(expected in p for p in problems), problems


def test_check_3_lets_only_the_writer_jobs_write() -> None:
    text = "on: push\npermissions: {}\n" + good_job().replace("contents: read", "checks: write")
    writer = text.replace("  j:\n", "  report:\n")
    assert check_permissions(snippet(writer, name="report.yml")) == []
    assert check_permissions(snippet(writer, name="verify.yml")) == []
    assert check_permissions(snippet(text, name="report.yml"))  # job 'j' is no writer
    gpu = text.replace("  j:\n", "  verify:\n")
    assert check_permissions(snippet(gpu, name="verify.yml"))  # the GPU job never writes


@pytest.mark.parametrize(
    ("steps_yaml", "expected"),
    [
        ("      - uses: actions/setup-python@v5\n", "not pinned"),
        ("      - uses: actions/setup-python@main\n", "not pinned"),
        ("      - uses: actions/setup-python@0123456 # v5\n", "not pinned"),
        ("      - uses: docker://alpine:3.20\n", "not pinned"),
        (
            "      - uses: actions/setup-python@0123456789abcdef0123456789abcdef01234567\n",
            "no '# vX.Y.Z' comment",
        ),
        (f"      - uses: {PIN}\n", "persist-credentials"),
        (
            f"      - uses: {PIN}\n        with:\n          persist-credentials: true\n",
            "persist-credentials",
        ),
    ],
)
def test_check_4_catches(steps_yaml: str, expected: str) -> None:
    wf = snippet("on: push\npermissions: {}\n" + good_job(steps_yaml))
    problems = check_pinning_and_hygiene(wf)
    assert any(expected in p for p in problems), problems


def test_check_4_catches_missing_timeout_and_unpinned_reusable_workflow() -> None:
    no_timeout = good_job().replace("    timeout-minutes: 5\n", "")
    problems = check_pinning_and_hygiene(snippet("on: push\npermissions: {}\n" + no_timeout))
    assert any("no timeout-minutes" in p for p in problems), problems
    reusable = (
        "on: push\npermissions: {}\njobs:\n  call:\n    permissions: {}\n"
        "    uses: octo/repo/.github/workflows/x.yml@main\n"
    )
    assert any("not pinned" in p for p in check_pinning_and_hygiene(snippet(reusable)))


def test_check_4_allows_local_actions() -> None:
    wf = snippet("on: push\npermissions: {}\n" + good_job("      - uses: ./.github/actions/x\n"))
    assert check_pinning_and_hygiene(wf) == []


@pytest.mark.parametrize(
    "runs_on",
    [
        "self-hosted",
        "[self-hosted, gpu]",
        "\n      labels: [self-hosted, linux]",
    ],
)
def test_check_5_catches_self_hosted_outside_verify(runs_on: str) -> None:
    text = "on: push\npermissions: {}\n" + good_job().replace("ubuntu-latest", runs_on)
    assert check_self_hosted(snippet(text, name="ci.yml"))


def test_check_5_catches_self_hosted_in_a_matrix() -> None:
    extra = "    strategy:\n      matrix:\n        runner: [ubuntu-latest, self-hosted]\n"
    text = "on: push\npermissions: {}\n" + good_job(extra=extra)
    assert check_self_hosted(snippet(text, name="ci.yml"))


def test_check_5_verify_yml_needs_environment_and_concurrency() -> None:
    gpu_job = good_job().replace("ubuntu-latest", "[self-hosted, gpu]")
    bare = snippet("on: workflow_dispatch\npermissions: {}\n" + gpu_job, name="verify.yml")
    problems = check_self_hosted(bare)
    assert any("environment" in p for p in problems), problems
    assert any("concurrency" in p for p in problems), problems
    ok = snippet("on: workflow_dispatch\npermissions: {}\n" + GUARDED_GPU_JOB, name="verify.yml")
    assert check_self_hosted(ok) == []


GUARDED_GPU_JOB = good_job(
    "      - env:\n"
    "          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"
    '        run: hearbot github fetch-submission --pr "$PR"\n'
    "      - run: hearbot verify --out verification\n",
    extra="    environment: gpu-verification\n    concurrency:\n"
    "      group: verify-gpu-pr-${{ needs.command.outputs.pr }}\n",
).replace("ubuntu-latest", "[self-hosted, linux, gpu]")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("[self-hosted, linux, gpu]", "[self-hosted, linux]", "runs-on must be exactly"),
        ("environment: gpu-verification", "environment: production", "environment must be"),
        ("verify-gpu-pr-${{ needs.command.outputs.pr }}", "verify-gpu", "is not per PR"),
        ("contents: read", "contents: write", "holds a write permission"),
        ("hearbot verify --out", "GITHUB_TOKEN=${{ github.token }} hearbot verify --out",
         "a token outside the fetch step"),
        ("      - run: hearbot verify", "      - env:\n          T: ${{ secrets.PAT }}\n"
         "        run: hearbot verify", "a token outside the fetch step"),
        ("    environment:", "    env:\n      GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n"
         "    environment:", "a token in the job's env"),
    ],
    ids=["labels", "environment", "group", "write", "token-in-verify", "secret-in-verify",
         "job-env-token"],
)  # fmt: skip
def test_check_5_guards_the_gpu_job(old: str, new: str, expected: str) -> None:
    assert old in GUARDED_GPU_JOB
    text = "on: workflow_dispatch\npermissions: {}\n" + GUARDED_GPU_JOB.replace(old, new, 1)
    problems = check_self_hosted(snippet(text, name="verify.yml"))
    assert any(expected in p for p in problems), problems


REPORT_JOB = good_job(
    "      - uses: actions/download-artifact@0123456789abcdef0123456789abcdef01234567 # v8.0.1\n"
    "        with:\n"
    "          pattern: hearbot-verification-shard-*\n"
    "          path: ${{ runner.temp }}/hearbot-shards\n"
    "      - run: hearbot github merge-results --shards x --out y\n"
    "      - env:\n"
    "          ARTIFACT: ${{ runner.temp }}/hearbot-verification\n"
    '        run: hearbot github report-verification --artifact "$ARTIFACT" --pr 1\n'
).replace(CHECKOUT_REF.rstrip("\n"), CHECKOUT_REF + "          ref: " + DEFAULT_BRANCH_REF)


def test_check_1_lets_the_report_job_read_its_artifact_as_data() -> None:
    text = "on: issue_comment\npermissions: {}\n" + REPORT_JOB.replace("  j:\n", "  report:\n")
    assert check_triggers_and_pr_code(snippet(text, name="verify.yml")) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("  report:\n", "  acknowledge:\n", "privileged workflow downloads an artifact"),
        ("pattern: hearbot-verification-shard-*", "pattern: ${{ inputs.name }}",
         "not pattern 'hearbot-verification-shard-*'"),
        ("pattern: hearbot-verification-shard-*", "pattern: '*'", "not pattern"),
        ("pattern: hearbot-verification-shard-*", "name: hearbot-verification", "not pattern"),
        ("          path:", "          run-id: 123\n          path:", "only this run's artifacts"),
        ("          path:", "          github-token: x\n          path:", "only this run's"),
        ("path: ${{ runner.temp }}/hearbot-shards", "path: .", "not under"),
        ("      - env:\n", "      - run: pip install -e .\n      - env:\n", "only `hearbot github"),
        ("      - run: hearbot github merge",
         "      - run: python x.py\n      - run: hearbot github merge",
         "only `hearbot github merge-results`"),
        ("      - env:\n", "      - uses: ./.github/actions/x\n      - env:\n", "an action runs"),
        ('--artifact "$ARTIFACT" ', "", "`hearbot github report-verification --artifact` may run"),
        ("--pr 1\n", "--pr 1\n      - run: hearbot github merge-results --late\n",
         "then `hearbot github report-verification --artifact`"),
    ],
    ids=["other-job", "expression-pattern", "any-artifact", "name-not-pattern", "other-run",
         "other-token", "workspace-path", "code-after", "code-before-merge", "action-after",
         "no-artifact-flag", "merge-after-report"],
)  # fmt: skip
def test_check_1_catches_artifact_misuse(old: str, new: str, expected: str) -> None:
    job = REPORT_JOB.replace("  j:\n", "  report:\n")
    assert old in job
    text = "on: issue_comment\npermissions: {}\n" + job.replace(old, new, 1)
    problems = check_triggers_and_pr_code(snippet(text, name="verify.yml"))
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("ref", ["main", "refs/heads/dev", "${{ github.sha }}", ""])
def test_check_1_privileged_checkout_is_the_default_branch_only(ref: str) -> None:
    step = CHECKOUT_REF + (f"          ref: {ref!r}\n" if ref else "")
    text = "on: workflow_dispatch\npermissions: {}\n" + good_job(step)
    problems = check_triggers_and_pr_code(snippet(text))
    assert any("other than the default branch" in p for p in problems), problems


def test_check_2_catches_needs_outputs_in_run() -> None:
    run = 'hearbot github acknowledge --decision "${{ needs.command.outputs.decision }}"'
    wf = snippet("on: push\npermissions: {}\n" + good_job(f"      - run: {run!r}\n"))
    assert check_no_untrusted_expansion(wf)


def test_verify_runs_only_from_the_default_branch_after_the_command_job(workflows) -> None:
    verify = next(wf for wf in workflows if wf.name == "verify.yml")
    assert triggers(verify) == {"issue_comment", "workflow_dispatch"}
    assert verify.data["on"]["issue_comment"]["types"] == ["created"]
    all_jobs = dict(jobs(verify))
    guard = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"
    assert guard in all_jobs["command"]["if"]
    from bot.github.acknowledge import RUN_NAME_PREFIX

    # /verify-cancel finds this PR's runs by their name
    assert verify.data["run-name"].startswith(RUN_NAME_PREFIX + "${{")
    gpu = [job_id for job_id, job in all_jobs.items() if job.get("runs-on") == GPU_LABELS]
    assert gpu == ["verify"]
    assert "command" in all_jobs["verify"]["needs"]
    assert all_jobs["report"]["if"].startswith("always()")


GUARDED_MATRIX_JOB = GUARDED_GPU_JOB.replace(
    "    environment: gpu-verification\n",
    "    strategy:\n      fail-fast: false\n      max-parallel: 2\n"
    "      matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}\n"
    "    environment: gpu-verification\n",
).replace(
    "verify-gpu-pr-${{ needs.command.outputs.pr }}",
    "verify-gpu-pr-${{ needs.command.outputs.pr }}-shard-${{ matrix.shard }}",
)


def test_check_5_allows_a_guarded_gpu_matrix_and_the_scale_set() -> None:
    for job in (
        GUARDED_MATRIX_JOB,
        GUARDED_MATRIX_JOB.replace(
            "max-parallel: 2", "max-parallel: ${{ fromJSON(vars.HEARBOT_GPU_MAX_PARALLEL || '4') }}"
        ),
        GUARDED_GPU_JOB.replace("[self-hosted, linux, gpu]", GPU_SCALE_SET),
    ):
        text = "on: workflow_dispatch\npermissions: {}\n" + job
        assert check_self_hosted(snippet(text, name="verify.yml")) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("-shard-${{ matrix.shard }}", "", "is not per shard"),
        ("fail-fast: false", "fail-fast: true", "fail-fast: false"),
        ("      fail-fast: false\n", "", "fail-fast: false"),
        ("      max-parallel: 2\n", "", "max-parallel"),
        ("max-parallel: 2", "max-parallel: 0", "max-parallel"),
        ("max-parallel: 2", "max-parallel: ${{ fromJSON(vars.N || '0') }}", "max-parallel"),
        ("max-parallel: 2", "max-parallel: ${{ vars.N }}", "max-parallel"),
        ("[self-hosted, linux, gpu]", "[hear-gpu, linux]", "runs-on must be exactly"),
        ("    environment: gpu-verification\n", "", "no environment"),
    ],
    ids=["group-not-per-shard", "fail-fast-true", "fail-fast-default", "no-max-parallel",
         "zero-max-parallel", "variable-zero-fallback", "variable-no-fallback",
         "scale-set-with-labels", "no-environment"],
)  # fmt: skip
def test_check_5_guards_the_gpu_matrix(old: str, new: str, expected: str) -> None:
    assert old in GUARDED_MATRIX_JOB
    text = "on: workflow_dispatch\npermissions: {}\n" + GUARDED_MATRIX_JOB.replace(old, new, 1)
    problems = check_self_hosted(snippet(text, name="verify.yml"))
    assert any(expected in p for p in problems), problems


def test_check_5_the_scale_set_counts_as_self_hosted() -> None:
    text = "on: push\npermissions: {}\n" + good_job().replace("ubuntu-latest", GPU_SCALE_SET)
    assert check_self_hosted(snippet(text, name="ci.yml"))
    bare = "on: workflow_dispatch\npermissions: {}\n" + good_job().replace(
        "ubuntu-latest", GPU_SCALE_SET
    )
    problems = check_self_hosted(snippet(bare, name="verify.yml"))
    assert any("no environment" in p for p in problems), problems


def test_check_1_the_report_job_may_skip_the_merge() -> None:
    job = REPORT_JOB.replace("  j:\n", "  report:\n").replace(
        "      - run: hearbot github merge-results --shards x --out y\n", ""
    )
    text = "on: issue_comment\npermissions: {}\n" + job
    assert check_triggers_and_pr_code(snippet(text, name="verify.yml")) == []


def test_the_gpu_work_fans_out_over_the_plan(workflows) -> None:
    verify = next(wf for wf in workflows if wf.name == "verify.yml")
    all_jobs = dict(jobs(verify))
    assert all_jobs["plan"]["runs-on"] == "ubuntu-latest"
    assert not grants_write(all_jobs["plan"]["permissions"])
    assert all_jobs["verify"]["needs"] == ["command", "plan"]
    strategy = all_jobs["verify"]["strategy"]
    assert strategy["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    upload = [s for _, s in steps(all_jobs["verify"]) if "upload-artifact" in str(s.get("uses"))]
    assert [s["with"]["name"] for s in upload] == ["hearbot-verification-shard-${{ matrix.shard }}"]
    assert set(all_jobs["report"]["needs"]) == {"command", "plan", "verify", "status"}
    # The live status: a GitHub-hosted job beside the GPU shards, with no PR code, that can
    # read the run's jobs and write only the comment.
    status = all_jobs["status"]
    assert status["runs-on"] == "ubuntu-latest" and status["needs"] == ["command", "plan"]
    assert status["permissions"] == {
        "contents": "read", "pull-requests": "write", "actions": "read"
    }  # fmt: skip
    assert "hearbot github watch-run" in next(
        s["run"] for _, s in steps(status) if "watch-run" in str(s.get("run"))
    )


# --- publish.yml: evidence checkout, Pages deployment -----------------------------------------


def check_publishing(wf: Workflow) -> list[str]:
    """GitHub's Pages actions only in publish.yml, pinned like every action; the deploy job
    alone holds pages: write and id-token: write, behind the github-pages environment; the
    evidence branch is checked out only as data by the allowed jobs."""
    problems = []
    for job_id, job in jobs(wf):
        perms = job.get("permissions") or {}
        deploys = isinstance(perms, dict) and (
            perms.get("id-token") == "write" or perms.get("pages") == "write"
        )
        if deploys and (wf.name, job_id) != PAGES_DEPLOY_JOB:
            problems.append(f"{where(wf, job_id)}: only {PAGES_DEPLOY_JOB} may deploy Pages")
        if deploys:
            env = job.get("environment")
            name = env.get("name") if isinstance(env, dict) else env
            if name != "github-pages":
                problems.append(
                    f"{where(wf, job_id)}: deploys outside the github-pages environment"
                )
            if set(perms) - {"pages", "id-token"}:
                problems.append(f"{where(wf, job_id)}: the deploy job needs only pages, id-token")
        for label, step in steps(job):
            uses = str(step.get("uses", ""))
            with_ = step.get("with") or {}
            if action_name(uses) in PAGES_ACTIONS and wf.name != "publish.yml":
                problems.append(f"{where(wf, job_id, label)}: Pages actions only in publish.yml")
            if EVIDENCE_BRANCH in str(with_.get("ref", "")) and not evidence_checkout(
                wf, job_id, with_
            ):
                problems.append(
                    f"{where(wf, job_id, label)}: the evidence branch is checked out only by "
                    f"{sorted(EVIDENCE_CHECKOUTS)}, into ./{EVIDENCE_BRANCH}"
                )
    return problems


def test_6_publishing(workflows: list[Workflow]) -> None:
    problems = [p for wf in workflows for p in check_publishing(wf)]
    assert not problems, "\n".join(problems)


def test_publish_runs_on_merges_to_the_leaderboard(workflows: list[Workflow]) -> None:
    (publish,) = [wf for wf in workflows if wf.name == "publish.yml"]
    push = publish.data["on"]["push"]
    assert push["branches"] == ["main"]
    assert sorted(push["paths"]) == ["leaderboard.csv", "submissions/**"]
    assert publish.data["concurrency"]["cancel-in-progress"] is False
    runs = [str(s.get("run", "")) for s in publish.data["jobs"]["publish"]["steps"]]
    assert any("hearbot publish --out" in r and "--bound-out" in r for r in runs)
    assert any(r.startswith("hearbot github find-pulls") for r in runs)
    assert any(r.startswith("hearbot github sync-bound") for r in runs)
    used = {action_name(str(s.get("uses", ""))) for j in publish.data["jobs"].values()
            for s in j["steps"]}  # fmt: skip
    assert set(PAGES_ACTIONS) <= used


PUBLISH_JOB = """\
  publish:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      contents: write # bound files
    steps:
      - uses: actions/checkout@0123456789abcdef0123456789abcdef01234567 # v7.0.1
        with:
          ref: hearbot-evidence
          path: hearbot-evidence
          persist-credentials: false
  deploy:
    runs-on: ubuntu-latest
    timeout-minutes: 5
    permissions:
      pages: write # deploy
      id-token: write # OIDC
    environment:
      name: github-pages
    steps:
      - uses: actions/deploy-pages@0123456789abcdef0123456789abcdef01234567 # v5.0.0
"""


def test_the_publish_snippet_passes() -> None:
    wf = snippet("on: push\npermissions: {}\njobs:\n" + PUBLISH_JOB, name="publish.yml")
    assert check_publishing(wf) == [] and check_triggers_and_pr_code(wf) == []
    assert check_permissions(wf) == []


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        ("other.yml", "", "", "Pages actions only in publish.yml"),
        ("publish.yml", "path: hearbot-evidence", "path: .", "evidence branch is checked out"),
        ("publish.yml", "  publish:", "  build:", "evidence branch is checked out"),
        ("publish.yml", "name: github-pages", "name: production", "outside the github-pages"),
        ("publish.yml", "  deploy:", "  ship:", "only ('publish.yml', 'deploy') may deploy"),
        ("publish.yml", "      pages: write # deploy\n",
         "      pages: write # deploy\n      contents: write # x\n", "needs only pages"),
    ],
    ids=["pages-elsewhere", "evidence-into-workspace", "evidence-other-job", "other-env",
         "other-deployer", "deployer-writes-contents"],
)  # fmt: skip
def test_check_6_catches(name: str, old: str, new: str, expected: str) -> None:
    text = "on: push\npermissions: {}\njobs:\n" + PUBLISH_JOB.replace(old, new, 1)
    problems = check_publishing(snippet(text, name=name))
    assert any(expected in p for p in problems), problems


def test_check_1_allows_store_evidence_only_last() -> None:
    job = REPORT_JOB.replace("  j:\n", "  report:\n")
    late = job + '      - run: hearbot github store-evidence --artifact "$ARTIFACT" --pr 1\n'
    text = "on: issue_comment\npermissions: {}\n"
    assert check_triggers_and_pr_code(snippet(text + late, name="verify.yml")) == []
    store = "      - run: hearbot github store-evidence --artifact x\n"
    early = job.replace("      - env:\n", store + "      - env:\n", 1)
    problems = check_triggers_and_pr_code(snippet(text + early, name="verify.yml"))
    assert any("may run" in p for p in problems), problems
