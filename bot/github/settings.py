"""``settings-check``: what the merge gate needs from the repository's settings, read through
the API, and what is missing (each with where to fix it). docs/maintainers.md, "The merge gate".

Pure checks over plain data (``Settings``), fed by ``read_settings`` (one GET per setting; a
404 means "not set", anything else is an infrastructure error).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.github.checks import CHECK_NAME as VALIDATE_CHECK
from bot.github.client import GitHubClient
from bot.github.evidence import EVIDENCE_BRANCH
from bot.github.verify_check import VERIFY_CHECK_NAME

REQUIRED_CHECKS = (VALIDATE_CHECK, VERIFY_CHECK_NAME)
GPU_ENVIRONMENT = "gpu-verification"
PAGES_ENVIRONMENT = "github-pages"


@dataclass(frozen=True)
class Settings:
    required_checks: tuple[str, ...] | None  # None: the branch has no required status checks
    gpu_environment: dict[str, Any] | None
    workflow_permissions: dict[str, Any]
    actions_permissions: dict[str, Any]
    evidence_branch: bool
    pages: dict[str, Any] | None


def read_settings(client: GitHubClient, branch: str) -> Settings:
    checks = client.required_status_checks(branch)
    return Settings(
        required_checks=None if checks is None else tuple(checks),
        gpu_environment=client.environment(GPU_ENVIRONMENT),
        workflow_permissions=client.actions_workflow_permissions(),
        actions_permissions=client.actions_permissions(),
        evidence_branch=client.branch_exists(EVIDENCE_BRANCH),
        pages=client.pages(),
    )


def missing_settings(settings: Settings, branch: str) -> list[str]:
    """Each missing or unsafe setting, as one line saying what to change and where."""
    problems = []
    protection = f"Settings → Branches → a rule for `{branch}`"
    if settings.required_checks is None:
        problems.append(
            f"`{branch}` has no required status checks: {protection} → Require status checks "
            f"to pass, and add {' and '.join(f'`{c}`' for c in REQUIRED_CHECKS)}"
        )
    else:
        for check in REQUIRED_CHECKS:
            if check not in settings.required_checks:
                problems.append(f"`{check}` is not a required check of `{branch}`: {protection}")
    env = settings.gpu_environment
    where = f"Settings → Environments → `{GPU_ENVIRONMENT}`"
    if env is None:
        problems.append(f"the environment `{GPU_ENVIRONMENT}` does not exist: create it ({where})")
    else:
        rules = env.get("protection_rules") or []
        reviewers = [r for r in rules if r.get("type") == "required_reviewers"]
        if not reviewers or not any(r.get("reviewers") for r in reviewers):
            problems.append(f"`{GPU_ENVIRONMENT}` has no required reviewers: {where}")
        if env.get("deployment_branch_policy") is None:
            problems.append(
                f"`{GPU_ENVIRONMENT}` can be used from any branch: limit Deployment branches "
                f"to `{branch}` ({where})"
            )
    actions = "Settings → Actions → General"
    permissions = settings.workflow_permissions
    if permissions.get("default_workflow_permissions") != "read":
        problems.append(
            f"the default GITHUB_TOKEN can write: choose Read repository contents ({actions} → "
            "Workflow permissions); each job asks for what it needs"
        )
    if permissions.get("can_approve_pull_request_reviews"):
        problems.append(
            f"workflows may approve pull requests: turn that off ({actions} → Workflow permissions)"
        )
    if not settings.actions_permissions.get("enabled"):
        problems.append(f"GitHub Actions is disabled for the repository ({actions})")
    if settings.actions_permissions.get("sha_pinning_required") is False:
        problems.append(
            f"actions are not required to be pinned by full commit SHA ({actions} → Actions "
            "permissions → Require actions to be pinned to a full-length commit SHA)"
        )
    if not settings.evidence_branch:
        problems.append(
            f"the evidence branch `{EVIDENCE_BRANCH}` does not exist: create it once "
            "(docs/maintainers.md, The merge gate) and protect it from deletion and force pushes"
        )
    pages = settings.pages
    if pages is None:
        problems.append("GitHub Pages is off: Settings → Pages → Source: GitHub Actions")
    elif pages.get("build_type") != "workflow":
        problems.append(
            "GitHub Pages builds from a branch, not from publish.yml: Settings → Pages → "
            "Source: GitHub Actions"
        )
    return problems


def check_settings(client: GitHubClient, branch: str) -> list[str]:
    return missing_settings(read_settings(client, branch), branch)
