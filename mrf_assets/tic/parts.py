"""Parquet parts: how the lake's tables are encoded, and the streams that write a file's batches into
part files (rolled at a row limit, gathered into full row groups, checksummed, written behind the parse).
"""

from __future__ import annotations

import hashlib
import posixpath
import queue
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

if TYPE_CHECKING:
    from mrf_assets.tic.lake import PartitionWriter

ROWS_PER_PART = 2_000_000
# Batches are gathered into row groups this big: readers pay per group, and each group re-encodes its
# dictionaries (rates of a few MB of JSON are ~35,000 rows).
ROW_GROUP_ROWS = 64 << 10
UNIQUE_COLUMNS = ("rate_uuid",)  # one value per row: a dictionary only costs until it is abandoned
DICTIONARY_BYTES = 256 << 10
# An item's texts, repeated on each of its prices: a row group's dictionary holds one entry per item (1.5 MB
# of UHC's descriptions), and giving up on it at DICTIONARY_BYTES costs more to write than keeping it. The
# limit is one per file, so a table with these columns (rates) raises it for all of its columns.
ITEM_TEXT = ("name", "description")
ITEM_TEXT_DICTIONARY_BYTES = 4 << 20
ORDERED_TEXT = ("billing_code",)  # payer files list their items by billing code


def parquet_options(schema: pa.Schema) -> dict:
    """How a table is encoded. Other ids repeat (a provider set per price, a group per set member) and
    their dictionaries halve the files of real payers, so they keep them. Ids are hashes, which no codec
    shrinks, but they come in runs (a set's members, a rate's prices, a group's NPIs), and a row group
    with more distinct ids than its dictionary holds writes the rest plainly: zstd shrinks those runs
    (a reference-heavy file's providers: 123 -> 47 MB, for the same CPU). Only ids unique to their row
    skip it. Min/max statistics let a reader skip row groups only for numbers and for text the rows are
    ordered by; for other text (names, a file's constant columns) and random ids they prune nothing and
    cost 15% of encoding the rates, so those columns have none. Codecs and dictionaries are set per leaf
    column: a list column named by its own name gets neither."""
    ids = {f.name for f in schema if f.type == pa.uuid()}
    return {"compression": {_leaf_path(f): "none" if f.name in UNIQUE_COLUMNS else "zstd" for f in schema},
            "use_dictionary": [_leaf_path(f) for f in schema if f.name not in UNIQUE_COLUMNS],
            "write_statistics": [f.name for f in schema
                                 if f.name in ORDERED_TEXT or not (f.name in ids or _is_text(f.type))],
            # a column with more distinct values than this gives up on its dictionary sooner
            "dictionary_pagesize_limit": ITEM_TEXT_DICTIONARY_BYTES if set(ITEM_TEXT) & set(schema.names)
            else DICTIONARY_BYTES}


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _is_text(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _leaf_path(column: pa.Field) -> str:
    """The Parquet column path of a flat or list column (codecs are set per leaf column)."""
    nested = pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
    return f"{column.name}.list.element" if nested else column.name


class PartStream:
    """Row batches of one source into parquet parts, rolling to a new part every ROWS_PER_PART rows."""

    def __init__(self, writer: PartitionWriter, key: str, source: str | None):
        self.writer, self.key, self.source = writer, key, source
        self._pq: pq.ParquetWriter | None = None
        self._out = None
        self._rows = 0
        self.rows = 0
        self._pending: list[pa.Table] = []  # batches of the next row group
        self._pending_rows = 0

    def write(self, batch: pa.Table) -> None:
        if batch.num_rows == 0:
            return
        self._pending.append(batch)
        self._pending_rows += batch.num_rows
        if self._pending_rows >= ROW_GROUP_ROWS or self._rows + self._pending_rows >= ROWS_PER_PART:
            self._write_group()

    def _write_group(self) -> None:
        if not self._pending:
            return
        group = pa.concat_tables(self._pending)  # one row group per write, whatever its chunks
        self._pending, self._pending_rows = [], 0
        if self._pq is None:
            self._name = self.writer._next_name(self.key)
            path = posixpath.join(self.writer.dir, self._name)
            self._out = HashingOutput(self.writer.lake.fs.open_output_stream(path))
            self._buffer = pa.BufferedOutputStream(pa.PythonFile(self._out, mode="w"), buffer_size=8 << 20)
            self._pq = pq.ParquetWriter(self._buffer, group.schema, **parquet_options(group.schema))
        self._pq.write_table(group, row_group_size=group.num_rows)
        self._rows += group.num_rows
        self.rows += group.num_rows
        if self._rows >= ROWS_PER_PART:
            self._finish_part()

    def _finish_part(self) -> None:
        if self._pq is None:
            return
        self._pq.close()
        self._buffer.close()
        self._out.close()
        self.writer._record(self._name, self._out.sha256, self._rows, self.key, self.source)
        self._pq, self._out, self._rows = None, None, 0

    def close(self) -> None:
        self._write_group()
        self._finish_part()


def close_parts(parts: Iterable[PartStream]) -> None:
    """Closing a part encodes its last row group (rates and provider sets, a file's first two parts: ~30 ms
    each per file, when nothing else runs): two at a time, as parquet encoding releases the GIL (a thread
    per part would cost more to start, ~1 ms each here, than the small tables take to close)."""
    with ThreadPoolExecutor(2, thread_name_prefix="mrf-close") as pool:
        for future in [pool.submit(part.close) for part in parts]:
            future.result()


class HashingOutput:
    """A write-only file object that checksums what passes through it (for the manifest)."""

    def __init__(self, out):
        self._out, self._hash, self.closed = out, hashlib.sha256(), False

    def write(self, data) -> int:
        self._hash.update(data)
        self._out.write(data)
        return len(data)

    def flush(self) -> None:
        self._out.flush()

    def close(self) -> None:
        if not self.closed:
            self._out.close()
            self.closed = True

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


class WriteBehind:
    """Writes tables to part streams on a background thread, so parquet encoding (which releases the
    GIL) overlaps parsing. Errors surface on the next put, drain or close."""

    def __init__(self, depth: int = 4):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mrf-write-behind", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                if self._error is None:
                    job[0].write(job[1])
            except BaseException as exc:  # kept for the producer, which raises it in its own thread
                self._error = exc
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, part: "PartStream", table: pa.Table) -> None:
        self._raise()
        self._queue.put((part, table))

    def drain(self) -> None:
        self._queue.join()
        self._raise()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._raise()
