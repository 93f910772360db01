"""One in-network file's JSON into the lake's tables, by either parser, handed on batch by batch.

Both parsers take the file's normalizer from `make_normalizer(header)` once its header is read, and
hand each batch of finished tables to `sink` as (lake table name, table) pairs. What the file's
partition does with them (parts written behind, seen-sets, logging) is ingest.py's.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import ijson
import pyarrow as pa

from mrf_assets.tic.fast.scan import ScanError
from mrf_assets.tic.fast.stream import FastFile
from mrf_assets.tic.in_network import iter_items, iter_references, scan_preamble
from mrf_assets.tic.normalize import BATCH_ROWS, Normalizer
from mrf_assets.tic.sources import SourceError, open_json

# Everything a broken payer file can raise while it streams; anything else is a bug and propagates.
FILE_ERRORS = (SourceError, ScanError, ijson.JSONError, ijson.IncompleteJSONError, json.JSONDecodeError,
               UnicodeDecodeError, OSError, EOFError)
Ready = list[tuple[str, pa.Table]]


def parse_fast(path: Path, stat: dict, make_normalizer: Callable[[dict], Normalizer], sink: Callable[[Ready], None],
               restart: Callable[[], None], progress: Callable[[int, int], None]) -> Normalizer:
    """The fast path (fast/stream.py). `restart()` drops what was handed on so far: a file whose
    provider_references come after its items is read a second time."""
    def flush(rates: pa.Table | None = None, discard: bool = False) -> None:
        if discard:
            restart()
            return
        with fast.norm.lock:  # flatten threads add to the normalizer's tables
            ready = ready_tables(fast.norm, rates)
        sink(ready)

    fast = FastFile(path, make_normalizer, flush, stat, progress)
    normalizer = fast.run()
    flush()
    stat["schema_version"], stat["last_updated_on"] = normalizer.ctx.schema_version, normalizer.ctx.last_updated_on
    return normalizer


def parse_reference(path: Path, stat: dict, make_normalizer: Callable[[dict], Normalizer],
                    sink: Callable[[Ready], None], progress: Callable[[int, int], None]) -> Normalizer:
    """The streaming reference path: ijson item by item through the Normalizer's rules."""
    with open_json(path) as stream:
        stat["container"] = stream.container
        pending: list[dict] = []
        preamble = scan_preamble(stream, pending.append)
    normalizer = make_normalizer(preamble.header)
    for ref in pending:
        normalizer.add_reference(ref)
    if not preamble.references_read:
        with open_json(path) as stream:
            for ref in iter_references(stream):
                normalizer.add_reference(ref)
    with open_json(path) as stream:
        for index, item in enumerate(iter_items(stream)):
            progress(stream.bytes_read, index)
            normalizer.add_item(item, index)
            if len(normalizer.rates) >= BATCH_ROWS or len(normalizer.rejects) >= BATCH_ROWS:
                sink(ready_tables(normalizer))
        stat["json_bytes"] = stream.bytes_read
    sink(ready_tables(normalizer))
    return normalizer


def ready_tables(normalizer: Normalizer, rates: pa.Table | None = None) -> Ready:
    """The tables the normalizer has ready (plus column-wise `rates`), by lake table name."""
    rows = {"rates": normalizer.rates, "providers": normalizer.providers, "organizations": normalizer.orgs,
            "rejects": normalizer.rejects}  # row-wise additions (the reference rules), taken when there are any
    ready = [(name, columns.take()) for name, columns in rows.items() if len(columns)]
    ready += [("rates", rates)] if rates is not None else []
    ready += [("provider_sets", table) for table in normalizer.sets.take()]
    ready += [("rejects", t) for t in normalizer.reject_tables]
    ready += [("providers", t) for t in normalizer.provider_tables]  # in the lake's types already
    ready += [("organizations", t) for t in normalizer.org_tables]
    normalizer.reject_tables.clear()
    normalizer.provider_tables.clear()
    normalizer.org_tables.clear()
    return ready


def describe_error(exc: BaseException) -> str:
    """What went wrong with a file, for its file_stats row and rejects."""
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(exc, (ijson.JSONError, ijson.IncompleteJSONError, ScanError, json.JSONDecodeError)):
        return f"invalid JSON: {exc}"
    if isinstance(exc, UnicodeDecodeError):
        return f"invalid UTF-8 text: {exc}"
    return f"{type(exc).__name__}: {exc}"
