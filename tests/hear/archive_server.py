"""A local HTTP server for `hearbot tasks fetch` tests: threaded, honours Range requests, and
serves an archive whole or broken on purpose, by the first part of the path:

- ``/good/<name>``: the file, with Range support (206 and Content-Range);
- ``/truncated/<name>``: only its first half, announced as the whole (a short file);
- ``/corrupt/<name>``: the file with one byte flipped in the middle (a wrong checksum);
- ``/drop/<name>``: the first request announces the whole length but the connection is
  closed half-way; later (Range) requests are answered properly;
- ``/norange/<name>``: ignores Range and always sends everything with 200.

Every request's path and Range header are recorded in ``requests``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class ArchiveServer:
    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []
        self.dropped: set[str] = set()
        self.lock = threading.Lock()
        self.url = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                parts = self.path.strip("/").split("/")
                range_header = self.headers.get("Range")
                with server.lock:
                    server.requests.append((self.path, range_header))
                if len(parts) != 2 or parts[1] not in server.files:
                    self.send_error(404)
                    return
                mode, name = parts
                body = server.files[name]
                if mode == "truncated":
                    body = body[: len(body) // 2]
                elif mode == "corrupt":
                    middle = len(body) // 2
                    body = body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1 :]
                start = 0
                if range_header and mode != "norange":
                    start = int(range_header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.send_header("Content-Type", "application/gzip")
                self.end_headers()
                if mode == "drop" and self.path not in server.dropped:
                    server.dropped.add(self.path)
                    self.wfile.write(body[start : len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body[start:])

        return Handler


@contextmanager
def serve(files: dict[str, Path | bytes]) -> Iterator[ArchiveServer]:
    contents = {n: f if isinstance(f, bytes) else Path(f).read_bytes() for n, f in files.items()}
    state = ArchiveServer(contents)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()
