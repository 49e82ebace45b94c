"""``hearbot github settings-check`` against the fake GitHub: a bare repository misses every
setting of the merge gate (each named with where to fix it); a configured one passes."""

from __future__ import annotations

import pytest

from tests.fake_github.scenario import github
from tests.fake_github.server import FakeGitHub

VALIDATE, VERIFY = "hear-leaderboard / validate", "hear-leaderboard / verify"


def configure(fake: FakeGitHub) -> None:
    fake.required_checks["main"] = [VALIDATE, VERIFY, "Tests"]
    fake.add_user("lead-maintainer")
    fake.environments["gpu-verification"] = {
        "reviewers": ["lead-maintainer"],
        "branch_policy": True,
    }
    fake.actions_permissions["sha_pinning_required"] = True
    fake.set_branch("main", fake.commit({"leaderboard.csv": b"x"}))
    fake.set_branch("hearbot-evidence", fake.commit({"README.md": b"evidence\n"}))
    fake.pages_build_type = "workflow"


def test_a_bare_repository_misses_every_setting(
    fake: FakeGitHub, github_env: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.workflow_permissions["default_workflow_permissions"] = "write"
    assert github("settings-check") == 1
    out = capsys.readouterr().out
    assert "5 setting(s) the merge gate needs are missing" in out
    assert f"add `{VALIDATE}` and `{VERIFY}`" in out
    assert "the environment `gpu-verification` does not exist" in out
    assert "the default GITHUB_TOKEN can write" in out
    assert "the evidence branch `hearbot-evidence` does not exist" in out
    assert "GitHub Pages is off" in out


def test_a_configured_repository_passes(
    fake: FakeGitHub, github_env: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(fake)
    assert github("settings-check") == 0
    assert "every setting the merge gate needs is in place" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.required_checks.__setitem__("main", [VALIDATE]),
         f"`{VERIFY}` is not a required check of `main`"),
        (lambda f: f.required_checks.__setitem__("main", [VERIFY]),
         f"`{VALIDATE}` is not a required check of `main`"),
        (lambda f: f.environments["gpu-verification"].__setitem__("reviewers", []),
         "`gpu-verification` has no required reviewers"),
        (lambda f: f.environments["gpu-verification"].__setitem__("branch_policy", False),
         "can be used from any branch"),
        (lambda f: f.workflow_permissions.__setitem__("can_approve_pull_request_reviews", True),
         "workflows may approve pull requests"),
        (lambda f: f.actions_permissions.__setitem__("sha_pinning_required", False),
         "pinned by full commit SHA"),
        (lambda f: f.actions_permissions.__setitem__("enabled", False), "Actions is disabled"),
        (lambda f: setattr(f, "pages_build_type", "legacy"), "builds from a branch"),
        (lambda f: f.branches.pop("hearbot-evidence"), "`hearbot-evidence` does not exist"),
    ],
    ids=["no-verify", "no-validate", "no-reviewers", "any-branch", "approve-prs",
         "no-sha-pinning", "actions-off", "pages-legacy", "no-evidence-branch"],
)  # fmt: skip
def test_each_missing_setting_is_named(
    fake: FakeGitHub, github_env: dict, capsys: pytest.CaptureFixture[str], change, expected: str
) -> None:
    configure(fake)
    change(fake)
    assert github("settings-check") == 1
    out = capsys.readouterr().out
    assert "1 setting(s) the merge gate needs are missing" in out and expected in out


def test_an_api_failure_is_an_infrastructure_error(
    fake: FakeGitHub, github_env: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    configure(fake)
    fake.fail(10, 500, path_contains="/environments/")
    assert github("settings-check") == 3
    assert "infrastructure failure" in capsys.readouterr().err
