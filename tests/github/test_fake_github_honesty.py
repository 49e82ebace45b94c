"""The fake GitHub is only as good as its checks: show that they catch what they should.

Requests and responses are checked against @octokit/openapi; the event fixtures the tests use
against @octokit/webhooks-schemas. Each check gets a passing and a failing example here.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from tests.fake_github import FakeGitHub, webhook_errors
from tests.fake_github.openapi import OPENAPI_FILE, Spec, require_octokit, to_json_schema
from tests.fake_github.scenario import EVENTS_DIR, TOKEN, open_submission

AUTH = {"Authorization": f"token {TOKEN}"}


@pytest.fixture
def loose_fake(github_spec: Spec) -> Any:
    """A fake whose violations the test inspects itself (the ``fake`` fixture fails on any)."""
    with FakeGitHub(spec=github_spec) as server:
        yield server


def test_missing_npm_packages_skip_locally_but_fail_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="npm ci"):
        require_octokit([OPENAPI_FILE])
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI setup must install them"):
        require_octokit([OPENAPI_FILE])
    require_octokit([])  # present: nothing happens


def test_nullable_translation() -> None:
    assert to_json_schema({"type": "string", "nullable": True}) == {"type": ["string", "null"]}
    assert to_json_schema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    ref = to_json_schema({"allOf": [{"$ref": "#/components/schemas/x"}], "nullable": True})
    assert ref["anyOf"][1] == {"type": "null"}
    assert ref["anyOf"][0]["allOf"][0]["$ref"].endswith("#/components/schemas/x")
    # a property that happens to be called "nullable" is a property, not the keyword
    prop = to_json_schema({"type": "object", "properties": {"nullable": {"type": "boolean"}}})
    assert prop == {"type": "object", "properties": {"nullable": {"type": "boolean"}}}


def test_unknown_paths_and_unimplemented_operations_are_violations(loose_fake: FakeGitHub) -> None:
    base = f"{loose_fake.base_url}/repos/{loose_fake.repository}"
    assert requests.get(f"{base}/no-such-thing", headers=AUTH, timeout=5).status_code == 404
    assert requests.get(f"{base}/releases", headers=AUTH, timeout=5).status_code == 404
    assert any("no such operation" in v for v in loose_fake.violations)
    assert any("repos/list-releases is not implemented" in v for v in loose_fake.violations)


def test_bad_query_and_body_are_violations(loose_fake: FakeGitHub) -> None:
    base = f"{loose_fake.base_url}/repos/{loose_fake.repository}"
    answer = requests.get(f"{base}/pulls", params={"state": "merged"}, headers=AUTH, timeout=5)
    assert answer.status_code == 422
    requests.get(f"{base}/pulls", params={"sha": "x"}, headers=AUTH, timeout=5)
    bad_annotation = {"path": "leaderboard.csv", "start_line": "36", "end_line": 36,
                      "annotation_level": "error", "message": "m"}  # fmt: skip
    requests.post(
        f"{base}/check-runs",
        json={"name": "x", "head_sha": "a" * 40, "output": {"title": "t", "summary": "s",
              "annotations": [bad_annotation]}},
        headers=AUTH,
        timeout=5,
    )  # fmt: skip
    requests.post(f"{base}/issues/1/labels", json=["bare", "array"], headers=AUTH, timeout=5)
    text = "\n".join(loose_fake.violations)
    assert "query parameter state='merged'" in text
    assert "query parameter 'sha' is not defined" in text
    assert "annotations/0/start_line" in text
    assert "annotations/0/annotation_level" in text
    assert "issues/add-labels" in text
    assert all(r.status == 422 for r in loose_fake.log)


def test_responses_are_checked_too(github_spec: Spec) -> None:
    match = github_spec.match("GET", "/repos/o/r/issues/1/comments")
    assert match is not None
    assert github_spec.response_errors(match, 200, b"[]") == []
    assert github_spec.response_errors(match, 200, b'[{"id": "1"}]')
    assert github_spec.response_errors(match, 201, b"[]")  # undocumented success status
    error = json.dumps({"message": "Not Found", "documentation_url": "x"}).encode()
    assert github_spec.response_errors(match, 404, error) == []
    delete = github_spec.match("DELETE", "/repos/o/r/issues/comments/5")
    assert delete is not None
    assert github_spec.response_errors(delete, 204, b"") == []
    assert github_spec.response_errors(delete, 204, b"{}")


def test_bad_token_is_refused(loose_fake: FakeGitHub) -> None:
    base = f"{loose_fake.base_url}/repos/{loose_fake.repository}"
    answer = requests.get(f"{base}/pulls", headers={"Authorization": "token nope"}, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["message"] == "Bad credentials"


def test_more_than_50_annotations_in_one_request_are_refused(loose_fake: FakeGitHub) -> None:
    fake = loose_fake
    pr = open_submission(fake)
    annotation = {"path": "leaderboard.csv", "start_line": 2, "end_line": 2,
                  "annotation_level": "warning", "message": "m"}  # fmt: skip
    answer = requests.post(
        f"{fake.base_url}/repos/{fake.repository}/check-runs",
        json={
            "name": "n",
            "head_sha": pr.head_sha,
            "status": "completed",
            "conclusion": "neutral",
            "output": {"title": "t", "summary": "s", "annotations": [annotation] * 50},
        },
        headers=AUTH,
        timeout=5,
    )
    assert answer.status_code == 201
    assert answer.json()["output"]["annotations_count"] == 50
    run_url = answer.json()["url"]
    too_many = {"output": {"title": "t", "summary": "s", "annotations": [annotation] * 51}}
    assert requests.patch(run_url, json=too_many, headers=AUTH, timeout=5).status_code == 422
    assert len(fake.check_runs_on(pr.head_sha)[0].annotations) == 50
    (violation,) = fake.violations  # the spec itself says maxItems: 50
    assert "checks/update" in violation and "output/annotations" in violation


def test_pagination_links_are_followable(fake: FakeGitHub) -> None:
    pr = open_submission(fake)
    for index in range(7):
        fake.add_comment(pr.number, "bob", f"c{index}")
    url = f"{fake.base_url}/repos/{fake.repository}/issues/{pr.number}/comments?per_page=3"
    seen = []
    while url:
        answer = requests.get(url, headers=AUTH, timeout=5)
        seen += [c["body"] for c in answer.json()]
        url = answer.links.get("next", {}).get("url")
    assert seen == [f"c{index}" for index in range(7)]


@pytest.mark.parametrize(
    ("name", "event", "action"),
    [
        ("workflow_run.completed.json", "workflow_run", "completed"),
        ("pull_request.opened.json", "pull_request", "opened"),
        ("pull_request.synchronize.json", "pull_request", "synchronize"),
    ],
)
def test_event_fixtures_match_octokit_webhook_schemas(
    github_spec: Spec, name: str, event: str, action: str
) -> None:
    payload = json.loads((EVENTS_DIR / name).read_text())
    assert webhook_errors(event, action, payload) == []
    broken = json.loads((EVENTS_DIR / name).read_text())
    broken["unexpected"] = True
    broken.pop("sender")
    problems = "\n".join(webhook_errors(event, action, broken))
    assert "sender" in problems and "unexpected" in problems


def test_built_command_events_match_octokit_webhook_schemas(github_spec: Spec) -> None:
    from tests.fake_github import events

    comment = events.issue_comment(1, "bob", "/verify")
    assert webhook_errors("issue_comment", "created", comment) == []
    edited = events.issue_comment(1, "bob", "/verify", action="edited")
    assert webhook_errors("issue_comment", "edited", edited) == []
    dispatch = events.workflow_dispatch("bob", {"pr": "1", "head_sha": "a" * 40})
    assert webhook_errors("workflow_dispatch", "event", dispatch) == []
    comment["comment"].pop("user")
    comment["issue"]["pull_request"]["unexpected"] = 1
    problems = "\n".join(webhook_errors("issue_comment", "created", comment))
    assert "user" in problems and "unexpected" in problems
    assert webhook_errors("issue_comment", "created", edited)  # action must be "created"
