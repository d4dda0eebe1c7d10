"""A local stand-in for the Hugging Face hub: serves files over HTTP on loopback the way
`huggingface_hub` expects (HEAD with commit/etag/size headers, GET with Range for resume)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class HubStandIn:
    def __init__(self, files: dict[tuple[str, str], bytes]):
        self.files = files
        self.requests: list[tuple[str, str, str | None]] = []

    def handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def _find(self) -> bytes | None:
                # /{owner}/{name}/resolve/{revision}/{filename}
                parts = self.path.split("?")[0].strip("/").split("/")
                if len(parts) < 5 or parts[2] != "resolve":
                    return None
                return hub.files.get(("/".join(parts[:2]), "/".join(parts[4:])))

            def _headers(self, data: bytes, status: int, length: int, start: int = 0):
                self.send_response(status)
                self.send_header("X-Repo-Commit", COMMIT)
                self.send_header("ETag", '"' + hashlib.sha256(data).hexdigest() + '"')
                self.send_header("Content-Length", str(length))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()

            def do_HEAD(self):
                hub.requests.append(("HEAD", self.path, self.headers.get("Range")))
                data = self._find()
                if data is None:
                    self.send_response(404)
                    self.send_header("X-Error-Code", "EntryNotFound")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._headers(data, 200, len(data))

            def do_GET(self):
                hub.requests.append(("GET", self.path, self.headers.get("Range")))
                data = self._find()
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = 0
                if rng := self.headers.get("Range"):
                    start = int(rng.split("=")[1].split("-")[0])
                body = data[start:]
                self._headers(data, 206 if start else 200, len(body), start)
                self.wfile.write(body)

        return Handler


@contextmanager
def serve_hub(files: dict[tuple[str, str], bytes]) -> Iterator[tuple[str, HubStandIn]]:
    hub = HubStandIn(files)
    server = ThreadingHTTPServer(("127.0.0.1", 0), hub.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hub
    finally:
        server.shutdown()
        server.server_close()
