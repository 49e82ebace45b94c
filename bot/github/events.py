"""What the bot takes from a ``workflow_run`` event payload: the head SHA, and nothing else.

The payload describes a run that a pull request's own workflow file could have shaped, so it is
untrusted (threat model 8): branch names, titles and ``pull_requests`` (empty for forks anyway)
are ignored; the PR is re-resolved through the API from the SHA.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.github.env import ConfigError

SHA_RE = re.compile(r"^[0-9a-f]{40}$")
MAX_EVENT_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class WorkflowRunTarget:
    head_sha: str


def read_event(path: str | Path) -> dict[str, Any]:
    """The event payload as a JSON object; ConfigError if missing, too large or not an object."""
    source = Path(path)
    try:
        size = source.stat().st_size
        if size > MAX_EVENT_BYTES:
            raise ConfigError(f"event file {source} is {size} bytes, more than any GitHub event")
        payload = json.loads(source.read_bytes())
    except FileNotFoundError:
        raise ConfigError(
            f"event file {source} does not exist (GITHUB_EVENT_PATH / --event)"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"event file {source} is not readable JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ConfigError(f"event file {source} does not hold a JSON object")
    return payload


def workflow_run_target(payload: dict[str, Any], repository: str) -> WorkflowRunTarget:
    """The head SHA of a ``workflow_run`` event for ``repository``; ConfigError otherwise."""
    run = payload.get("workflow_run")
    if not isinstance(run, dict):
        raise ConfigError(
            "the event is not a workflow_run event (no `workflow_run` object); "
            "use --pr N for a manual run"
        )
    event_repo = payload.get("repository")
    full_name = event_repo.get("full_name") if isinstance(event_repo, dict) else None
    if full_name is not None and full_name != repository:
        raise ConfigError(
            f"the event is for repository {_shown(full_name)}, not GITHUB_REPOSITORY={repository}"
        )
    head_sha = run.get("head_sha")
    if not isinstance(head_sha, str) or not SHA_RE.match(head_sha):
        raise ConfigError(
            f"workflow_run.head_sha {_shown(head_sha)} is not a 40-character lowercase hex SHA; "
            "refusing the event"
        )
    return WorkflowRunTarget(head_sha=head_sha)


def _shown(value: object) -> str:
    """A short, printable rendering of an untrusted value for an error message."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else text[:77] + "..."
