"""What ``accept-command`` decided, passed to the later jobs of verify.yml as job outputs.

The command job validates everything it writes (integers, 40-hex SHAs, logins, known column
names, bounded single-line text), and the later jobs validate it again when they read it
(``Decision.from_json``), so a job output can never carry a newline, an unknown column or a
second ``key=value`` into ``$GITHUB_OUTPUT``.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.common import strict_json
from bot.common.schemas import leaderboard_facts
from bot.github.commands import COMMANDS, MAX_REASON_CHARS, VERDICTS, Action, OverrideVerdict
from bot.github.env import LOGIN_RE, ConfigError
from bot.github.events import SHA_RE

ACTIONS = tuple(action.value for action in Action)
COMMAND_NAMES = ("", *COMMANDS)  # "": no well-formed command
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
MAX_PR_NUMBER = 10**10
MAX_NOTE_CHARS = 1000


@dataclass(frozen=True)
class Decision:
    action: Action
    pr: int | None = None
    sha: str | None = None
    columns: tuple[str, ...] = ()
    requester: str | None = None
    requested_at: str | None = None
    command: str = ""
    verdict: OverrideVerdict | None = None
    note: str | None = None  # the override reason, the help's problem, the stale head

    def __post_init__(self) -> None:
        check(self)
        # from JSON, the values come as plain strings
        object.__setattr__(self, "action", Action(self.action))
        if self.verdict is not None:
            object.__setattr__(self, "verdict", OverrideVerdict(self.verdict))

    def to_json(self) -> str:
        data = asdict(self)
        data["columns"] = list(self.columns)
        return json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Decision:
        try:
            data = strict_json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"the decision is not strict JSON: {exc}") from None
        expected = set(cls.__dataclass_fields__)
        if not isinstance(data, dict) or set(data) != expected:
            raise ConfigError(f"the decision must be an object with exactly {sorted(expected)}")
        if not isinstance(data["columns"], list):
            raise ConfigError("decision.columns must be a list")
        data["columns"] = tuple(data["columns"])
        return cls(**data)

    def outputs(self) -> dict[str, str]:
        """The job outputs: each a single line of checked characters."""
        return {
            "action": self.action.value,
            "pr": "" if self.pr is None else str(self.pr),
            "sha": self.sha or "",
            "columns": json.dumps(list(self.columns), ensure_ascii=True),
            "requester": self.requester or "",
            "decision": self.to_json(),
        }


def check(decision: Decision) -> None:
    """ConfigError naming the first field that is not what the workflow may carry."""
    d = decision
    if d.action not in ACTIONS:
        raise ConfigError(f"decision.action {d.action!r} is not one of {ACTIONS}")
    if d.pr is not None and (type(d.pr) is not int or not 0 < d.pr < MAX_PR_NUMBER):
        raise ConfigError(f"decision.pr {d.pr!r} is not a pull request number")
    if d.sha is not None and (not isinstance(d.sha, str) or not SHA_RE.match(d.sha)):
        raise ConfigError(f"decision.sha {d.sha!r} is not a 40-character lowercase hex SHA")
    known = set(leaderboard_facts().score_columns)
    if not all(isinstance(c, str) and c in known for c in d.columns):
        raise ConfigError(f"decision.columns {list(d.columns)!r} names an unknown column")
    if d.requester is not None and (
        not isinstance(d.requester, str) or not LOGIN_RE.match(d.requester)
    ):
        raise ConfigError(f"decision.requester {d.requester!r} is not a GitHub login")
    if d.requested_at is not None and (
        not isinstance(d.requested_at, str) or not TIMESTAMP_RE.match(d.requested_at)
    ):
        raise ConfigError(f"decision.requested_at {d.requested_at!r} is not a UTC timestamp")
    if d.command not in COMMAND_NAMES:
        raise ConfigError(f"decision.command {d.command!r} is not one of {COMMAND_NAMES}")
    if d.verdict is not None and d.verdict not in VERDICTS:
        raise ConfigError(f"decision.verdict {d.verdict!r} is not one of {VERDICTS}")
    if d.note is not None and (
        not isinstance(d.note, str) or len(d.note) > max(MAX_REASON_CHARS, MAX_NOTE_CHARS)
    ):
        raise ConfigError("decision.note is not a short string")
    if d.action in (Action.VERIFY, Action.OVERRIDE) and (d.pr is None or d.sha is None):
        raise ConfigError(f"a {str(d.action)!r} decision needs pr and sha")
    if d.action == Action.OVERRIDE and (d.verdict is None or not d.note):
        raise ConfigError("an 'override' decision needs a verdict and a reason")


def write_outputs(path: str | Path, decision: Decision) -> None:
    """Append the outputs to ``$GITHUB_OUTPUT`` (a file the runner owns and other steps append
    to, so this appends rather than replaces)."""
    lines = []
    for key, value in decision.outputs().items():
        if "\n" in value or "\r" in value:  # impossible after check(); kept as a tripwire
            raise ConfigError(f"output {key} would span lines")
        lines.append(f"{key}={value}\n")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("".join(lines))
