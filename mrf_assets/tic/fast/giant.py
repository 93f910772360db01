"""An in-network item too big to hold: the scanner spills it to a file, and it is read back as chunks of
its negotiated rates, each decoded like an item of its own, so memory stays bounded by a chunk."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

from mrf_assets.tic.fast.runs import Batches, Piece, joined
from mrf_assets.tic.fast.scan import BLOCK, TopLevelScanner
from mrf_assets.tic.sources import SourceError

GIANT_RATE = 512 << 20  # one negotiated rate this big cannot be decoded within bounded memory


def rate_chunks(path: str, index: int, chunk_bytes: int) -> Iterator[tuple[bytes, int]]:
    """For each chunk of about `chunk_bytes` of the spilled item's negotiated rates: the item's own
    fields with that chunk as its negotiated_rates (one JSON object), and the position of its first
    rate in the item. An item without rates is one chunk."""
    fields: dict[str, bytes] = {}
    for event in _scan_file(path, arrays=()):
        if event[0] == "scalar":
            fields[event[1]] = event[2]
    head = b"{" + b",".join(json.dumps(k).encode() + b":" + v for k, v in fields.items())
    head += b"," if fields else b""
    chunks = Batches(chunk_bytes)
    for event in _scan_file(path, arrays=("negotiated_rates",)):
        if event[0] == "big_element":
            raise SourceError(f"in_network[{index}] has a single negotiated rate over {GIANT_RATE:,} bytes")
        if event[0] in ("element", "elements"):
            for rates, offset in chunks.add(event[2]):
                yield _item(head, rates), offset
    rates, offset = chunks.take()
    if rates or offset == 0:
        yield _item(head, rates), offset


def _item(head: bytes, rates: list[Piece]) -> bytes:
    return head + b'"negotiated_rates":[' + b",".join([joined(piece) for piece in rates]) + b"]}"


def _scan_file(path: str, arrays: tuple[str, ...]):
    # a rate over the limit is spilled beside the item, into the directory the caller removes
    scanner = TopLevelScanner(arrays=arrays, max_element_bytes=GIANT_RATE, spill_dir=os.path.dirname(path))
    with open(path, "rb") as f:
        while block := f.read(BLOCK):
            yield from scanner.feed(block)
    yield from scanner.close()
