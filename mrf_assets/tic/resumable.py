"""One download's transfer, resumable: the Range and If-Range headers of the next request, and the
server's answer checked (a range that starts elsewhere, a file that changed or resized) and written."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import requests

CHUNK = 1 << 20
log = logging.getLogger(__name__)


class DownloadCancelled(Exception):
    """Whoever wanted the file stopped waiting for it (a run that failed while this file downloaded ahead)."""


class ShortBody(Exception):
    """The body ended (or the server answered a resumption oddly) before the file was complete."""


@dataclass
class Transfer:
    written: int = 0
    total: int | None = None      # expected size of the whole file, when the server said
    validator: str | None = None  # ETag or Last-Modified of the copy being assembled

    def restart(self, out: BinaryIO) -> None:
        out.seek(0)
        out.truncate()
        self.written, self.total, self.validator = 0, None, None


def range_headers(state: Transfer) -> dict[str, str]:
    # Byte offsets only mean something in the stored representation: no on-the-fly compression.
    headers = {"Accept-Encoding": "identity"}
    if state.written:
        headers["Range"] = f"bytes={state.written}-"
        if state.validator:  # without one, the total in Content-Range is the only check left
            headers["If-Range"] = state.validator
    return headers


def receive(response: requests.Response, out: BinaryIO, state: Transfer, shown: str,
             cancel: threading.Event, progress: Callable[[int, int | None], None]) -> None:
    if response.status_code == 206:
        start, total = _content_range(response.headers.get("Content-Range", ""))
        resized = None not in (total, state.total) and total != state.total
        if not state.written or start != state.written or resized:
            state.restart(out)
            raise ShortBody(f"server answered a range from byte {start} of {total} instead of the one asked for")
        state.total = total or state.total
    else:
        if state.written:
            log.warning("download of %s: server sent the whole file again (no range support, or the file"
                        " changed); restarting from byte 0", shown)
        state.restart(out)
        length = response.headers.get("Content-Length", "")
        state.total = int(length) if length.isdigit() else None
        etag = response.headers.get("ETag")
        # If-Range needs a strong validator; a weak ETag would make every resumption restart.
        state.validator = etag if etag and not etag.startswith("W/") else \
            response.headers.get("Last-Modified") or etag
    # Raw bytes, as stored: a Content-Encoding: gzip body stays gzip (sources sniffs it) and offsets hold.
    for chunk in response.raw.stream(CHUNK, decode_content=False):
        if cancel.is_set():
            raise DownloadCancelled(f"download of {shown} cancelled at byte {state.written}")
        out.write(chunk)
        state.written += len(chunk)
        progress(state.written, state.total)
    if state.total is not None and state.written != state.total:
        raise ShortBody(f"body ended at byte {state.written} of {state.total}")


def _content_range(value: str) -> tuple[int | None, int | None]:
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value)
    if not match:
        return None, None
    return int(match[1]), None if match[2] == "*" else int(match[2])
