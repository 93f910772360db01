"""Files ingested by worker processes give the same partition as one process."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import polars as pl
import pytest

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ids import file_id
from mrf_assets.tic.ingest import PartitionIngest
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.parallel import WORKERS_ENV, default_workers, ingest_files
from mrf_assets.tic.tables import TABLES
from tests.conftest import DEMO
from tests.support.payer_web import Route

FILES = [str(p) for p in sorted((DEMO / "cms-v2").glob("in-network-*.json"))] + [
    str(DEMO / "real-2022" / "uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz")]


def run(root, workers: int) -> Lake:
    lake = Lake(str(root))
    ingest = PartitionIngest(lake, "p", "2026-11", f"run-{workers}", HttpClient(offline=True))
    stats = ingest_files(ingest, FILES, workers=workers)
    assert [s["status"] for s in stats] == ["ok"] * len(FILES)
    ingest.commit()
    return lake


def test_two_workers_equal_one(tmp_path):
    one, two = run(tmp_path / "one", 1), run(tmp_path / "two", 2)
    for name in ("rates", "provider_sets", "providers", "organizations", "rejects"):
        a = pl.from_arrow(one.read(name, "2026-11", "p", TABLES[name]))
        b = pl.from_arrow(two.read(name, "2026-11", "p", TABLES[name]))
        assert a.sort(a.columns).equals(b.sort(a.columns)), name
    providers = pl.from_arrow(two.read("providers", "2026-11", "p"))
    assert providers.is_duplicated().sum() == 0  # groups seen by both workers are stored once
    sets = pl.from_arrow(two.read("provider_sets", "2026-11", "p"))
    assert sets.height and sets.is_duplicated().sum() == 0  # and so are provider sets
    stats = pl.from_arrow(two.read("file_stats", "2026-11", "p"))
    assert stats["url"].to_list() == FILES


class TimedIngest(PartitionIngest):
    """Records when each file was read to its end and when its ingest returned (time.monotonic, as the
    loopback server stamps requests)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.streamed: dict[str, float] = {}
        self.parsed: dict[str, float] = {}

    def _stream(self, url, *args):
        streamed = super()._stream(url, *args)
        self.streamed[url] = time.monotonic()
        return streamed

    def ingest(self, url, downloaded=None):
        stat = super().ingest(url, downloaded)
        self.parsed[url] = time.monotonic()
        return stat


def test_one_worker_downloads_the_next_file_while_it_parses(tmp_path, payer_web):
    """A remote month in one process: file 2 is requested before file 1 is parsed, a download that
    fails (HTML with 200, 404) fails that file alone, and the partition equals the local files'."""
    urls = [payer_web.add(f"/mrf/{i}-{Path(f).name}", Path(f).read_bytes()) for i, f in enumerate(FILES)]
    urls.insert(1, payer_web.add("/mrf/blocked.json.gz", b"<html><body>Access Denied</body></html>"))
    urls.append(payer_web.url("/mrf/missing.json.gz"))
    lake = Lake(str(tmp_path / "remote"))
    ingest = TimedIngest(lake, "p", "2026-11", "run-remote", HttpClient(offline=True, retries=0))
    stats = ingest_files(ingest, urls, workers=1)
    assert [s["status"] for s in stats] == ["ok", "failed"] + ["ok"] * (len(FILES) - 1) + ["failed"]
    assert "HTML" in stats[1]["error"] and "HTTP 404" in stats[-1]["error"]
    assert all(s["seconds"] > 0 for s in stats)
    requested = {e.path: e.at for e in payer_web.exchanges if e.method == "GET"}
    for url, after in zip(urls, urls[1:]):
        assert requested[urlsplit(after).path] < ingest.parsed[url], f"{after} waited for {url}"
    ingest.commit()
    local = run(tmp_path / "local", 1)
    for name in ("rates", "provider_sets", "providers", "organizations"):
        local_ids = ("file_id", "rate_uuid")  # a file's id is its URL's
        a = pl.from_arrow(local.read(name, "2026-11", "p", TABLES[name])).drop(local_ids, strict=False)
        b = pl.from_arrow(lake.read(name, "2026-11", "p", TABLES[name])).drop(local_ids, strict=False)
        assert a.sort(a.columns).equals(b.sort(a.columns)), name


def test_a_file_listed_twice_in_a_row_is_downloaded_once_at_a_time(tmp_path, payer_web):
    url = payer_web.add("/mrf/a.json", Path(FILES[0]).read_bytes())
    ingest = PartitionIngest(Lake(str(tmp_path)), "p", "2026-11", "run-twice", HttpClient(offline=True))
    assert [s["status"] for s in ingest_files(ingest, [url, url], workers=1)] == ["ok", "ok"]


def test_a_run_that_stops_stops_the_next_files_download(tmp_path, payer_web):
    """An error that is not the file's (here the lake, while file 1 is parsed) fails the run at once:
    file 2, downloading ahead from a slow server (30 s for its body), is abandoned, and its partial
    download is not left behind."""
    slow = Path(FILES[-1]).read_bytes() * 8
    urls = [payer_web.add("/mrf/first.json", Path(FILES[0]).read_bytes()),
            payer_web.serve("/mrf/slow.json.gz", Route(slow, bytes_per_second=len(slow) // 30))]

    class BrokenLake(PartitionIngest):
        def ingest(self, url, downloaded=None):
            while not payer_web.gets("/mrf/slow.json.gz"):  # file 2 has started downloading
                time.sleep(0.01)
            raise RuntimeError("lake unavailable")

    ingest = BrokenLake(Lake(str(tmp_path)), "p", "2026-11", "run-stop", HttpClient(offline=True))
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="lake unavailable"):
        ingest_files(ingest, urls, workers=1)
    assert time.monotonic() - started < 20
    deadline = time.monotonic() + 10  # the server notices the closed connection at its next write
    while not payer_web.abandoned and time.monotonic() < deadline:
        time.sleep(0.05)
    [(path, sent)] = payer_web.abandoned
    assert path == "/mrf/slow.json.gz" and sent < len(slow)
    assert not list(ingest.workdir.glob(f"{file_id(urls[1])}.*"))  # neither the .part file nor a finished one


def test_worker_processes_log_to_the_runs_log(tmp_path):
    """What a worker logs (each file done, how far a long one has got) reaches the run's log, once."""
    logged: list[str] = []

    class Record(logging.Handler):
        def emit(self, record):
            logged.append(record.getMessage())

    log = logging.getLogger("test-worker-log")
    log.setLevel(logging.INFO)
    log.addHandler(Record())
    ingest = PartitionIngest(Lake(str(tmp_path)), "p", "2026-11", "run-workers-log", HttpClient(offline=True),
                             log=log, progress_seconds=0)
    stats = ingest_files(ingest, FILES, workers=2)
    assert [s["status"] for s in stats] == ["ok"] * len(FILES)
    for url in FILES:
        assert len([m for m in logged if m.startswith(f"file ok: {url}: ")]) == 1
        assert any(m.startswith(f"file {url}: ") and m.endswith("MB/s so far") for m in logged)


def test_a_run_that_stops_deletes_the_next_file_it_had_downloaded(tmp_path, payer_web):
    """The next file downloaded in full before the run failed: no file will read it, so it goes."""
    urls = [payer_web.add("/mrf/first.json", Path(FILES[0]).read_bytes()),
            payer_web.add("/mrf/second.json.gz", Path(FILES[-1]).read_bytes())]

    class BrokenLake(PartitionIngest):
        def ingest(self, url, downloaded=None):
            path = downloaded.result()  # this file's copy, which the real ingest deletes when it is done
            path.unlink()
            while not list(self.workdir.glob(f"{file_id(urls[1])}.download")):  # file 2 is all here
                time.sleep(0.01)
            raise RuntimeError("lake unavailable")

    ingest = BrokenLake(Lake(str(tmp_path)), "p", "2026-11", "run-stop", HttpClient(offline=True))
    with pytest.raises(RuntimeError, match="lake unavailable"):
        ingest_files(ingest, urls, workers=1)
    assert list(ingest.workdir.iterdir()) == []


def test_default_workers_one_per_two_cores(monkeypatch):
    monkeypatch.delenv(WORKERS_ENV, raising=False)
    for cores, workers in ((1, 1), (2, 1), (3, 1), (8, 4), (None, 1)):
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        assert default_workers() == workers
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert default_workers() == 3


def test_a_file_is_logged_when_its_parts_have_closed_not_after_the_next_file(tmp_path):
    """Parts close while the next file is parsed; the file's log line and timing follow their closing,
    not the end of the next file (a 20 GB file would hold it for an hour)."""
    logged: list[tuple[float, str]] = []

    class Record(logging.Handler):
        def emit(self, record):
            logged.append((time.monotonic(), record.getMessage()))

    log = logging.getLogger("test-settle")
    log.setLevel(logging.INFO)
    log.addHandler(Record())
    files = [FILES[0], FILES[-1]]  # a small CMS example, then the real 2022 file
    ingest = TimedIngest(Lake(str(tmp_path)), "p", "2026-11", "run-log", HttpClient(offline=True), log=log)
    stats = ingest_files(ingest, files, workers=1)
    first = next(at for at, message in logged if message.startswith(f"file ok: {files[0]}"))
    assert first < ingest.streamed[files[1]]
    assert [s["status"] for s in stats] == ["ok", "ok"] and all(s["seconds"] > 0 for s in stats)
    assert len([m for _, m in logged if m.startswith("file ok")]) == 2
