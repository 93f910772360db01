"""A file's decompressed JSON read ahead on a thread of its own, so that inflating overlaps scanning
and decoding (isal and zlib release the GIL)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

from mrf_assets.tic.fast.scan import BLOCK
from mrf_assets.tic.sources import open_json


def decompressed_blocks(path: Path, stat: dict) -> Iterator[bytes]:
    """The file's JSON in blocks of BLOCK bytes; records its container and JSON size in `stat`."""
    out: queue.Queue = queue.Queue(maxsize=2)
    stop = threading.Event()

    def produce() -> None:
        try:
            with open_json(path) as stream:
                stat["container"] = stream.container
                while not stop.is_set() and (block := stream.read(BLOCK)):
                    out.put(block)
                stat["json_bytes"] = stream.bytes_read
            out.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            out.put(exc)

    thread = threading.Thread(target=produce, name="mrf-inflate", daemon=True)
    thread.start()
    try:
        while (block := out.get()) is not None:
            if isinstance(block, BaseException):
                raise block
            yield block
    finally:
        # A consumer that stops early (a failed file, a first pass that met items before their references)
        # would leave the producer blocked on a full queue for good, holding the file and its blocks.
        stop.set()
        while thread.is_alive():
            try:
                out.get(timeout=0.05)
            except queue.Empty:
                pass
