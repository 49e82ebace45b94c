"""Inside the sandbox: 127.0.0.1:PORT → the bot's index proxy on a Unix socket, around a command.

    python sandbox_relay.py SOCKET PORT -- COMMAND ...

Standard library only; it is mounted into the sandbox as a single file and runs there, with
the sandbox's privileges, so it grants nothing: the proxy outside decides what is reachable.
Exits with the command's exit code.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading

JOIN_TIMEOUT_S = 30.0


def pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until either side closes (bot/runner/index_proxy.py uses it too)."""

    def copy(source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join(timeout=JOIN_TIMEOUT_S)


def _relay(client: socket.socket, path: str) -> None:
    with client, socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
        try:
            upstream.connect(path)
        except OSError:
            return
        pipe(client, upstream)


def _serve(listener: socket.socket, path: str) -> None:
    while True:
        client, _ = listener.accept()
        threading.Thread(target=_relay, args=(client, path), daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: sandbox_relay.py SOCKET PORT -- COMMAND ...\n")
        return 2
    path, port, command = argv[0], int(argv[1]), argv[3:]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", port))
    listener.listen(64)
    threading.Thread(target=_serve, args=(listener, path), daemon=True).start()
    return subprocess.call(command)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
