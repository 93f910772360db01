"""A loopback SMTP receiver on Python 3.11's smtpd/asyncore (enough for one test)."""

from __future__ import annotations

import asyncore
import smtpd
import threading
import warnings


class SmtpReceiver:
    def __init__(self) -> None:
        self.messages: list[str] = []
        receiver = self

        class Server(smtpd.SMTPServer):
            def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
                receiver.messages.append(f"to={','.join(rcpttos)}\n{data.decode() if isinstance(data, bytes) else data}")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self.server = Server(("127.0.0.1", 0), None)
        self.thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05}, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.socket.getsockname()
        return f"{host}:{port}"

    def __enter__(self) -> "SmtpReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.close()
