"""The parquet lake: Hive-partitioned tables published one partition at a time.

Layout: <root>/<table>/month=YYYY-MM/payer=<slug>/part-<run>-<file_id>-<n>.parquet plus _manifest.json.
A partition is published by writing its parts first and the manifest last; only then are parts that
the manifest does not list removed. Readers go through the manifest, so a crash mid-write leaves the
previous partition readable and a re-run never shows duplicates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import posixpath
import queue
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from mrf_assets.tic.s3 import LakeConfigError, S3Settings

MANIFEST = "_manifest.json"
ROWS_PER_PART = 2_000_000
# Batches are gathered into row groups this big: readers pay per group, and each group re-encodes its
# dictionaries (rates of a few MB of JSON are ~35,000 rows).
ROW_GROUP_ROWS = 64 << 10
UNIQUE_COLUMNS = ("rate_uuid",)  # one value per row: a dictionary only costs until it is abandoned
DICTIONARY_BYTES = 256 << 10
RUNNING_IDS = ("provider_set_uuid",)  # runs of one value (a set's members, a rate's prices) that zstd shrinks
ORDERED_TEXT = ("billing_code",)  # payer files list their items by billing code


def parquet_options(schema: pa.Schema) -> dict:
    """How a table is encoded. Other ids repeat (a provider set per price, a group per set member) and
    their dictionaries halve the files of real payers, so they keep them. Ids are hashes, which no codec
    shrinks (a repeated id's dictionary index is bit-packed already), so their pages skip zstd, except
    ids that come in runs. Min/max statistics let a reader skip row groups only for numbers and for text
    the rows are ordered by; for other text (names, a file's constant columns) and random ids they prune
    nothing and cost 15% of encoding the rates, so those columns have none."""
    ids = {f.name for f in schema if f.type == pa.uuid()}
    return {"compression": {_leaf_path(f): "none" if f.name in ids - set(RUNNING_IDS) else "zstd" for f in schema},
            "use_dictionary": [n for n in schema.names if n not in UNIQUE_COLUMNS],
            "write_statistics": [f.name for f in schema
                                 if f.name in ORDERED_TEXT or not (f.name in ids or _is_text(f.type))],
            # a column with more distinct values than this gives up on its dictionary sooner
            "dictionary_pagesize_limit": DICTIONARY_BYTES}


def previous_month(month: str) -> str:
    """The lake month before a lake month: '2026-01' -> '2025-12'."""
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _is_text(kind: pa.DataType) -> bool:
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _is_text(kind.value_type)
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _leaf_path(column: pa.Field) -> str:
    """The Parquet column path of a flat or list column (codecs are set per leaf column)."""
    nested = pa.types.is_list(column.type) or pa.types.is_large_list(column.type)
    return f"{column.name}.list.element" if nested else column.name


class Lake:
    """A lake root: a local folder (or file:// URL) or s3://bucket/prefix."""

    def __init__(self, url: str, s3: S3Settings | None = None):
        self.url = url
        parts = urlsplit(url)
        self.s3: S3Settings | None = None
        if parts.scheme == "s3":
            if not parts.netloc:
                raise LakeConfigError(f"MRF_LAKE_URL {url!r} has no bucket: use s3://bucket/prefix")
            self.s3 = s3 or S3Settings.from_env()
            self.fs, self.base = self.s3.filesystem(), (parts.netloc + parts.path).rstrip("/")
        elif parts.scheme in ("", "file"):
            self.fs, self.base = pafs.LocalFileSystem(), str(Path(parts.path if parts.scheme else url).resolve())
        else:
            raise LakeConfigError(f"MRF_LAKE_URL {url!r}: expected a folder, file:// or s3:// URL")
        self.local = self.s3 is None

    def check(self) -> "Lake":
        """Fail early with a message naming the setting when the lake is unusable."""
        if self.s3 is not None:
            self.s3.check_bucket(self.base.split("/", 1)[0], self.url)
        return self

    def partition_dir(self, table: str, month: str, payer: str) -> str:
        return posixpath.join(self.base, table, f"month={month}", f"payer={payer}")

    def uri(self, path: str) -> str:
        return path if self.local else f"s3://{path}"

    def writer(self, table: str, month: str, payer: str, run_id: str,
               schema: pa.Schema | None = None) -> "PartitionWriter":
        return PartitionWriter(self, table, month, payer, run_id, schema)

    def manifest(self, table: str, month: str, payer: str) -> dict | None:
        path = posixpath.join(self.partition_dir(table, month, payer), MANIFEST)
        try:
            with self.fs.open_input_stream(path) as stream:
                return json.loads(stream.read())
        except FileNotFoundError:
            return None

    def part_paths(self, table: str, month: str, payer: str) -> list[str]:
        manifest = self.manifest(table, month, payer)
        if manifest is None:
            return []
        base = self.partition_dir(table, month, payer)
        return [posixpath.join(base, p["path"]) for p in manifest["parts"]]

    def read(self, table: str, month: str, payer: str, schema: pa.Schema | None = None) -> pa.Table:
        """The published partition as one Arrow table (for the small tables and tests)."""
        paths = self.part_paths(table, month, payer)
        if not paths:
            if schema is None:
                raise FileNotFoundError(f"no published partition {table}/month={month}/payer={payer}")
            return schema.empty_table()
        return pa.concat_tables(pq.read_table(p, filesystem=self.fs) for p in paths)

    def scan(self, table: str, month: str, payer: str, schema: pa.Schema | None = None) -> pl.LazyFrame:
        """The published partition as a polars LazyFrame, read part by part (bounded memory)."""
        paths = self.part_paths(table, month, payer)
        if not paths:
            if schema is None:
                raise FileNotFoundError(f"no published partition {table}/month={month}/payer={payer}")
            return pl.from_arrow(schema.empty_table()).lazy()
        if self.local:
            return pl.scan_parquet(paths)
        return pl.scan_parquet([self.uri(p) for p in paths], storage_options=self.s3.polars_options())


@dataclass
class PartitionWriter:
    lake: Lake
    table: str
    month: str
    payer: str
    run_id: str
    schema: pa.Schema | None = None
    parts: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.dir = self.lake.partition_dir(self.table, self.month, self.payer)
        self.lake.fs.create_dir(self.dir, recursive=True)
        self._counters: dict[str, int] = {}

    def _next_name(self, key: str) -> str:
        n = self._counters.get(key, 0)
        self._counters[key] = n + 1
        return f"part-{self.run_id[:8]}-{key}-{n:05d}.parquet"

    def write_table(self, table: pa.Table, key: str = "0", source: str | None = None,
                    keep_empty: bool = False) -> None:
        """Write one Arrow table as one part (skipped when empty unless keep_empty)."""
        if table.num_rows == 0 and not keep_empty:
            return
        name = self._next_name(key)
        out = HashingOutput(self.lake.fs.open_output_stream(posixpath.join(self.dir, name)))
        pq.write_table(table, out, **parquet_options(table.schema))
        out.close()
        self._record(name, out.sha256, table.num_rows, key, source)

    def open_part(self, key: str, source: str | None = None) -> "PartStream":
        return PartStream(self, key, source)

    def _record(self, name: str, sha256: str, rows: int, key: str, source: str | None) -> None:
        self.parts.append({"path": name, "rows": rows, "key": key, "source": source, "sha256": sha256})

    def discard(self, key: str) -> None:
        """Drop the parts written for one key (a file that failed part-way)."""
        for part in [p for p in self.parts if p["key"] == key]:
            self.lake.fs.delete_file(posixpath.join(self.dir, part["path"]))
            self.parts.remove(part)

    def commit(self, **extra) -> dict:
        """Publish: manifest last, then remove every part the manifest does not list."""
        manifest = {
            "table": self.table, "month": self.month, "payer": self.payer, "run_id": self.run_id,
            "published_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "rows": sum(p["rows"] for p in self.parts), "parts": self.parts,
            "sources": sorted({p["source"] for p in self.parts if p["source"]}), **extra,
        }
        fs, final = self.lake.fs, posixpath.join(self.dir, MANIFEST)
        tmp = posixpath.join(self.dir, f".{MANIFEST}.{self.run_id[:8]}")
        with fs.open_output_stream(tmp) as out:
            out.write(json.dumps(manifest, indent=1).encode())
        fs.move(tmp, final)
        keep = {p["path"] for p in self.parts} | {MANIFEST}
        for info in fs.get_file_info(pafs.FileSelector(self.dir)):
            if info.type == pafs.FileType.File and info.base_name not in keep:
                fs.delete_file(info.path)
        return manifest


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
        self._thread = threading.Thread(target=self._run, daemon=True)
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
