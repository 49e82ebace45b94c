"""The environment of a GitHub Actions step, read once and checked; each error names its variable.

Variables (all strings, as the runner sets them):

- ``GITHUB_API_URL``   REST API root (default https://api.github.com); https, or http to loopback
- ``GITHUB_REPOSITORY`` ``owner/name`` of the repository the workflow runs in
- ``GITHUB_TOKEN``     the token the bot writes with (required)
- ``GITHUB_EVENT_PATH`` the event payload file (needed only without ``--event``/``--pr``)
- ``HEARBOT_LOGIN``    the bot's login, whose comments it may edit (default github-actions[bot];
  installation tokens cannot call ``GET /user`` to find out)
- ``HEARBOT_RETRIES`` (default 5), ``HEARBOT_RETRY_BACKOFF`` (urllib3 backoff factor in seconds,
  default 2), ``HEARBOT_SECONDARY_RATE_WAIT`` (seconds, default 60),
  ``HEARBOT_SECONDS_BETWEEN_REQUESTS`` (default 0.25) and ``HEARBOT_SECONDS_BETWEEN_WRITES``
  (default 1, GitHub's advice against secondary rate limits): tests set the time ones to 0.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_API_URL = "https://api.github.com"
DEFAULT_BOT_LOGIN = "github-actions[bot]"

REPOSITORY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$")


class ConfigError(ValueError):
    """The environment or the command line is unusable; the message names what to fix."""


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 5
    backoff_factor: float = 2.0
    secondary_rate_wait: float = 60.0
    seconds_between_requests: float = 0.25
    seconds_between_writes: float = 1.0


@dataclass(frozen=True)
class GitHubEnv:
    api_url: str
    repository: str
    token: str
    event_path: str | None
    bot_login: str
    retry: RetryPolicy

    @property
    def owner(self) -> str:
        return self.repository.split("/", 1)[0]


def load_env(environ: Mapping[str, str]) -> GitHubEnv:
    """Read and check the variables above; raises ConfigError naming the first bad one."""
    api_url = _api_url(environ.get("GITHUB_API_URL") or DEFAULT_API_URL)
    repository = environ.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise ConfigError("GITHUB_REPOSITORY is not set (expected owner/name)")
    if not REPOSITORY_RE.match(repository) or repository.split("/")[1] in {".", ".."}:
        raise ConfigError(f"GITHUB_REPOSITORY={repository!r} is not of the form owner/name")
    token = environ.get("GITHUB_TOKEN", "")
    if not token.strip():
        raise ConfigError(
            "GITHUB_TOKEN is not set; pass it to the step with "
            "`env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`"
        )
    if any(char.isspace() for char in token):
        raise ConfigError("GITHUB_TOKEN contains whitespace")
    login = environ.get("HEARBOT_LOGIN") or DEFAULT_BOT_LOGIN
    if not LOGIN_RE.match(login):
        raise ConfigError(f"HEARBOT_LOGIN={login!r} is not a GitHub login")
    retry = RetryPolicy(
        retries=int(_number(environ, "HEARBOT_RETRIES", RetryPolicy.retries, integer=True)),
        backoff_factor=_number(environ, "HEARBOT_RETRY_BACKOFF", RetryPolicy.backoff_factor),
        secondary_rate_wait=_number(
            environ, "HEARBOT_SECONDARY_RATE_WAIT", RetryPolicy.secondary_rate_wait
        ),
        seconds_between_requests=_number(
            environ, "HEARBOT_SECONDS_BETWEEN_REQUESTS", RetryPolicy.seconds_between_requests
        ),
        seconds_between_writes=_number(
            environ, "HEARBOT_SECONDS_BETWEEN_WRITES", RetryPolicy.seconds_between_writes
        ),
    )
    return GitHubEnv(
        api_url=api_url,
        repository=repository,
        token=token,
        event_path=environ.get("GITHUB_EVENT_PATH") or None,
        bot_login=login,
        retry=retry,
    )


def _api_url(value: str) -> str:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in {"https", "http"} or not parsed.hostname:
        raise ConfigError(f"GITHUB_API_URL={value!r} is not an http(s) URL")
    if parsed.query or parsed.fragment or parsed.username or parsed.password:
        raise ConfigError(f"GITHUB_API_URL={value!r} must not carry a query, fragment or login")
    if parsed.scheme == "http" and not _is_loopback(parsed.hostname):
        raise ConfigError(
            f"GITHUB_API_URL={value!r} uses plain http to a remote host; the token would travel "
            "unencrypted (http is allowed only for 127.0.0.1/localhost, e.g. a test server)"
        )
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _number(
    environ: Mapping[str, str], name: str, default: float, *, integer: bool = False
) -> float:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ConfigError(f"{name}={raw!r} is not {kind}") from None
    if not value >= 0 or value > 3600:
        raise ConfigError(f"{name}={raw!r} must be between 0 and 3600")
    return value
