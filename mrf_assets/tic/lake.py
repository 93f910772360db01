"""The parquet lake: Hive-partitioned tables published one partition at a time.

Layout: <root>/<table>/month=YYYY-MM/payer=<slug>/part-<run>-<file_id>-<n>.parquet plus _manifest.json.
A partition is published by writing its parts first and the manifest last; only then are parts that
the manifest does not list removed. Readers go through the manifest, so a crash mid-write leaves the
previous partition readable and a re-run never shows duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from mrf_assets.tic.parts import HashingOutput, PartStream, parquet_options
from mrf_assets.tic.s3 import LakeConfigError, S3Settings

MANIFEST = "_manifest.json"


def previous_month(month: str) -> str:
    """The lake month before a lake month: '2026-01' -> '2025-12'."""
    year, number = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


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
        return pa.concat_tables(self.read_part(p) for p in paths)

    def read_part(self, path: str, columns: list[str] | None = None) -> pa.Table:
        """One part file. Through ParquetFile, not pq.read_table: its dataset layer costs every command
        that commits ~40 ms of imports."""
        with self.fs.open_input_file(path) as f:
            return pq.ParquetFile(f).read(columns=columns)

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

    def open_part(self, key: str, source: str | None = None) -> PartStream:
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
