"""Writes shared by the reporting commands: one sticky-comment section, a named check run,
label changes. Each returns a one-line description of what it did, for the job log.

Before any of them, a command re-reads the pull request (``reread_head``): what it is about to
post was worked out for one SHA, and a PR that moved on meanwhile must not get it (threat
model 7)."""

from __future__ import annotations

from typing import Any

from bot.github import sticky
from bot.github.client import GitHubClient, PullInfo
from bot.github.labels import LabelChanges
from bot.report import STICKY_MARKER


def reread_head(client: GitHubClient, number: int, sha: str) -> tuple[PullInfo, str | None]:
    """The pull request as it is now, and the head it moved to when that is no longer ``sha``
    (None while ``sha`` is still its head). Always a fresh API read."""
    pull = client.pull(number)
    return pull, (None if pull.head_sha == sha else pull.head_sha)


def upsert_section(
    client: GitHubClient,
    number: int,
    section: str,
    content: str,
    bot_login: str,
    **more: str,
) -> str:
    """Set one section of the bot's sticky comment (and any in ``more``, in the same edit),
    keeping the others; create it if absent."""
    plan = sticky.plan_sticky(client.issue_comments(number), bot_login, STICKY_MARKER)
    body = sticky.compose(plan.body, section, content, **more)
    section = ", ".join([section, *more])
    if plan.edit_id is None:
        return f"comment {client.create_comment(number, body)} created ({section})"
    client.edit_comment(number, plan.edit_id, body)
    for duplicate in plan.delete_ids:
        client.delete_comment(number, duplicate)
    extra = f", {len(plan.delete_ids)} duplicate(s) deleted" if plan.delete_ids else ""
    return f"comment {plan.edit_id} updated ({section}){extra}"


def current_section(client: GitHubClient, number: int, section: str, bot_login: str) -> str:
    plan = sticky.plan_sticky(client.issue_comments(number), bot_login, STICKY_MARKER)
    return sticky.parse_sections(plan.body).get(section, "")


def post_check_run(client: GitHubClient, head_sha: str, name: str, payload: dict[str, Any]) -> str:
    """Update the newest check run ``name`` on the SHA, or create one."""
    existing = [
        run
        for run in client.check_runs(head_sha, name)
        if run.name == name and run.head_sha == head_sha
    ]
    if existing:
        check_id = max(run.id for run in existing)
        client.update_check_run(check_id, payload)
        return f"check run {check_id} updated ({payload.get('conclusion')})"
    check_id = client.create_check_run({"name": name, "head_sha": head_sha, **payload})
    return f"check run {check_id} created ({payload.get('conclusion')})"


def apply_label_changes(client: GitHubClient, number: int, changes: LabelChanges) -> str:
    if changes.add:
        client.add_labels(number, changes.add)
    for name in changes.remove:
        client.remove_label(number, name)
    if not changes.add and not changes.remove:
        return "labels unchanged"
    return "labels " + " ".join([f"+{n}" for n in changes.add] + [f"-{n}" for n in changes.remove])
