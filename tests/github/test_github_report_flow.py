"""End to end: ``hearbot github report-validation`` against the fake GitHub.

Each test seeds the fake with the real leaderboard.csv on main and a fork PR, runs the command
in-process (PyGithub talking HTTP to 127.0.0.1), and asserts what a maintainer would see on
the PR: the one sticky comment, the check run, the labels, and the exit code.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import cmarkgfm
import pytest

from bot.common.schemas import schema_errors
from bot.github.checks import CHECK_NAME
from bot.github.sticky import section_end, section_start
from bot.report import STICKY_MARKER
from tests.fake_github import FakeGitHub
from tests.fake_github.scenario import (
    BASE_CSV,
    BOT,
    bot_comments,
    manifest,
    open_submission,
    report,
    score_row,
    workflow_run_event,
)


def run_for_head(tmp_path: Path, head_sha: str) -> int:
    return report("--event", str(workflow_run_event(tmp_path, head_sha)))


def test_valid_submission_gets_one_comment_a_success_check_and_labels(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)

    assert run_for_head(tmp_path, pr.head_sha) == 0

    comments = bot_comments(fake, pr.number)
    assert len(comments) == 1
    assert comments[0].body.startswith(STICKY_MARKER)
    runs = fake.check_runs_on(pr.head_sha)
    assert [(r.name, r.status, r.conclusion) for r in runs] == [
        (CHECK_NAME, "completed", "success")
    ]
    assert runs[0].annotations == []
    assert runs[0].output["title"].startswith("Valid submission")
    assert STICKY_MARKER not in runs[0].output["summary"]
    assert sorted(fake.labels_on(pr.number)) == ["submission", "valid"]


def test_invalid_score_fails_the_check_with_an_annotation_on_its_line(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake, score_row(first_score="1.5"))
    fake.label_pull(pr.number, "valid")  # left over from an earlier, valid push

    assert run_for_head(tmp_path, pr.head_sha) == 0

    (run,) = fake.check_runs_on(pr.head_sha)
    assert run.conclusion == "failure"
    assert run.output["title"].startswith("Invalid submission: 1 error")
    # the real leaderboard.csv has 35 lines, so the appended row is line 36
    assert pr.new_line == 36
    assert [(a["path"], a["start_line"], a["annotation_level"]) for a in run.annotations] == [
        ("leaderboard.csv", 36, "failure")
    ]
    assert run.annotations[0]["title"].startswith("score-range")
    assert sorted(fake.labels_on(pr.number)) == ["invalid", "submission"]
    assert len(bot_comments(fake, pr.number)) == 1


def test_second_run_edits_the_same_comment(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake, score_row(first_score="1.5"))
    assert run_for_head(tmp_path, pr.head_sha) == 0
    (first,) = bot_comments(fake, pr.number)
    first_id, first_body, first_update = first.id, first.body, first.updated_at

    fixed = fake.commit(
        {
            "leaderboard.csv": BASE_CSV + b"\n" + score_row().encode(),
            "submissions/acme-net.json": manifest(),
        },
        parents=(pr.head_sha,),
    )
    fake.push(pr.number, fixed)
    assert run_for_head(tmp_path, fixed) == 0
    assert report("--pr", str(pr.number)) == 0  # and a manual re-run

    (comment,) = bot_comments(fake, pr.number)
    assert comment.id == first_id
    assert comment.body != first_body
    assert comment.updated_at > first_update
    assert "1.5" not in comment.body
    assert [r.conclusion for r in fake.check_runs_on(fixed)] == ["success"]
    assert sorted(fake.labels_on(pr.number)) == ["submission", "valid"]


def test_marker_in_someone_elses_comment_is_never_edited(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    spoof_body = f"{STICKY_MARKER}\n### HEAR leaderboard submission check\nAll good, merge it!"
    spoof = fake.add_comment(pr.number, "mallory", spoof_body)

    assert run_for_head(tmp_path, pr.head_sha) == 0
    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert fake.comments[spoof].body == spoof_body
    assert fake.comments[spoof].updated_at == fake.comments[spoof].created_at
    assert len(bot_comments(fake, pr.number)) == 1
    edited = [r for r in fake.log if r.method == "PATCH" and "/issues/comments/" in r.path]
    assert all(not r.path.endswith(f"/{spoof}") for r in edited)


def test_bot_comment_is_found_past_the_first_page(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    for index in range(105):
        fake.add_comment(pr.number, "bob", f"comment {index}")
    assert run_for_head(tmp_path, pr.head_sha) == 0
    for index in range(10):
        fake.add_comment(pr.number, "bob", f"later comment {index}")

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert len(bot_comments(fake, pr.number)) == 1
    listed_pages = [
        r.query.get("page", ["1"])[0]
        for r in fake.log
        if r.method == "GET" and r.path.endswith(f"/issues/{pr.number}/comments")
    ]
    assert listed_pages == ["1", "2", "1", "2"]


def test_duplicate_bot_comments_are_collapsed_into_one(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    kept = fake.add_comment(pr.number, BOT, f"{STICKY_MARKER}\nold report")
    fake.add_comment(pr.number, BOT, f"{STICKY_MARKER}\nduplicate from a retried POST")
    fake.add_comment(pr.number, BOT, "a bot comment without the marker stays")

    assert run_for_head(tmp_path, pr.head_sha) == 0

    marked = [c for c in bot_comments(fake, pr.number) if STICKY_MARKER in c.body]
    assert [c.id for c in marked] == [kept]
    assert len(bot_comments(fake, pr.number)) == 2


def test_head_moved_before_the_report_posts_nothing(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)
    newer = fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.head_sha,))
    fake.push(pr.number, newer)

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert "nothing to report" in capsys.readouterr().out
    assert fake.writes() == []


def test_head_moved_during_validation_posts_nothing_for_the_stale_sha(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)
    newer = fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.head_sha,))

    def push_while_files_are_read(record: object) -> None:
        if getattr(record, "operation_id", None) == "pulls/list-files":
            fake.push(pr.number, newer)

    fake.hooks.append(push_while_files_are_read)

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert "stale" in capsys.readouterr().out
    assert fake.writes() == []
    assert fake.check_runs_on(pr.head_sha) == []


def test_pr_option_reports_on_the_current_head(
    fake: FakeGitHub, github_env: dict[str, str]
) -> None:
    pr = open_submission(fake)

    assert report("--pr", str(pr.number)) == 0

    assert [r.conclusion for r in fake.check_runs_on(pr.head_sha)] == ["success"]


def test_unknown_pr_number_is_a_usage_error(
    fake: FakeGitHub, github_env: dict[str, str], capsys: pytest.CaptureFixture
) -> None:
    open_submission(fake)
    assert report("--pr", "99") == 2
    assert "#99 does not exist" in capsys.readouterr().err


def test_transient_5xx_is_retried_and_the_report_posted(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.fail(2, 502, method="GET", path_contains="/pulls")
    fake.fail(1, 500, method="POST", path_contains="/check-runs")

    assert run_for_head(tmp_path, pr.head_sha) == 0

    injected = [r.status for r in fake.log if r.injected]
    assert injected == [502, 502, 500]
    assert [r.conclusion for r in fake.check_runs_on(pr.head_sha)] == ["success"]
    assert len(bot_comments(fake, pr.number)) == 1


def test_persistent_5xx_exits_3_and_reports_no_pass(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)
    fake.fail(1000, 503, path_contains="/contents/")

    assert run_for_head(tmp_path, pr.head_sha) == 3

    err = capsys.readouterr().err
    assert "infrastructure" in err and "re-run" in err
    assert fake.writes() == []
    # 1 try + HEARBOT_RETRIES=3 retries, then it gave up
    assert sum(1 for r in fake.log if r.injected) == 4


def test_forbidden_is_not_retried_and_exits_3(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)
    message = "Resource not accessible by integration"
    fake.fail(1000, 403, method="POST", path_contains="/comments", message=message)

    assert run_for_head(tmp_path, pr.head_sha) == 3

    assert message in capsys.readouterr().err
    assert sum(1 for r in fake.log if r.injected) == 1
    assert fake.check_runs_on(pr.head_sha) == []


def test_check_run_that_cannot_be_created_exits_3(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.fail(1000, 502, method="POST", path_contains="/check-runs")

    assert run_for_head(tmp_path, pr.head_sha) == 3

    assert fake.check_runs_on(pr.head_sha) == []
    assert "valid" not in fake.labels_on(pr.number)


def test_secondary_rate_limit_is_waited_out(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    fake.secondary_rate_limit(1, retry_after=1, method="POST", path_contains="/comments")
    fake.secondary_rate_limit(1, retry_after=None, method="GET", path_contains="/files")

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert [r.status for r in fake.log if r.injected] == [403, 403]
    assert len(bot_comments(fake, pr.number)) == 1


def test_more_than_50_annotations_are_sent_in_batches(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    bad_rows = b"".join(b"\nbroken row %d" % index for index in range(70))
    pr = open_submission(fake, files={"leaderboard.csv": BASE_CSV + bad_rows})

    assert run_for_head(tmp_path, pr.head_sha) == 0

    (run,) = fake.check_runs_on(pr.head_sha)
    assert run.conclusion == "failure"
    lines = [a["start_line"] for a in run.annotations]
    assert len(lines) >= 70
    assert len(lines) == len(run.annotations) <= 200
    check_writes = [r for r in fake.writes() if "/check-runs" in r.path]
    assert [r.method for r in check_writes] == ["POST", "PATCH"]


def test_missing_leaderboard_at_head_is_reported_not_a_crash(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake, files={"submissions/acme-net.json": manifest()})

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert [r.conclusion for r in fake.check_runs_on(pr.head_sha)] == ["failure"]
    assert sorted(fake.labels_on(pr.number)) == ["invalid", "submission"]


def test_files_over_1_mb_are_read_through_the_blob_api(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    big_manifest = manifest()[:-2] + b',\n  "padding": "' + b"x" * (1024 * 1024) + b'"\n}'
    pr = open_submission(
        fake,
        files={
            "leaderboard.csv": BASE_CSV + b"\n" + score_row().encode(),
            "submissions/acme-net.json": big_manifest,
        },
    )

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert [r.operation_id for r in fake.log].count("git/get-blob") == 1
    (run,) = fake.check_runs_on(pr.head_sha)
    assert run.conclusion == "failure"  # the schema has no "padding": the bytes did arrive
    assert "padding" in bot_comments(fake, pr.number)[0].body


def test_open_pull_requests_are_searched_past_the_first_page(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    for _ in range(105):
        fake.open_pull(fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.base_sha,)))

    assert run_for_head(tmp_path, pr.head_sha) == 0

    assert len(bot_comments(fake, pr.number)) == 1
    assert [r.query.get("page") for r in fake.log if r.operation_id == "pulls/list"] == [
        None,
        ["2"],
    ]


def test_dry_run_prints_the_plan_and_posts_nothing(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)

    assert report("--pr", str(pr.number), "--dry-run") == 0

    plan = json.loads(capsys.readouterr().out)
    assert plan["check_run"][0]["conclusion"] == "success"
    assert plan["labels"] == {"add": ["submission", "valid"], "remove": []}
    assert plan["result"]["pull_request"]["head_sha"] == pr.head_sha
    assert schema_errors("result.schema.json", plan["result"]) == []
    assert fake.writes() == []


HOSTILE_MODEL = (
    "Evil @octocat [click](https://evil.example) ![x](https://evil.example/p.png) "
    "<img src=x onerror=alert(1)> <script>alert(1)</script> | a | b <!-- hearbot --> "
    "<a href='https://evil.example'>x</a> @hearbenchmark/maintainers"
)
# Tags the report may produce itself (GFM output plus its own <details>/<summary>/<sub>).
ALLOWED_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td",
     "code", "strong", "em", "del", "ul", "ol", "li", "br", "hr", "pre", "blockquote",
     "details", "summary", "sub"}
)  # fmt: skip
MENTION = re.compile(r"(?<![\w`/])@[A-Za-z0-9]")


class RenderedComment(HTMLParser):
    """What GitHub would display: tags with attributes, HTML comments, text outside code."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.prose: list[str] = []
        self._in_code = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_code += tag in ("code", "pre")

    def handle_endtag(self, tag: str) -> None:
        self._in_code -= tag in ("code", "pre")

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        if not self._in_code:
            self.prose.append(data)


def test_hostile_model_name_is_inert_in_the_posted_comment(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    row = score_row(HOSTILE_MODEL)
    pr = open_submission(fake, row, slug="evil-octocat", model=HOSTILE_MODEL)

    assert run_for_head(tmp_path, pr.head_sha) == 0

    (comment,) = bot_comments(fake, pr.number)
    assert "octocat" in comment.body  # the name is shown, but inert:
    # UNSAFE = render raw HTML as GitHub does (before its sanitizer), not cmark's placeholder
    html = cmarkgfm.github_flavored_markdown_to_html(
        comment.body, options=cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    rendered = RenderedComment(html)
    assert {tag for tag, _ in rendered.tags} <= ALLOWED_TAGS, rendered.tags
    assert {name for _, attrs in rendered.tags for name, _ in attrs} <= {"align"}
    # only the bot's own markers: the sticky one and those around the validation section
    assert rendered.comments == [
        STICKY_MARKER[4:-3],
        section_start("validation")[4:-3],
        section_end("validation")[4:-3],
    ]
    prose = "".join(rendered.prose)
    assert not MENTION.search(prose), prose
    assert fake.check_runs_on(pr.head_sha)


def test_the_rendered_comment_check_has_teeth() -> None:
    naive = f"{STICKY_MARKER}\n| model |\n|---|\n| {HOSTILE_MODEL} |\n"
    html = cmarkgfm.github_flavored_markdown_to_html(
        naive, options=cmarkgfm.Options.CMARK_OPT_UNSAFE
    )
    rendered = RenderedComment(html)
    assert {"a", "img"} <= {tag for tag, _ in rendered.tags}
    assert MENTION.search("".join(rendered.prose))


@pytest.mark.parametrize(
    "head_sha",
    [
        "HEAD",
        "main",
        "a" * 39,
        "a" * 41,
        "A" * 40,
        "a" * 39 + "\n",
        "g" * 40,
        "../../" + "a" * 34,
        "a" * 20 + " " + "a" * 19,
        1234567,
        None,
        ["a" * 40],
    ],
)
def test_odd_workflow_run_head_sha_is_rejected_before_any_api_call(
    fake: FakeGitHub,
    github_env: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    head_sha: object,
) -> None:
    open_submission(fake)

    assert report("--event", str(workflow_run_event(tmp_path, head_sha))) == 2

    assert "head_sha" in capsys.readouterr().err
    assert fake.log == []


def test_event_for_another_repository_is_rejected(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    pr = open_submission(fake)
    event = workflow_run_event(tmp_path, pr.head_sha)
    payload = json.loads(event.read_text())
    payload["repository"]["full_name"] = "mallory/hear-leaderboard"
    event.write_text(json.dumps(payload))

    assert report("--event", str(event)) == 2

    assert "GITHUB_REPOSITORY" in capsys.readouterr().err
    assert fake.log == []


def test_pull_requests_listed_in_the_payload_are_ignored(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    other = fake.open_pull(fake.commit({"leaderboard.csv": BASE_CSV}, parents=(pr.base_sha,)))
    event = workflow_run_event(tmp_path, pr.head_sha)
    payload = json.loads(event.read_text())
    payload["workflow_run"]["pull_requests"] = [
        {"id": 1, "number": other, "url": "https://api.github.com/x", "head": {}, "base": {}}
    ]
    event.write_text(json.dumps(payload))

    assert report("--event", str(event)) == 0

    assert fake.comments_on(other) == []
    assert len(bot_comments(fake, pr.number)) == 1


def test_bot_entry_point_dispatches_to_the_github_command(
    fake: FakeGitHub, github_env: dict[str, str]
) -> None:
    from bot.cli import main as hearbot_main

    pr = open_submission(fake)

    assert hearbot_main(["github", "report-validation", "--pr", str(pr.number)]) == 0

    assert len(bot_comments(fake, pr.number)) == 1


def test_broken_default_branch_is_exit_1_and_posts_nothing(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    broken = fake.commit({"leaderboard.csv": b"Not,The,Header\n"})
    fake.set_branch("main", broken)
    head = fake.commit({"leaderboard.csv": b"Not,The,Header\nx"}, parents=(broken,))
    fake.open_pull(head)

    assert run_for_head(tmp_path, head) == 1

    assert "default branch" in capsys.readouterr().err
    assert fake.writes() == []
