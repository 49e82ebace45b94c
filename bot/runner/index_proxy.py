"""The install step's only way out of the sandbox: a proxy that reaches the package index only.

The sandbox has no network of its own. When a runner allows installs from a package index
(`hearbot verify --package-index URL`), this trusted proxy listens on a Unix socket that is
bound into the sandbox, and `bot/runner/sandbox_relay.py` (inside) turns it into the HTTP proxy
127.0.0.1:3128 that pip is told to use. The proxy forwards `CONNECT host:port` tunnels and
plain `http://` requests to the allowed hosts only; anything else gets `403` and is logged.
Host names are resolved here, outside the sandbox; the sandbox itself cannot resolve any.
"""

from __future__ import annotations

import shutil
import socket
import socketserver
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from bot.common.log import Log
from bot.runner.sandbox import PROXY_SOCKET
from bot.runner.sandbox_relay import pipe

RELAY_PORT = 3128
SANDBOX_SOCKET = PROXY_SOCKET
MAX_HEADER_BYTES = 64 * 1024
CONNECT_TIMEOUT_S = 30.0
PYPI_FILES_HOST = "files.pythonhosted.org"


@dataclass(frozen=True)
class IndexAccess:
    """What the sandboxed pip is given: the index URL, the proxy socket and its environment."""

    index_url: str
    socket: Path
    allowed: tuple[str, ...]

    def pip_arguments(self) -> list[str]:
        return ["--index-url", self.index_url]

    def environment(self) -> dict[str, str]:
        proxy = f"http://127.0.0.1:{RELAY_PORT}"
        return {
            "HTTPS_PROXY": proxy,
            "HTTP_PROXY": proxy,
            "https_proxy": proxy,
            "http_proxy": proxy,
        }


def allowed_hosts(index_url: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    """`host:port` of the index (and PyPI's file host when the index is PyPI), plus ``extra``."""
    parts = urlsplit(index_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--package-index {index_url!r} is not an http(s) URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    hosts = [f"{parts.hostname}:{port}"]
    if parts.hostname == "pypi.org":
        hosts.append(f"{PYPI_FILES_HOST}:443")
    hosts += [host if ":" in host else f"{host}:443" for host in extra]
    return tuple(dict.fromkeys(hosts))


@dataclass
class IndexProxy:
    """A context manager: the proxy runs (in threads) while the install runs."""

    index_url: str
    log: Log
    extra_hosts: tuple[str, ...] = ()
    refused: list[str] = field(default_factory=list)
    _directory: Path | None = None
    _server: socketserver.ThreadingUnixStreamServer | None = None

    def __enter__(self) -> IndexAccess:
        allowed = allowed_hosts(self.index_url, self.extra_hosts)
        self._directory = Path(tempfile.mkdtemp(prefix="hearbot-proxy-"))
        self._directory.chmod(0o755)
        path = self._directory / "proxy.sock"
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request, allowed)

        self._server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self._server.daemon_threads = True
        path.chmod(0o777)  # the sandbox's user (nobody) must be able to connect
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return IndexAccess(self.index_url, path, allowed)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._directory is not None:
            shutil.rmtree(self._directory, ignore_errors=True)

    def _handle(self, client: socket.socket, allowed: tuple[str, ...]) -> None:
        head = _read_head(client)
        if head is None:
            return
        request_line, rest = head
        method, target = _request_target(request_line)
        if method == "CONNECT":
            host_port = target
        else:
            parts = urlsplit(target)
            host_port = f"{parts.hostname}:{parts.port or 80}" if parts.hostname else ""
        if host_port not in allowed:
            self.refused.append(f"{method} {target}")
            self.log(f"install: proxy refused {method} {target[:200]} (not the package index)")
            client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = host_port.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S)
        except OSError as exc:
            client.sendall(f"HTTP/1.1 502 Bad Gateway\r\n\r\n{exc}".encode())
            return
        upstream.settimeout(None)
        with upstream:
            if method == "CONNECT":
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            else:
                parts = urlsplit(target)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                version = request_line.rsplit(" ", 1)[-1]
                upstream.sendall(f"{method} {path} {version}\r\n".encode() + rest)
            pipe(client, upstream)


def _read_head(client: socket.socket) -> tuple[str, bytes] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        if not chunk or len(data) > MAX_HEADER_BYTES:
            return None
        data += chunk
    line, _, rest = data.partition(b"\r\n")
    return line.decode("latin-1"), rest


def _request_target(line: str) -> tuple[str, str]:
    parts = line.split(" ")
    if len(parts) != 3:
        return "", ""
    return parts[0].upper(), parts[1]
