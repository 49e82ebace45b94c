"""``watch-run``: keep the sticky comment's ``status`` section current while a verification
run waits and works (verify.yml's ``status`` job; the states are in bot/github/run_status.py).

It polls the run's jobs (``GET .../actions/runs/{id}/jobs``) every ``poll_s`` seconds and, when
what the comment should say has changed, edits the comment — at most once every
``min_edit_interval_s`` seconds (a change seen sooner waits for the next allowed edit; only
the latest one is posted). It stops:

- when every GPU job has finished: a shard that ended in error was posted (waiting for the
  next allowed edit when needed); a successful end is left to the report job, which runs
  after this job and writes the result into the same section;
- when the PR's head moved on (nothing more is said about the stale commit);
- after ``give_up_s`` (the job's own time limit comes later): it says so in the comment;
  the report job still posts the result;
- when no GPU job has appeared after ``no_job_s`` (the run started none): nothing to watch.

Only this job and the report job write the status section, and the report job starts after
this one ends, so their read-modify-write edits of the comment never overlap.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.common.log import Log
from bot.github.client import GitHubClient, InfrastructureError
from bot.github.posting import reread_head, upsert_section
from bot.github.run_status import GPU_JOB_PREFIX, SECTION, RunStatus, run_status

Clock = Callable[[], float]


@dataclass(frozen=True)
class WatchSettings:
    poll_s: float = 20.0
    min_edit_interval_s: float = 60.0
    give_up_s: float = 5.5 * 3600
    no_job_s: float = 600.0  # no GPU job listed for this long: the run did not start any
    verify_workflow: str = "verify.yml"


def runs_ahead(client: GitHubClient, run_id: int, workflow: str) -> int:
    """Earlier verification runs (lower run ids) still holding or waiting for a GPU runner."""
    ahead = 0
    for run in client.active_workflow_runs(workflow):
        if run.id >= run_id:
            continue
        jobs = client.run_jobs(run.id)
        if any(
            job.name.startswith(GPU_JOB_PREFIX) and job.status in ("queued", "in_progress")
            for job in jobs
        ):
            ahead += 1
    return ahead


def observe(
    client: GitHubClient,
    run_id: int,
    run_url: str,
    plan: Sequence[tuple[int, Sequence[str]]],
    now: dt.datetime,
    workflow: str,
) -> RunStatus:
    jobs = client.run_jobs(run_id)
    queued = any(job.name.startswith(GPU_JOB_PREFIX) and job.status == "queued" for job in jobs)
    ahead = runs_ahead(client, run_id, workflow) if queued else 0
    return run_status(run_url, plan, jobs, ahead, now)


def watch_run(
    client: GitHubClient,
    bot_login: str,
    *,
    pr: int,
    sha: str,
    run_id: int,
    run_url: str,
    plan: Sequence[tuple[int, Sequence[str]]],
    settings: WatchSettings = WatchSettings(),
    clock: Clock = time.monotonic,
    wall: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    say: Log = print,
) -> list[str]:
    """Watch until the GPU jobs end; returns the states posted, in order (for the log)."""
    start = clock()
    last_edit: float | None = None
    posted: str | None = None
    posted_states: list[str] = []

    def may_edit() -> bool:
        return last_edit is None or clock() - last_edit >= settings.min_edit_interval_s

    def post(status: RunStatus) -> bool:
        """Edit the comment; False when the PR moved on (stop). A failed write is retried at
        the next poll (the comment keeps its previous status meanwhile)."""
        nonlocal last_edit, posted
        try:
            _pull, moved_to = reread_head(client, pr, sha)
            if moved_to is not None:
                say(f"PR #{pr} moved on to {moved_to}: no more status for {sha[:12]}")
                return False
            line = upsert_section(client, pr, SECTION, status.markdown, bot_login)
        except InfrastructureError as exc:
            say(f"status edit failed, retrying at the next poll: {exc}")
            last_edit = clock()  # also spaces the retry a minute out
            return True
        say(f"{status.state}: {line}")
        last_edit, posted = clock(), status.markdown
        posted_states.append(status.state)
        return True

    while True:
        try:
            status = observe(client, run_id, run_url, plan, wall(), settings.verify_workflow)
        except InfrastructureError as exc:  # a failed poll is retried at the next one
            say(f"poll failed, retrying: {exc}")
            sleep(settings.poll_s)
            continue
        if not any(shard.job_seen for shard in status.shards):
            if clock() - start >= settings.no_job_s:
                say(f"no GPU job appeared in {settings.no_job_s:.0f} s; nothing to watch")
                return posted_states
            sleep(settings.poll_s)
            continue
        changed = _without_stamp(status.markdown) != _without_stamp(posted)
        if status.done:
            if status.state == "error" and changed:
                while not may_edit():
                    sleep(max(0.0, settings.min_edit_interval_s - (clock() - (last_edit or 0))))
                post(status)
            say(f"every GPU job has finished ({status.state}); the report job posts the result")
            return posted_states
        if changed and may_edit() and not post(status):
            return posted_states
        if clock() - start >= settings.give_up_s:
            while not may_edit():
                sleep(max(0.0, settings.min_edit_interval_s - (clock() - (last_edit or 0))))
            note = (
                f"{status.markdown}\n\n*Live status stopped after "
                f"{settings.give_up_s / 3600:.1f} h; the result will still be posted here.*"
            )
            post(RunStatus(status.state, status.shards, note))
            return posted_states
        sleep(settings.poll_s)


def _without_stamp(markdown: str | None) -> str | None:
    """The status without its "updated ..." time, so that a new minute is no change."""
    if markdown is None:
        return None
    return "\n".join(line.split(" · updated ")[0] for line in markdown.splitlines())
