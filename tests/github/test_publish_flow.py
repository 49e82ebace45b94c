"""End to end against the fake GitHub: a verified PR is squash-merged, the report job's
evidence and the publish job bind it to the merged row; a row merged without verification is
`validated`; the historical rows are `self-reported`; re-running the publish job changes
nothing."""

from __future__ import annotations

import json
from pathlib import Path

from bot.common.schemas import leaderboard_facts
from bot.publish.build import Inputs, bind, publish
from tests.fake_github.scenario import (
    BASE_CSV,
    MODEL_URL,
    github,
    manifest,
    open_submission,
    score_row,
)
from tests.fake_github.server import FakeGitHub
from tests.github.verification_result import shard_result, write_artifact

EVIDENCE = "hearbot-evidence"


def checkout(fake: FakeGitHub, branch: str, into: Path) -> Path:
    """What actions/checkout of ``branch`` leaves on disk."""
    for path, data in fake.commits[fake.branches[branch]].files.items():
        target = into / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return into


def squash_merge(fake: FakeGitHub, files: dict[str, bytes]) -> str:
    """A squash merge: a new commit on main with the PR's content (a new SHA, same bytes)."""
    main = fake.branches["main"]
    merged = {**fake.commits[main].files, **files}
    sha = fake.commit(merged, parents=(main,), message="Add Acme Net (#1)")
    fake.set_branch("main", sha)
    return sha


def publish_job(
    fake: FakeGitHub, work: Path, push: tuple[str, str] | None = None
) -> tuple[int, dict]:
    """publish.yml's steps: check out main and the evidence branch, find the pushed rows'
    merged PRs (on a push), build with --bound-out, sync the bound files; returns how many
    writes the fake saw and leaderboard.json."""
    writes_before = len(fake.writes())
    repo = checkout(fake, "main", work / "repo")
    evidence = checkout(fake, EVIDENCE, work / "evidence")
    site, bound, pulls = work / "site", work / "bound", None
    if push is not None:
        pulls = work / "pulls.json"
        before, after = push
        assert github("find-pulls", "--before", before, "--after", after, "--out", str(pulls)) == 0
    assert github_publish(repo, evidence, site, bound, pulls) == 0
    assert github("sync-bound", "--dir", str(bound)) == 0
    document = json.loads((site / "leaderboard.json").read_text())
    return len(fake.writes()) - writes_before, document


def github_publish(repo: Path, evidence: Path, site: Path, bound: Path, pulls: Path | None) -> int:
    from bot.cli import main

    extra = ["--pulls", str(pulls)] if pulls else []
    return main(["publish", "--out", str(site), "--leaderboard", str(repo / "leaderboard.csv"),
                 "--submissions", str(repo / "submissions"), "--evidence", str(evidence),
                 "--bound-out", str(bound), *extra])  # fmt: skip


def test_verified_pr_merged_then_published(
    fake: FakeGitHub, github_env: dict, tmp_path: Path, monkeypatch
) -> None:
    # the row claims 0.5 everywhere, what shard_result's columns were judged against
    columns = leaderboard_facts().score_columns
    row = ",".join(["Acme Net", MODEL_URL, "2024-05-01", *["0.5"] * len(columns)])
    submission = open_submission(fake, row)  # with an empty hearbot-evidence branch
    # the report job: the merged result of the GPU shards, then its evidence
    column = "Beehive"
    result = shard_result(dict.fromkeys(leaderboard_facts().score_columns, "reproduced"))
    artifact = write_artifact(tmp_path / "artifact", result)
    monkeypatch.setenv("GITHUB_RUN_ID", "4242")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    monkeypatch.setenv("GITHUB_SHA", "d" * 40)
    monkeypatch.setenv("GITHUB_SERVER_URL", "https://github.com")
    code = github("store-evidence", "--artifact", str(artifact), "--pr", str(submission.number),
                  "--sha", submission.head_sha, "--requester", "maintainer")  # fmt: skip
    assert code == 0
    stored = [p for p in fake.commits[fake.branches[EVIDENCE]].files if p.startswith("records/")]
    assert len(stored) == 1 and stored[0].endswith("-verification-run4242-1.json")

    # squash merge: main gets the PR's bytes under a new SHA
    before = fake.branches["main"]
    merge_sha = squash_merge(fake, fake.commits[submission.head_sha].files)
    fake.merge_pull(submission.number, merge_sha)
    assert merge_sha != submission.head_sha
    # ... and a second PR, merged without any verification
    url = "https://github.com/cedar/cedar-net"
    cedar_files = {
        "leaderboard.csv": fake.commits[merge_sha].files["leaderboard.csv"]
        + b"\n" + score_row("Cedar Net", url=url).encode(),
        "submissions/cedar-net.json": manifest("Cedar Net", url),
    }  # fmt: skip
    cedar_head = fake.commit(cedar_files, parents=(merge_sha,), message="Add Cedar Net")
    cedar = fake.open_pull(cedar_head, author="bob", head_ref="cedar")
    cedar_merge = squash_merge(fake, cedar_files)
    fake.merge_pull(cedar, cedar_merge)

    writes, document = publish_job(fake, tmp_path / "run1", (before, cedar_merge))
    rows = {row["model"]: row for row in document["rows"]}
    acme = rows["Acme Net"]
    assert acme["tier"] == "verified"
    assert acme["pull_request"]["number"] == submission.number
    assert acme["pull_request"]["head_sha"] == submission.head_sha
    assert acme["verification"]["run_url"].endswith("/actions/runs/4242")
    beehive = {c["column"]: c for c in acme["columns"]}[column]
    assert beehive["tier"] == "verified" and beehive["reproduced"] == 0.5
    assert rows["Cedar Net"]["tier"] == "validated"
    assert rows["Cedar Net"]["pull_request"]["number"] == cedar  # found through the API
    assert rows["Cedar Net"]["merged_pull"]["merge_commit_sha"] == cedar_merge
    historical = [r for r in document["rows"] if r["date"] == "HEAR 2021" or r["line"] <= 35]
    assert len(historical) == 34 and {r["tier"] for r in historical} == {"self-reported"}
    assert writes == 2  # bound/acme-net... and bound/cedar-net...
    bound = fake.commits[fake.branches[EVIDENCE]].files
    acme_bound = json.loads(bound["bound/acme-net.verification.json"])
    assert acme_bound["row"]["tier"] == "verified" and len(acme_bound["records"]) == 1
    cedar_bound = json.loads(bound["bound/cedar-net.verification.json"])
    assert (
        cedar_bound["records"] == [] and "without a GPU verification" in cedar_bound["row"]["note"]
    )
    page = (tmp_path / "run1" / "site" / "models" / "acme-net.html").read_text()
    assert "verified" in page and f"/pull/{submission.number}" in page
    cedar_page = (tmp_path / "run1" / "site" / "models" / "cedar-net.html").read_text()
    assert f"/pull/{cedar}" in cedar_page and "merged without a GPU verification" in cedar_page
    # the same push published again (a re-run of the job) writes nothing either
    writes, again = publish_job(fake, tmp_path / "run1b", (before, cedar_merge))
    assert writes == 0 and again == document

    # a re-run changes nothing: no write, the same site (a manual run: no push to walk, the
    # merged PRs come back from the bound files)
    writes, again = publish_job(fake, tmp_path / "run2")
    assert writes == 0 and again == document
    for path in (tmp_path / "run1" / "site").rglob("*"):
        if path.is_file():
            twin = tmp_path / "run2" / "site" / path.relative_to(tmp_path / "run1" / "site")
            assert twin.read_bytes() == path.read_bytes()


def test_evidence_of_other_content_does_not_bind(
    fake: FakeGitHub, github_env: dict, tmp_path: Path
) -> None:
    """The PR's row is edited before the merge: the evidence of the old content stays
    unbound, and the merged row is `validated`."""
    submission = open_submission(fake)
    artifact = write_artifact(tmp_path / "artifact", shard_result({"Beehive": "reproduced"}))
    assert github("store-evidence", "--artifact", str(artifact), "--pr", str(submission.number),
                  "--sha", submission.head_sha, "--requester", "maintainer") == 0  # fmt: skip
    edited = BASE_CSV + b"\n" + score_row(first_score="0.2").encode()
    squash_merge(fake, {**fake.commits[submission.head_sha].files, "leaderboard.csv": edited})
    repo = checkout(fake, "main", tmp_path / "repo")
    evidence = checkout(fake, EVIDENCE, tmp_path / "evidence")
    entries = bind(Inputs(repo / "leaderboard.csv", repo / "submissions", evidence))
    assert entries[-1].row.model == "Acme Net" and entries[-1].tier == "validated"
    publish(Inputs(repo / "leaderboard.csv", repo / "submissions", evidence), tmp_path / "s",
            repository=None, bound_out=None)  # fmt: skip


def test_no_evidence_branch_is_a_clear_error(
    fake: FakeGitHub, github_env: dict, tmp_path: Path, capsys
) -> None:
    submission = open_submission(fake)
    del fake.branches[EVIDENCE]  # a repository where nobody created the branch yet
    artifact = write_artifact(tmp_path / "artifact", shard_result({"Beehive": "reproduced"}))
    code = github("store-evidence", "--artifact", str(artifact), "--pr", str(submission.number),
                  "--sha", submission.head_sha, "--requester", "maintainer")  # fmt: skip
    assert code == 3
    assert "Branch hearbot-evidence not found" in capsys.readouterr().err


def test_a_record_is_never_rewritten(
    fake: FakeGitHub, github_env: dict, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The same run attempt storing again writes nothing new; a different record at the
    same path is refused, and the stored one stays."""
    submission = open_submission(fake)
    monkeypatch.setenv("GITHUB_RUN_ID", "77")
    monkeypatch.setenv("GITHUB_RUN_ATTEMPT", "1")
    monkeypatch.setattr("bot.github.evidence.utc_now", lambda: "2026-12-01T00:00:00Z")
    args = ("store-evidence", "--pr", str(submission.number), "--sha", submission.head_sha,
            "--requester", "maintainer")  # fmt: skip
    passing = write_artifact(tmp_path / "pass", shard_result({"Beehive": "reproduced"}))
    assert github(*args, "--artifact", str(passing)) == 0
    stored = dict(fake.commits[fake.branches[EVIDENCE]].files)
    assert github(*args, "--artifact", str(passing)) == 0  # the same bytes: unchanged
    failing = write_artifact(tmp_path / "fail", shard_result({"Beehive": "mismatch"}))
    assert github(*args, "--artifact", str(failing)) == 1
    assert "already holds another record" in capsys.readouterr().err
    assert fake.commits[fake.branches[EVIDENCE]].files == stored


def test_a_write_that_loses_the_race_for_the_branch_is_redone(
    fake: FakeGitHub, github_env: dict, tmp_path: Path
) -> None:
    """Two report jobs at once: GitHub answers 409 when the branch moved under a write."""
    submission = open_submission(fake)
    fake.fail(2, 409, method="PUT", message="is at 1234 but expected 5678")
    artifact = write_artifact(tmp_path / "artifact", shard_result({"Beehive": "reproduced"}))
    assert github("store-evidence", "--artifact", str(artifact), "--pr", str(submission.number),
                  "--sha", submission.head_sha, "--requester", "maintainer") == 0  # fmt: skip
    files = fake.commits[fake.branches[EVIDENCE]].files
    assert len([p for p in files if p.startswith("records/")]) == 1
    puts = [r for r in fake.log if r.method == "PUT"]
    assert [r.status for r in puts] == [409, 409, 201]
