"""Who may start or override a GPU verification: write, maintain or admin on the repository.

Asked of ``GET /repos/{o}/{r}/collaborators/{user}/permission`` (threat model 6), never read
from a payload's ``author_association`` (which says how someone relates to the repository,
not what they may do, and is OWNER/MEMBER for people without write access too). Bots are never
allowed, whatever their permission: a workflow's own comments must not start GPU runs.
"""

from __future__ import annotations

from enum import StrEnum

from bot.github.client import GitHubClient

ALLOWED_PERMISSIONS = frozenset({"admin", "maintain", "write"})


class Who(StrEnum):
    """Who may use a command (``bot.github.commands.COMMANDS``)."""

    MAINTAINERS = "maintainers"  # write, maintain or admin (``may_command``); never bots


def is_bot(login: str, user_type: object) -> bool:
    return user_type == "Bot" or login.lower().endswith("[bot]")


def allows_commands(permission: tuple[str, str] | None) -> bool:
    """True for write, maintain or admin. The ``permission`` field decides (GitHub reports
    maintain, and custom roles based on write, as ``write``); the free-form ``role_name`` does
    not. Triage, read, none or a 404: False."""
    if permission is None:
        return False
    level, _role = permission
    return level in ALLOWED_PERMISSIONS


def may_command(client: GitHubClient, login: str) -> bool:
    return allows_commands(client.collaborator_permission(login))


def may_use(client: GitHubClient, login: str, who: Who) -> bool:
    """Whether ``login`` (not a bot: the caller checked) may use a command meant for ``who``."""
    if who is Who.MAINTAINERS:
        return may_command(client, login)
    raise AssertionError(f"no permission rule for {who!r}")
