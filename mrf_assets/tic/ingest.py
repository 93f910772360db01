"""Ingest the in-network files of one month x payer partition into the lake.

One `PartitionIngest` per partition: each file is fetched, streamed and normalized into parts of
`rates`, `provider_sets`, `providers`, `organizations` and `rejects`; a file that fails (truncated
gzip, HTML body, invalid JSON, zip bomb, ...; or an unexpected error, a bug met on its data, whose
traceback is logged) has its parts discarded, is recorded as failed in `file_stats` and `rejects`, and
never stops the other files. `commit()` publishes every table.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import ijson
import pyarrow as pa

from mrf_assets.tic.file_log import PROGRESS_SECONDS, log_file, progress_log
from mrf_assets.tic.file_parse import FILE_ERRORS, Ready, describe_error, parse_fast, parse_reference
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import file_id as make_file_id
from mrf_assets.tic.ids import redact_url
from mrf_assets.tic.lake import Lake, PartitionWriter
from mrf_assets.tic.normalize import FileContext, Normalizer
from mrf_assets.tic.partition_merge import deduplicate, merge_organizations
from mrf_assets.tic.parts import WriteBehind, close_parts
from mrf_assets.tic.seen import SeenIds, SeenKeys
from mrf_assets.tic.sources import SourceError, fetch, open_json
from mrf_assets.tic.tables import FILE_STATS, TABLES
from mrf_assets.tic.values import record_json, text

PARSERS = ("fast", "reference")
STAT_COUNTS = ("items", "items_rejected", "prices", "expected_rows", "rows", "rows_rejected",
               "rows_filtered", "provider_groups", "remote_references", "remote_references_failed",
               "items_fallback", "items_giant")
PART_TABLES = ("rates", "provider_sets", "providers", "organizations", "rejects")  # written per file


class PartitionIngest:
    def __init__(self, lake: Lake, payer: str, month: str, run_id: str, http: HttpClient,
                 resolve: Callable[[str], str] = str, log=logging.getLogger(__name__),
                 parser: str = "fast", progress_seconds: float | None = None):
        if parser not in PARSERS:
            raise ValueError(f"parser {parser!r}: expected one of {PARSERS}")
        self.payer, self.month, self.http, self.resolve, self.log = payer, month, http, resolve, log
        self.parser, self.lake, self.run_id = parser, lake, run_id
        self.progress_seconds = PROGRESS_SECONDS if progress_seconds is None else progress_seconds
        self.writers: dict[str, PartitionWriter] = {
            name: lake.writer(name, month, payer, run_id, schema) for name, schema in TABLES.items()
        }
        self.stats: list[dict] = []
        self.seen_groups, self.seen_orgs = SeenIds(), SeenIds()
        self.seen_sets = SeenKeys()
        self.adopted = 0  # files ingested by worker processes (their parts may repeat groups and sets)
        self._remote: dict[str, list[dict] | Exception] = {}
        self._closer = ThreadPoolExecutor(1, thread_name_prefix="mrf-close-file")
        # the last file: its stats row, start, and its parts closing (a Future of the time they closed)
        self._closing: tuple[dict, float, Future | float] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="mrf-ingest-")
        self.workdir = Path(self._tmp.name)

    def download(self, url: str, cancel: threading.Event | None = None) -> Path:
        """The file behind a URL on local disk (a local file is not copied). Thread-safe: the next file
        may download while this one is parsed, until `cancel` is set."""
        return self._fetch(self.resolve(url), cancel)

    def _fetch(self, url: str, cancel: threading.Event | None = None) -> Path:
        shown = redact_url(url)
        progress = progress_log(self.log, self.progress_seconds, lambda seconds, written, total: (
            f"downloading {shown}: {written / 1e9:.2f}" + (f" of {total / 1e9:.2f}" if total else "")
            + f" GB, {written / 1e6 / seconds:.1f} MB/s so far"))
        return fetch(url, self.http, self.workdir, cancel, progress)

    def discard_download(self, downloaded: Future) -> None:
        """A download started ahead that no file will read (the run stopped): its copy is deleted as soon
        as it ends."""
        def discard(done: Future) -> None:
            if not done.cancelled() and done.exception() is None:
                self._discard(done.result())

        downloaded.add_done_callback(discard)

    def _discard(self, path: Path) -> None:
        if path.parent == self.workdir:  # a download, not the user's local file
            path.unlink(missing_ok=True)

    def ingest(self, url: str, downloaded: Future | None = None) -> dict:
        """Ingest one file; returns its file_stats row (status 'ok' or 'failed'). `downloaded`: the
        file's `download` started earlier, whose errors fail the file like its own. The file's last
        parts close while the next file is parsed: `settle()` (or `commit()`) waits for them."""
        started = time.perf_counter()
        url = self.resolve(url)
        fid = make_file_id(url)
        stat = {"payer": self.payer, "month": self.month, "file_id": fid, "url": redact_url(url),
                "status": "ok", "error": None}
        normalizer = closing = None
        path = None
        try:
            path = downloaded.result() if downloaded is not None else self._fetch(url)
            stat["bytes"] = path.stat().st_size
            normalizer, closing = self._stream(url, fid, path, stat)
        except FILE_ERRORS as exc:
            self._fail(fid, stat, describe_error(exc))
        except Exception as exc:  # a bug met on this file's data: it fails this file, not the others
            self.log.error(f"file {stat['url']}: unexpected error\n{traceback.format_exc()}")
            self._fail(fid, stat, f"unexpected error (a bug: the run's log has its traceback): {describe_error(exc)}")
        finally:
            if path is not None:
                self._discard(path)
        if normalizer is not None:
            self.seen_groups.update(normalizer.new_groups)
            self.seen_orgs.update(normalizer.new_orgs)
            self.seen_sets.update(normalizer.sets.new)
        self.stats.append(stat)
        self.settle()  # the file before this one, which closed while this one was parsed
        self._closing = (stat, started, self._closer.submit(closing) if closing else time.perf_counter())
        return stat

    def _fail(self, fid: str, stat: dict, error: str) -> None:
        """The file's parts go; its failure is in file_stats and, as a file-level row, in rejects."""
        stat.update(status="failed", error=error)
        for writer in self.writers.values():
            writer.discard(fid)
        self.writers["rejects"].write_table(pa.Table.from_pylist([{
            "payer": self.payer, "month": self.month, "file_id": fid, "position": "file",
            "level": "file", "reason": error, "rows": 0, "record": record_json({"url": stat["url"]}),
        }], schema=TABLES["rejects"]), key=fid, source=stat["url"])

    def settle(self, wait: bool = True) -> None:
        """Wait for the last file's parts to close, then time and log it; `wait=False` only if they
        have (asked as the next file's batches are written, so that a file is logged when it is done).
        A part that cannot be written raises here: the lake is broken, not the payer's file, and the
        run must not publish."""
        if self._closing is None:
            return
        stat, started, closed = self._closing
        if isinstance(closed, Future) and not wait and not closed.done():
            return
        self._closing = None
        ended = closed.result() if isinstance(closed, Future) else closed
        seconds = ended - started
        stat["seconds"] = round(seconds, 3)
        stat["mb_per_s"] = round((stat.get("json_bytes") or 0) / 1e6 / seconds, 2) if seconds else None
        log_file(self.log, stat)

    def _stream(self, url: str, fid: str, path: Path, stat: dict) -> tuple[Normalizer, Callable[[], float]]:
        """The file's normalizer, and what closes its parts (left to the caller, so that closing overlaps
        the next file)."""
        stat["parser"] = self.parser
        parts = self._open_parts(fid, stat)
        writer = WriteBehind(depth=8)  # a batch hands over up to five tables; a few batches may queue

        def close() -> float:
            writer.close()
            close_parts(parts.values())
            return time.perf_counter()

        def restart() -> None:  # the fast path reads the file again: what it wrote is dropped
            writer.drain()
            close_parts(parts.values())
            for partition in self.writers.values():
                partition.discard(fid)
            parts.update(self._open_parts(fid, stat))

        try:
            progress = progress_log(self.log, self.progress_seconds, lambda seconds, json_bytes, items: (
                f"file {stat['url']}: {json_bytes / 1e9:.2f} GB of JSON read, {items:,} items, "
                f"{json_bytes / 1e6 / seconds:.1f} MB/s so far"))
            make_normalizer = lambda header: self._normalizer(fid, header, stat)  # noqa: E731
            sink = lambda ready: self._write(ready, parts, writer)  # noqa: E731
            if self.parser == "fast":
                normalizer = parse_fast(path, stat, make_normalizer, sink, restart, progress)
            else:
                normalizer = parse_reference(path, stat, make_normalizer, sink, progress)
        except BaseException:
            close()
            raise
        stat.update({k: normalizer.counts.get(k, 0) for k in STAT_COUNTS})
        return normalizer, close

    def _open_parts(self, fid: str, stat: dict) -> dict:
        return {name: self.writers[name].open_part(fid, source=stat["url"])
                for name in PART_TABLES}

    def _normalizer(self, fid: str, header: dict, stat: dict) -> Normalizer:
        ctx = FileContext(self.payer, self.month, fid, text(header.get("version")), text(header.get("last_updated_on")))
        stat.update(schema_version=ctx.schema_version, last_updated_on=ctx.last_updated_on)
        return Normalizer(ctx, self._fetch_remote, self.seen_groups, self.seen_orgs, self.seen_sets)

    def _write(self, ready: Ready, parts: dict, writer: WriteBehind) -> None:
        """Hand tables to the file's parts (written behind), and log the file before if it has closed."""
        for name, table in ready:
            writer.put(parts[name], table)
        self.settle(wait=False)

    def _fetch_remote(self, location: str) -> list[dict]:
        """Provider groups of a remote provider-reference file, fetched once per URL."""
        url = self.resolve(location)
        if url not in self._remote:
            try:
                path = fetch(url, self.http, self.workdir / "references")
                with open_json(path) as stream:
                    self._remote[url] = list(ijson.items(stream, "provider_groups.item"))
            except FILE_ERRORS as exc:
                self._remote[url] = exc
        found = self._remote[url]
        if isinstance(found, Exception):
            raise SourceError(describe_error(found))
        return found

    def worker_spec(self) -> dict:
        """What a worker process needs to ingest into the same partition (all picklable)."""
        http = {f.name: getattr(self.http, f.name) for f in dataclasses.fields(self.http)}
        return {"lake_url": self.lake.url, "s3": self.lake.s3, "payer": self.payer, "month": self.month,
                "run_id": self.run_id, "http": http, "resolve": self.resolve, "parser": self.parser,
                "progress_seconds": self.progress_seconds}

    @classmethod
    def from_spec(cls, spec: dict) -> "PartitionIngest":
        return cls(Lake(spec["lake_url"], spec["s3"]), spec["payer"], spec["month"], spec["run_id"],
                   HttpClient(**spec["http"]), resolve=spec["resolve"], parser=spec["parser"],
                   progress_seconds=spec["progress_seconds"])

    def adopt(self, stat: dict, parts: dict[str, list[dict]]) -> dict:
        """Take over a worker's file: its stats row and the parts it wrote (the worker logged it: parallel.py
        relays a worker's log to this ingest's)."""
        self.stats.append(stat)
        self.adopted += 1
        for name, written in parts.items():
            self.writers[name].parts.extend(written)
        return stat

    def commit(self) -> dict[str, dict]:
        """Publish every table of the partition; returns the manifests by table name."""
        self.settle()
        self._closer.shutdown()
        if self.adopted:  # in one process the seen-sets already wrote every group and set once
            deduplicate(self.writers["providers"], "provider_group_uuid")
            deduplicate(self.writers["provider_sets"], "provider_set_uuid")
        merge_organizations(self.writers["organizations"])
        stats = pa.Table.from_pylist([{k: s.get(k) for k in FILE_STATS.names} for s in self.stats],
                                     schema=FILE_STATS)
        self.writers["file_stats"].write_table(stats, key="stats")
        manifests = {name: writer.commit() for name, writer in self.writers.items()}
        self._tmp.cleanup()
        return manifests

