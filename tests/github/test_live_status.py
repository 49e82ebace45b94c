"""The live status in the sticky comment, through a whole verification against the fake GitHub:
accepted → waiting for a maintainer's approval → waiting for a runner (runs ahead) → running
(step; then column k of n, share and time left, projected) → result; and a runner that dies
mid-run, reported as an error with its job link before the report job's result.

`watch_run` runs in-process on a simulated clock: each of its sleeps advances the clock and
moves the fake GitHub's jobs on a script, so the rate limit (one edit a minute) is checked on
the clock it uses. Set HEARBOT_STATUS_SNAPSHOTS=DIR to keep the comment at every state."""

from __future__ import annotations

import datetime as dt
import itertools
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.github.client import GitHubClient
from bot.github.env import load_env
from bot.github.live_status import WatchSettings, watch_run
from bot.github.run_status import (
    EMBED_REALTIME_FACTOR,
    EVENT_S_PER_TRAINING_AND_AUDIO_HOUR,
    SCENE_S_PER_TRAINING_AND_CLIP,
    STATE_ORDER,
    projected_progress,
    projected_seconds,
)
from bot.github.sticky import parse_sections
from tests.fake_github import FakeGitHub, events
from tests.fake_github.scenario import accept_command, bot_comments, github, open_submission
from tests.github.verification_result import verification_result, write_artifact

MAINTAINER = "maintainer"
EPOCH = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
SETTINGS = WatchSettings(poll_s=20, min_edit_interval_s=60, give_up_s=3600)


class Clock:
    """Simulated time: `sleep` advances it and runs the script's events that fall due."""

    def __init__(self, script: dict[float, Callable[[], None]]) -> None:
        self.t = 0.0
        self.script = dict(sorted(script.items()))

    def __call__(self) -> float:
        return self.t

    def wall(self) -> dt.datetime:
        return EPOCH + dt.timedelta(seconds=self.t)

    def iso(self, seconds: float) -> str:
        return (EPOCH + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        for due in [t for t in self.script if t <= self.t]:
            self.script.pop(due)()


def accepted(fake: FakeGitHub, tmp_path: Path, number: int) -> dict[str, str]:
    fake.set_role(MAINTAINER, "write")
    code, outputs = accept_command(
        tmp_path, "issue_comment", events.issue_comment(number, MAINTAINER, "/verify")
    )
    assert code == 0 and outputs["action"] == "verify"
    assert github("acknowledge", "--decision", outputs["decision"]) == 0
    return outputs


def plain(markdown: str) -> str:
    """The text as read: without Markdown's backslash escapes (``ESC\\-50``)."""
    return markdown.replace("\\", "")


def comment(fake: FakeGitHub, number: int) -> str:
    (only,) = bot_comments(fake, number)
    return only.body


def status_of(fake: FakeGitHub, number: int) -> str:
    return parse_sections(comment(fake, number)).get("status", "")


def snapshot(name: str, body: str) -> None:
    folder = os.environ.get("HEARBOT_STATUS_SNAPSHOTS")
    if folder:
        test = os.environ.get("PYTEST_CURRENT_TEST", "test").split("::")[-1].split(" ")[0]
        (Path(folder) / test).mkdir(parents=True, exist_ok=True)
        (Path(folder) / test / f"{name}.md").write_text(body)


def run_watch(
    fake: FakeGitHub, outputs: dict[str, str], run_id: int, plan, clock: Clock
) -> tuple[list[str], list[tuple[float, str]]]:
    env = load_env(os.environ)
    client = GitHubClient(env)
    edits: list[tuple[float, str]] = []
    number = int(outputs["pr"])

    def say(line: str) -> None:
        if line.split(":")[0] in STATE_ORDER:  # "<state>: comment N updated (status)"
            edits.append((clock(), status_of(fake, number)))
            snapshot(f"{len(edits):02d}-{line.split(':')[0]}", comment(fake, number))

    try:
        states = watch_run(
            client,
            env.bot_login,
            pr=number,
            sha=outputs["sha"],
            run_id=run_id,
            run_url=f"https://github.com/{env.repository}/actions/runs/{run_id}",
            plan=plan,
            settings=SETTINGS,
            clock=clock,
            wall=clock.wall,
            sleep=clock.sleep,
            say=say,
        )
    finally:
        client.close()
    times = [t for t, _ in edits]
    assert all(b - a >= 60 for a, b in itertools.pairwise(times)), times
    return states, edits


def test_the_whole_lifecycle_in_order(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted(fake, tmp_path, pr.number)
    commands = parse_sections(comment(fake, pr.number))["commands"]
    assert "accepted" in commands.lower()
    snapshot("00-accepted", comment(fake, pr.number))
    # An earlier verification holds the one GPU runner.
    earlier = fake.add_workflow_run("verify.yml", "hearbot verify PR #1", status="in_progress")
    busy = fake.add_job(earlier, "Verify shard 1 on a GPU runner (FSD50K)")
    fake.set_job(
        busy, status="in_progress", runner_name="gpu-1", step="Verify this shard's columns"
    )
    run_id = fake.add_workflow_run(
        "verify.yml", f"hearbot verify PR #{pr.number}", status="waiting"
    )
    job = fake.add_job(run_id, "Verify shard 1 on a GPU runner (ESC-50, FSD50K)", status="waiting")
    plan = [(1, ("ESC-50", "FSD50K"))]
    clock = Clock({})
    first_column = projected_seconds_of("ESC-50")
    clock.script = {
        30: lambda: fake.set_job(job, status="queued"),  # a maintainer approved
        130: lambda: fake.set_job(busy, status="completed", conclusion="success"),
        140: lambda: fake.set_job(
            job, status="in_progress", runner_name="gpu-1", started_at=clock.iso(140),
            step="Install hearbot in a fresh virtual environment (default-branch code)",
        ),
        200: lambda: fake.set_job(job, status="in_progress", step="Verify this shard's columns",
                                  step_started_at=clock.iso(200)),
        # The GPU job ends well: the watcher leaves the result to the report job.
        200 + first_column + 60: lambda: fake.set_job(
            job, status="completed", conclusion="success"
        ),
    }  # fmt: skip

    states, edits = run_watch(fake, outputs, run_id, plan, clock)

    assert states[:3] == ["waiting-approval", "waiting-runner", "running"]
    assert set(states[3:]) == {"running"}
    texts = [plain(text) for _, text in edits]
    assert "Waiting for a maintainer's approval" in texts[0] and "gpu-verification" in texts[0]
    assert "Waiting for a GPU runner" in texts[1] and "1 verification run ahead" in texts[1]
    assert "Running" in texts[2] and "`gpu-1`" in texts[2] and "Install hearbot" in texts[2]
    progress = [t for t in texts if "column " in t]
    assert progress, texts
    assert "column 1 of 2 (ESC-50)" in progress[0] or "column 2 of 2 (FSD50K)" in progress[0]
    assert "column 2 of 2 (FSD50K)" in progress[-1] and "projected" in progress[-1]
    assert "% done" in progress[-1] and "left" in progress[-1]
    # The report job then writes the result into the same section, in the same edit.
    artifact = write_artifact(tmp_path / "artifact", verification_result("pass"))
    assert github("report-verification", "--artifact", str(artifact), "--pr", outputs["pr"],
                  "--sha", outputs["sha"], "--job-result", "success") == 0  # fmt: skip
    final = status_of(fake, pr.number)
    assert "Result: `pass`" in final
    snapshot(f"{len(edits) + 1:02d}-result", comment(fake, pr.number))
    sections = parse_sections(comment(fake, pr.number))
    assert (
        list(sections) == ["validation", "commands", "status", "verification"][4 - len(sections) :]
    )


def projected_seconds_of(name: str) -> float:
    from bot.common.schemas import leaderboard_facts

    return projected_seconds(leaderboard_facts().column(name))


def test_a_runner_that_dies_mid_run_is_an_error_with_its_link(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted(fake, tmp_path, pr.number)
    run_id = fake.add_workflow_run("verify.yml", f"hearbot verify PR #{pr.number}")
    one = fake.add_job(run_id, "Verify shard 1 on a GPU runner (FSD50K)", status="in_progress")
    two = fake.add_job(run_id, "Verify shard 2 on a GPU runner (ESC-50)", status="in_progress")
    clock = Clock({})
    for job, runner in ((one, "gpu-1"), (two, "gpu-2")):
        fake.set_job(job, status="in_progress", runner_name=runner, started_at=clock.iso(0),
                     step="Verify this shard's columns", step_started_at=clock.iso(0))  # fmt: skip
    plan = [(1, ("FSD50K",)), (2, ("ESC-50",))]
    clock.script = {
        # GitHub gives up on a lost runner and fails its job; shard 2 goes on.
        30: lambda: fake.set_job(one, status="completed", conclusion="failure"),
        400: lambda: fake.set_job(two, status="completed", conclusion="success"),
    }

    states, edits = run_watch(fake, outputs, run_id, plan, clock)

    assert states[0] == "running" and "error" in states
    error_at, error_text = next((t, plain(s)) for t, s in edits if "Error" in s)
    assert error_at <= 30 + SETTINGS.min_edit_interval_s + SETTINGS.poll_s  # within minutes
    assert "shard 1 of 2 (FSD50K)" in error_text and "`failure`" in error_text
    assert f"/actions/runs/{run_id}/job/{one}" in error_text  # the job's link
    assert "shard 2 of 2 (ESC-50): running" in error_text  # the other shard goes on
    # The report job: shard 1 left no result, so its column is an error.
    missing = str(tmp_path / "none")
    assert github("report-verification", "--artifact", missing, "--pr", outputs["pr"],
                  "--sha", outputs["sha"], "--job-result", "failure") == 0  # fmt: skip
    assert "Result: `error`" in status_of(fake, pr.number)


def test_a_cancelled_or_timed_out_job_is_an_error_too(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted(fake, tmp_path, pr.number)
    run_id = fake.add_workflow_run("verify.yml", f"hearbot verify PR #{pr.number}")
    job = fake.add_job(run_id, "Verify shard 1 on a GPU runner (ESC-50)", status="queued")
    clock = Clock({})
    clock.script = {45: lambda: fake.set_job(job, status="completed", conclusion="timed_out")}
    states, edits = run_watch(fake, outputs, run_id, [(1, ("ESC-50",))], clock)
    assert states == ["waiting-runner", "error"]
    assert "0 verification runs ahead" in plain(edits[0][1])
    assert "`timed_out`" in edits[1][1]


def test_a_run_that_starts_no_gpu_job_is_not_watched_forever(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted(fake, tmp_path, pr.number)
    run_id = fake.add_workflow_run("verify.yml", f"hearbot verify PR #{pr.number}")
    clock = Clock({})
    states, edits = run_watch(fake, outputs, run_id, [(1, ("ESC-50",))], clock)
    assert states == [] and edits == []
    assert SETTINGS.no_job_s <= clock() < SETTINGS.no_job_s + 2 * SETTINGS.poll_s
    assert "status" not in parse_sections(comment(fake, pr.number))


# ---------------------------------------------------------------------------------------------
# The projection


def test_the_projection_constants_are_the_recorded_gpu_run() -> None:
    import json

    record = json.loads(
        (
            Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "h100-2026-11-26.json"
        ).read_text()
    )["stages"]
    assert {
        "scene": record["scene"]["embed_realtime_factor"],
        "event": record["event"]["embed_realtime_factor"],
    } == EMBED_REALTIME_FACTOR
    assert (
        record["scene"]["evaluate"]["exact"]["s_per_training_and_clip"]
        == SCENE_S_PER_TRAINING_AND_CLIP
    )
    assert (
        record["event"]["evaluate"]["exact"]["s_per_training_and_audio_hour"]
        == EVENT_S_PER_TRAINING_AND_AUDIO_HOUR
    )


def test_projected_progress_walks_the_columns() -> None:
    columns = ("ESC-50", "FSD50K")
    first, second = (projected_seconds_of(c) for c in columns)
    start = projected_progress(columns, 0)
    assert (start.column_index, start.columns, start.column) == (1, 2, "ESC-50")
    assert start.remaining_s == pytest.approx(first + second)
    middle = projected_progress(columns, first + second / 2)
    assert (middle.column_index, middle.column) == (2, "FSD50K")
    assert middle.fraction == pytest.approx((first + second / 2) / (first + second))
    late = projected_progress(columns, 10 * (first + second))
    assert late.overdue and late.fraction == 0.99 and late.remaining_s == 0


def test_names_from_the_api_cannot_forge_markers_or_mentions() -> None:
    from bot.github.run_status import Job, Step, shard_status

    hostile = "@maintainers <!-- hearbot:end:status --> `x`"
    job = Job(
        id=1,
        name="Verify shard 1 on a GPU runner (ESC-50)",
        status="in_progress",
        conclusion=None,
        started_at=EPOCH,
        html_url="https://github.com/o/r/actions/runs/1/job/1",
        runner_name=hostile,
        steps=(Step(hostile, "in_progress", None, EPOCH),),
    )
    line = shard_status(1, 1, ("ESC-50",), job, 0, EPOCH).line
    assert "<!--" not in line  # no comment marker can be closed or opened
    assert line.count("`` @maintainers") == 2  # runner and step: inside code spans (no mention)


def test_a_failed_edit_is_retried_at_a_later_poll(
    fake: FakeGitHub, github_env: dict[str, str], tmp_path: Path
) -> None:
    pr = open_submission(fake)
    outputs = accepted(fake, tmp_path, pr.number)
    run_id = fake.add_workflow_run("verify.yml", f"hearbot verify PR #{pr.number}")
    job = fake.add_job(run_id, "Verify shard 1 on a GPU runner (ESC-50)", status="waiting")
    fake.fail(10, 500, method="PATCH", path_contains="/issues/comments/")
    clock = Clock({200: lambda: fake.set_job(job, status="completed", conclusion="success")})
    states, edits = run_watch(fake, outputs, run_id, [(1, ("ESC-50",))], clock)
    assert states == ["waiting-approval"]  # posted once the API answered again
    assert len(edits) == 1 and edits[0][0] >= 60  # after failed tries, a minute apart
    assert "Waiting for a maintainer's approval" in edits[0][1]


def test_the_projection_counts_every_member_of_the_ensemble() -> None:
    """verify evaluates K members (DEFAULT_SEEDS): the projection adds K evaluations, and
    embeds once."""
    from bot.common.schemas import leaderboard_facts
    from bot.verify.verdict import DEFAULT_SEEDS

    column = leaderboard_facts().column("ESC-50")
    one, k = projected_seconds(column, seeds=1), projected_seconds(column)
    embed_only = projected_seconds(column, seeds=0)
    assert embed_only > 0 and k - embed_only == pytest.approx(DEFAULT_SEEDS * (one - embed_only))
