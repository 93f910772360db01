"""The fast path for one in-network file: bytes -> items (scan) -> Arrow (decode) -> rows (flatten).

It produces exactly the reference path's rows. An item with a value that the Arrow schema does not take
(e.g. a quoted number) goes through the reference Normalizer, counted in `items_fallback`, and the rest
of its batch is decoded again. A file whose provider ids are decimals is decoded with text ids from the
first batch that needs them. A giant item (over GIANT_ITEM bytes) is spilled to disk by the scanner and
decoded in chunks of its negotiated rates, so memory stays bounded by a chunk, not the item.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from mrf_assets.tic.fast.decode import item_decoder, load_json
from mrf_assets.tic.fast.file_references import FileReferences
from mrf_assets.tic.fast.flatten import flatten
from mrf_assets.tic.fast.giant import rate_chunks
from mrf_assets.tic.fast.read_ahead import decompressed_blocks
from mrf_assets.tic.fast.runs import Batches, Piece, elements, portions
from mrf_assets.tic.fast.scan import TopLevelScanner
from mrf_assets.tic.fast.targets import InlineGroups
from mrf_assets.tic.in_network import HEADER_KEYS
from mrf_assets.tic.normalize import Normalizer
from mrf_assets.tic.sources import SourceError
from mrf_assets.tic.values import text

BATCH_BYTES = 6 << 20  # of item JSON per Arrow batch: with two flatten threads, the best speed under 1 GB
# The first reference batches are smaller, so that both threads resolve a small file's references (items
# wait for all of them) while big files keep full batches (a 1.5 MB batch costs 14% more per byte).
FIRST_REFERENCE_BYTES = BATCH_BYTES // 4
GIANT_ITEM = 64 << 20
PROVIDER_ROWS = 200_000
# Arrow decoding, polars and numpy release the GIL, so two batches flatten on two cores at once.
FLATTEN_THREADS = min(2, os.cpu_count() or 1)
# Items with a value Arrow refuses that a batch skips (each read by the reference rules, the rest of
# the batch decoded again) before the rest of it is read in Python: a few odd values cost about their
# batch's decoding again, not the batch read in Python (~20x slower). Two odd items in a row end the
# skipping too, so a file of them costs two failed decodes per batch more.
MAX_SKIPS = 16
_FAILED_ROW = re.compile(r" in row (\d+)$")  # where Arrow's decoder stopped, when its message says


class _NeedsReferences(Exception):
    """Items referenced provider groups before the file's provider_references were read."""


class FastFile:
    def __init__(self, path: Path, make_normalizer: Callable[[dict], Normalizer], flush: Callable, stat: dict,
                 progress: Callable[[int, int], None] = lambda json_bytes, items: None):
        self.path, self.make_normalizer, self.flush, self.stat = path, make_normalizer, flush, stat
        self.progress = progress  # told the JSON bytes and items read so far, block by block
        self.norm: Normalizer | None = None
        self.refs = FileReferences()
        self.inline_groups = InlineGroups()
        self._pool: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()  # batches being flattened, oldest first
        self._references: deque[tuple[list, Future]] = deque()  # reference batches being resolved
        self.items = item_decoder()  # provider ids as text once a batch has decimal ones

    def run(self) -> Normalizer:
        with ThreadPoolExecutor(FLATTEN_THREADS, thread_name_prefix="mrf-flatten") as self._pool:
            try:
                self._pass(items=True, references=True)
            except _NeedsReferences:
                self._drain(failed=True)
                # start over, references first: the caller discards this file's parts (and the groups they recorded)
                self.norm, self.refs, self.inline_groups = None, FileReferences(), InlineGroups()
                self.stat["passes"] = 2
                self.flush(discard=True)
                self._pass(items=False, references=True)
                self._pass(items=True, references=False)
            except BaseException:
                self._drain(failed=True)
                raise
        return self.norm

    def _normalizer(self, header: dict) -> Normalizer:
        if self.norm is None:
            self.norm = self.make_normalizer(header)
            self.norm.counts["items_fallback"] = 0
        return self.norm

    def _pass(self, items: bool, references: bool) -> None:
        header: dict = {}
        refs_done, frozen = not references, False  # frozen: in_network has started
        batches = Batches(BATCH_BYTES)
        refs: list[tuple] = []
        refs_size = refs_batches = read = 0
        with tempfile.TemporaryDirectory(prefix="mrf-giant-") as spill:
            scanner = TopLevelScanner(max_element_bytes=GIANT_ITEM, spill_dir=spill)
            for block in decompressed_blocks(self.path, self.stat):
                for event in scanner.feed(block):
                    kind, key = event[0], event[1]
                    if kind == "scalar" and key in HEADER_KEYS and not frozen:
                        header[key] = text(load_json(event[2]))
                    elif key == "provider_references" and references and kind == "big_element":
                        self._add_references(header, [*refs, event])
                        refs, refs_size, refs_batches = [], 0, refs_batches + 1
                    elif key == "provider_references" and references and kind in ("element", "elements"):
                        limit = BATCH_BYTES if refs_batches >= FLATTEN_THREADS else FIRST_REFERENCE_BYTES
                        for piece in portions(event[2], limit - refs_size, limit):
                            refs.append((kind, key, piece))
                            refs_size += len(piece)
                            if refs_size >= limit:
                                self._add_references(header, refs)
                                refs, refs_size, refs_batches = [], 0, refs_batches + 1
                    elif key == "provider_references" and kind == "array_end":
                        self._add_references(header, refs)
                        refs, refs_size = [], 0
                        refs_done = True
                    elif key == "in_network":
                        if not frozen:  # like the reference path: header fields after in_network are ignored
                            frozen = True
                            norm = self._normalizer(header)
                            norm.ctx = dataclasses.replace(norm.ctx, schema_version=header.get("version"),
                                                           last_updated_on=header.get("last_updated_on"))
                        if not items or kind == "array_end":
                            continue
                        if kind == "big_element":
                            self._decode(*batches.take(), refs_done)
                            self._giant(event[2], batches.skip(), refs_done)
                            continue
                        for batch, first in batches.add(event[2]):
                            self._decode(batch, first, refs_done)
                read += len(block)
                self.progress(read, batches.count)
            scanner.close()
            self._add_references(header, refs)
            self._collect_references()  # before the spill directory goes: a giant reference is read from it
        if not frozen:
            raise SourceError("no in_network array: this is not an in-network rates file")
        if items:
            self._decode(*batches.take(), refs_done)
            self._drain()

    def _decode(self, batch: list[Piece], first: int, refs_done: bool, rate_offset: int = 0,
                new_items: bool = True) -> None:
        """Hand a batch to a flatten thread; results are written in batch order."""
        if not batch:
            return
        self._collect_references()
        args = (batch, first, refs_done, self.refs.table(self.norm), rate_offset, new_items)
        self._pending.append(self._pool.submit(self._convert, *args))
        while len(self._pending) > FLATTEN_THREADS:
            self.flush(rates=self._pending.popleft().result())

    def _drain(self, failed: bool = False) -> None:
        """Wait for every batch in flight; after a failure their results and errors no longer matter."""
        if failed:
            for _, future in self._references:
                future.cancel() or future.exception()
            self._references.clear()
        while self._pending:
            future = self._pending.popleft()
            if failed:
                future.cancel() or future.exception()
            else:
                self.flush(rates=future.result())

    def _convert(self, batch: list[Piece], first: int, refs_done: bool, references, rate_offset: int,
                 new_items: bool, skips: int = 0) -> pa.Table | None:
        try:
            items = self.items.decode(batch)
            rates = pc.list_flatten(items.column("negotiated_rates").combine_chunks())
            if not _finite_rates(rates):  # Arrow reads NaN and Infinity, which are not JSON
                raise pa.ArrowInvalid("a negotiated_rate is not finite: the reference rules decide")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            failure = str(exc)  # only its text: its traceback holds the batch's lines while the rest is tried
        else:
            if not refs_done and _arrow_uses_references(rates):
                raise _NeedsReferences()
            return flatten(items, first, self.norm, references, self.inline_groups, rate_offset, new_items)
        self.stat.setdefault("fallback_reason", failure[:300])
        blobs, found = elements(batch), _FAILED_ROW.search(failure)
        row = int(found.group(1)) if found else len(blobs)
        if row >= len(blobs) or skips >= MAX_SKIPS or (skips and not row):  # two in a row: likely many more
            self._read_apart(blobs, first, refs_done, rate_offset, new_items)
            return None
        # Arrow stopped at the item with the odd value: the items before it decode, that one goes to the
        # reference rules, and the rest are decoded again.
        parts = [self._convert(blobs[:row], first, refs_done, references, rate_offset, new_items, MAX_SKIPS)
                 if row else None]
        self._read_apart(blobs[row : row + 1], first + row, refs_done, rate_offset, new_items)
        if row + 1 < len(blobs):
            parts.append(self._convert(blobs[row + 1 :], first + row + 1, refs_done, references, rate_offset,
                                       new_items, skips + 1))
        parts = [part for part in parts if part is not None]
        return pa.concat_tables(parts) if parts else None

    def _read_apart(self, blobs: list[bytes], first: int, refs_done: bool, rate_offset: int, new_items: bool) -> None:
        """Items read in Python and normalized by the reference rules, one by one."""
        norm = self.norm
        with norm.lock:
            self.refs.give_python(norm)
            norm.counts["items_fallback"] += len(blobs) if new_items else 0
            for offset, blob in enumerate(blobs):
                item = _load_item(blob, first + offset)
                if not refs_done and _uses_references(item):
                    raise _NeedsReferences()
                norm.add_item(item, first + offset, rate_offset=rate_offset, new_item=new_items)

    def _add_references(self, header: dict, events: list[tuple]) -> None:
        """Hand a batch of references to a flatten thread (they are decoded and resolved column-wise
        there, two batches at once) and record the oldest ones, in file order."""
        if not events:
            return
        self._normalizer(header)
        self._references.append((events, self._pool.submit(self.refs.prepare, events)))
        self._collect_references(keep=FLATTEN_THREADS)

    def _collect_references(self, keep: int = 0) -> None:
        norm = self.norm
        while len(self._references) > keep:
            events, future = self._references.popleft()
            self.refs.add(norm, events, future.result())
            for kind, _, spilled, *_ in events:
                if kind == "big_element":
                    os.unlink(spilled)  # read: its disk is freed now, not when the pass ends
            if len(norm.providers) + sum(t.num_rows for t in norm.provider_tables) >= PROVIDER_ROWS:
                self.flush()  # a file can list millions of NPIs before its first item

    def _giant(self, path: str, index: int, refs_done: bool) -> None:
        """An item too big to hold, decoded a chunk of its negotiated rates at a time (giant.py)."""
        with self.norm.lock:
            self.norm.counts["items_giant"] += 1
        for item, offset in rate_chunks(path, index, BATCH_BYTES):
            self._decode([item], index, refs_done, rate_offset=offset, new_items=offset == 0)


def _load_item(blob: bytes, position: int):
    """An item read in Python; its errors name it."""
    try:
        return load_json(blob)
    except json.JSONDecodeError as exc:
        raise SourceError(f"invalid JSON in in_network[{position}]: {exc}") from None
    except SourceError as exc:
        raise SourceError(f"in_network[{position}]: {exc}") from None


def _finite_rates(rates: pa.Array) -> bool:
    """Whether no price of the batch's negotiated rates (flattened) has a NaN or infinite rate."""
    prices = pc.list_flatten(pc.struct_field(rates, "negotiated_prices"))
    return not pc.any(pc.invert(pc.is_finite(pc.struct_field(prices, "negotiated_rate")))).as_py()


def _arrow_uses_references(rates: pa.Array) -> bool:
    uses = pc.and_(pc.is_null(pc.struct_field(rates, "provider_groups")),
                   pc.greater(pc.list_value_length(pc.struct_field(rates, "provider_references")), 0))
    return pc.any(uses).as_py() is True


def _uses_references(item) -> bool:
    rates = item.get("negotiated_rates") if isinstance(item, dict) else None
    return any(isinstance(r, dict) and r.get("provider_groups") is None and r.get("provider_references")
               for r in rates or [])
