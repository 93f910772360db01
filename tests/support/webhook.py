"""A loopback webhook receiver (Slack-compatible JSON posts), optionally failing the first N posts."""

from __future__ import annotations

import json

from tests.support.loopback import LoopbackServer, QuietHandler


class WebhookReceiver(LoopbackServer):
    def __init__(self, fail_first: int = 0) -> None:
        self.posts: list[dict] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.fail_first > 0:
                    receiver.fail_first -= 1
                    self.send_response(503)
                else:
                    receiver.posts.append(json.loads(body))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"{self.base_url}/hooks/alerts"

    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]
