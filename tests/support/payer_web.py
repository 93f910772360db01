"""A loopback HTTP server that behaves like payer websites: routes map a path to a body and a
behaviour (status, headers, HTML served with 200, a User-Agent gate, 429/503 before success,
connections that die mid-body, Range support or its absence, files republished mid-download).
Every request is recorded. Also a loopback forward proxy for plain http that records what it relays."""

from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import urlsplit

from tests.support.loopback import LoopbackServer, QuietHandler


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # 403 unless every one of these headers is sent with exactly this value (e.g. a User-Agent).
    require_headers: dict[str, str] = field(default_factory=dict)
    # The first `fail_first` requests get `fail_status` (with Retry-After when given) instead.
    fail_first: int = 0
    fail_status: int = 503
    retry_after: str | None = None
    # The first `drop_times` GETs send the full Content-Length but only `drop_after` body bytes,
    # then the socket is shut down: what a load balancer timing out a long transfer looks like.
    drop_after: int | None = None
    drop_times: int = 1
    # A server that ignores Range and always answers 200 with the whole body.
    no_range: bool = False
    etag: str | None = None
    last_modified: str | None = None
    # A slow server: the body goes out at this many bytes per second.
    bytes_per_second: int | None = None
    # Replaces this route once its last drop has happened: the file was republished mid-download.
    then: Route | None = None
    failures: int = 0
    drops: int = 0

    def validator_matches(self, if_range: str) -> bool:
        """If-Range semantics: a strong ETag compared strongly, or an exact Last-Modified date."""
        if if_range.startswith(('"', "W/")):
            etag = self.etag or _header(self.headers, "ETag")
            return bool(etag) and not etag.startswith("W/") and not if_range.startswith("W/") and etag == if_range
        return if_range == (self.last_modified or _header(self.headers, "Last-Modified"))


class Exchange(NamedTuple):
    method: str
    path: str
    headers: dict[str, str]
    status: int
    sent: int        # body bytes written before the response ended (or was cut)
    at: float        # time.monotonic() when the request arrived


def _header(headers: dict[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), None)


def _html(status: int, text: str) -> Route:
    return Route(f"<html><body>{text}</body></html>".encode(), status, {"Content-Type": "text/html"})


class PayerWeb(LoopbackServer):
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.exchanges: list[Exchange] = []
        self.abandoned: list[tuple[str, int]] = []  # (path, body bytes sent) when the client went away
        self.lock = threading.Lock()
        web = self

        class Handler(QuietHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._serve(head=False)

            def do_HEAD(self) -> None:  # noqa: N802
                self._serve(head=True)

            def _serve(self, head: bool) -> None:
                arrived = time.monotonic()
                headers = dict(self.headers)
                web.requests.append((self.path, headers))
                status, extra, body, cut, pace = web._plan(self.path, self.headers, head)
                sent = 0 if head else len(body) if cut is None else min(cut, len(body))
                # Recorded before answering: a client may act on the status line before the body.
                web.exchanges.append(Exchange(self.command, self.path, headers, status, sent, arrived))
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if head:
                    return
                if not self._send(body[:sent], pace):
                    return
                if cut is not None:
                    # FIN right after the partial body: the client sees a Content-Length it never gets.
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True

            def _send(self, body: bytes, pace: int | None) -> bool:
                """Write the body (at `pace` bytes/s when given); False if the client went away first."""
                step = max(1, len(body) if pace is None else pace // 20)
                for start in range(0, len(body), step):
                    try:
                        self.wfile.write(body[start:start + step])
                        self.wfile.flush()
                    except (BrokenPipeError, ConnectionResetError):
                        web.abandoned.append((self.path, start))
                        self.close_connection = True
                        return False
                    if pace is not None:
                        time.sleep(step / pace)
                return True

        super().__init__(Handler)

    def _plan(self, path: str, request, head: bool) -> tuple[int, dict[str, str], bytes, int | None, int | None]:
        """(status, headers, body, bytes to send before cutting the connection or None, bytes/s or None)."""
        with self.lock:
            # A route added with a query string (an S3 listing page) matches that exact query first.
            path = path if path in self.routes else path.split("?", 1)[0]
            route = self.routes.get(path) or _html(404, "Not Found")
            if any(request.get(k) != v for k, v in route.require_headers.items()):
                return 403, {"Content-Type": "text/html"}, b"<html><body>Access Denied</body></html>", None, None
            if route.failures < route.fail_first:
                route.failures += 1
                extra = {"Content-Type": "text/html"}
                if route.retry_after is not None:
                    extra["Retry-After"] = route.retry_after
                return route.fail_status, extra, b"<html><body>Try again later</body></html>", None, None
            extra = dict(route.headers)
            for name, value in (("ETag", route.etag), ("Last-Modified", route.last_modified)):
                if value is not None:
                    extra[name] = value
            if route.status != 200:
                return route.status, extra, route.body, None, None
            status, body = 200, route.body
            if not route.no_range:
                extra["Accept-Ranges"] = "bytes"
                wanted = request.get("Range")
                if_range = request.get("If-Range")
                if wanted and (if_range is None or route.validator_matches(if_range)):
                    span = _byte_range(wanted, len(body))
                    if span == "unsatisfiable":
                        extra["Content-Range"] = f"bytes */{len(body)}"
                        return 416, extra, b"", None, None
                    if span is not None:
                        start, end = span
                        extra["Content-Range"] = f"bytes {start}-{end}/{len(body)}"
                        status, body = 206, body[start:end + 1]
            cut = None
            if not head and route.drop_after is not None and route.drops < route.drop_times:
                route.drops += 1
                cut = route.drop_after
                if route.drops == route.drop_times and route.then is not None:
                    self.routes[path] = route.then
            return status, extra, body, cut, route.bytes_per_second

    def url(self, path: str) -> str:
        return self.base_url + path

    def add(self, path: str, body: bytes, status: int = 200, **headers: str) -> str:
        self.routes[path] = Route(body, status, {k.replace("_", "-"): v for k, v in headers.items()})
        return self.url(path)

    def serve(self, path: str, route: Route) -> str:
        """Install a route with behaviours; reassigning a path is how a file changes between months."""
        self.routes[path] = route
        return self.url(path)

    def gets(self, path: str) -> list[Exchange]:
        return [e for e in self.exchanges if e.method == "GET" and e.path.split("?", 1)[0] == path]


def _byte_range(value: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive for one `bytes=` range, "unsatisfiable", or None to ignore the header."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value)
    if not match or not (match[1] or match[2]):
        return None  # malformed or several ranges: RFC 9110 lets a server ignore it and send 200
    if not match[1]:
        suffix = int(match[2])
        return (max(size - suffix, 0), size - 1) if suffix and size else "unsatisfiable"
    start = int(match[1])
    end = min(int(match[2]), size - 1) if match[2] else size - 1
    if start >= size:
        return "unsatisfiable"
    return (start, end) if start <= end else None


_HOP_BY_HOP = {"connection", "proxy-connection", "keep-alive", "proxy-authorization", "proxy-authenticate",
               "te", "trailer", "transfer-encoding", "upgrade"}


class ForwardProxy(LoopbackServer):
    """A loopback forward proxy for plain http that relays requests (streaming, so a dropped upstream
    body is dropped downstream too) and records (method, target, headers). CONNECT, which https goes
    through, is recorded and refused: there is no TLS server on loopback to tunnel to."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        proxy = self

        class Handler(QuietHandler):
            def do_CONNECT(self) -> None:  # noqa: N802
                proxy.requests.append(("CONNECT", self.path, dict(self.headers)))
                self.send_error(403, "tunnelling refused by the test proxy")

            def do_GET(self) -> None:  # noqa: N802
                self._relay()

            def do_HEAD(self) -> None:  # noqa: N802
                self._relay()

            def _relay(self) -> None:
                proxy.requests.append((self.command, self.path, dict(self.headers)))
                target = urlsplit(self.path)
                if target.scheme != "http" or not target.hostname:
                    self.send_error(400, "a forward proxy needs an absolute http:// URL")
                    return
                upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
                path = (target.path or "/") + (f"?{target.query}" if target.query else "")
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                try:
                    upstream.request(self.command, path, headers=headers)
                    response = upstream.getresponse()
                except OSError as exc:
                    self.send_error(502, f"upstream unreachable: {exc}")
                    return
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() not in _HOP_BY_HOP:
                        self.send_header(name, value)
                self.end_headers()
                self.close_connection = True
                if self.command != "HEAD":
                    while chunk := response.read(64 * 1024):
                        self.wfile.write(chunk)
                upstream.close()

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return self.base_url
