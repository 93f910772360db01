"""What a partition's ingest tells while a file is downloaded and read: how far a long one has got."""

from __future__ import annotations

import json
import logging
import re
import threading

import pytest

from mrf_assets.tic import ingest as ingest_module
from mrf_assets.tic.fast import read_ahead, stream
from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ingest import PARSERS, PartitionIngest
from mrf_assets.tic.lake import Lake
from tests.conftest import DEMO

UHC = DEMO / "real-2022" / "uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz"
PROGRESS = re.compile(r"file (\S+): (\d+\.\d\d) GB of JSON read, ([\d,]+) items, (\d+\.\d) MB/s so far")


def logged_lines(tmp_path, parser: str, url: str = str(UHC)) -> tuple[list[str], dict]:
    lines: list[str] = []

    class Record(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    log = logging.getLogger(f"test-progress-{parser}")
    log.setLevel(logging.INFO)
    log.addHandler(Record())
    ingest = PartitionIngest(Lake(str(tmp_path)), "p", "2026-11", "run-progress", HttpClient(offline=True),
                             log=log, parser=parser)
    stat = ingest.ingest(url)
    ingest.commit()
    return lines, stat


@pytest.mark.parametrize("parser", PARSERS)
def test_a_long_file_logs_how_far_it_has_got(tmp_path, monkeypatch, parser):
    monkeypatch.setattr(ingest_module, "PROGRESS_SECONDS", 0.0)  # every chance to report is taken
    lines, stat = logged_lines(tmp_path, parser)
    progress = [PROGRESS.fullmatch(line) for line in lines if PROGRESS.fullmatch(line)]
    assert progress and lines[-1].startswith("file ok:")  # reported while reading, before the file's line
    assert {m[1] for m in progress} == {str(UHC)}
    read = [float(m[2]) for m in progress]
    items = [int(m[3].replace(",", "")) for m in progress]
    assert read == sorted(read) and items == sorted(items) and 0 < items[-1] <= stat["items"]
    assert read[-1] <= stat["json_bytes"] / 1e9 + 0.005


def test_a_short_file_logs_only_its_result(tmp_path):
    lines, stat = logged_lines(tmp_path, "fast")
    assert stat["status"] == "ok" and [line for line in lines if "so far" in line] == []


def test_a_long_download_logs_how_far_it_has_got(tmp_path, monkeypatch, payer_web):
    monkeypatch.setattr(ingest_module, "PROGRESS_SECONDS", 0.0)
    body = UHC.read_bytes()
    url = payer_web.add("/mrf/uhc.json.gz", body)
    lines, stat = logged_lines(tmp_path, "fast", url)
    size = f"{len(body) / 1e9:.2f}"
    downloading = re.compile(rf"downloading {re.escape(url)}: \d+\.\d\d of {size} GB, \d+\.\d MB/s so far")
    assert stat["status"] == "ok" and any(downloading.fullmatch(line) for line in lines)
    assert lines[-1].startswith("file ok:")


def test_what_the_fast_path_did_its_own_way_is_in_the_files_line(tmp_path, monkeypatch):
    """A batch through the reference rules (a quoted rate), an item read rate by rate, references after
    the items: counted in file_stats, and said in the file's log line. The first pass, given up when items
    come before their references, leaves no thread behind."""
    monkeypatch.setattr(stream, "GIANT_ITEM", 400)
    monkeypatch.setattr(read_ahead, "BLOCK", 64)  # more blocks than the read-ahead queue holds
    monkeypatch.setattr(stream, "BATCH_BYTES", 100)  # items flattened, and found unresolved, before the end
    before = set(threading.enumerate())
    price = {"negotiated_type": "negotiated", "negotiated_rate": 12.5, "expiration_date": "9999-12-31",
             "billing_class": "professional"}
    item = {"negotiation_arrangement": "ffs", "name": "n", "billing_code_type": "CPT", "billing_code_type_version": "2024",
            "billing_code": "27447", "description": "d"}
    doc = {"reporting_entity_name": "x", "last_updated_on": "2026-11-01", "version": "1.0.0", "in_network": [
        dict(item, negotiated_rates=[{"provider_references": [1], "negotiated_prices": [price]}] * 3),
        dict(item, negotiated_rates=[{"provider_references": [1], "negotiated_prices": [dict(price, negotiated_rate="9")]}])],
        "provider_references": [{"provider_group_id": 1, "provider_groups": [
            {"npi": [1730666900], "tin": {"type": "ein", "value": "12-3456789"}}]}]}
    path = tmp_path / "in.json"
    path.write_text(json.dumps(doc))
    lines, stat = logged_lines(tmp_path / "lake", "fast", str(path))
    assert stat["items_fallback"] == 1 and stat["items_giant"] == 1 and stat["passes"] == 2
    assert lines[-1].endswith("; 1 items through the reference rules (" + stat["fallback_reason"] + ")"
                              "; 1 giant items read rate by rate; read twice: provider_references come after in_network")
    assert [t.name for t in set(threading.enumerate()) - before if t.name == "mrf-inflate"] == []


@pytest.mark.parametrize("parser", PARSERS)
def test_an_unexpected_error_fails_its_file_not_the_run(tmp_path, monkeypatch, parser):
    """A bug met on one file's data (here injected after that file has written some rows) fails that
    file like a broken file: its parts go, file_stats and rejects say why, the log has the traceback,
    and the next file is ingested."""
    from mrf_assets.tic import normalize
    from mrf_assets.tic.ids import file_id

    doomed = file_id(str(UHC))
    calls = {"n": 0}

    def buggy(real):
        def call(*args, **kwargs):
            norm = next(a for a in (*args, *kwargs.values()) if isinstance(a, normalize.Normalizer))
            if norm.ctx.file_id == doomed:
                calls["n"] += 1
                if calls["n"] == 3:  # rows of the first batches are on their way to the lake by now
                    raise RuntimeError("injected fault")
            return real(*args, **kwargs)
        return call

    if parser == "fast":
        monkeypatch.setattr(stream, "BATCH_BYTES", 20_000)
        monkeypatch.setattr(stream, "flatten", buggy(stream.flatten))
    else:
        monkeypatch.setattr(normalize, "BATCH_ROWS", 500)
        monkeypatch.setattr(ingest_module.parse_reference.__globals__["Normalizer"], "add_item",
                            buggy(normalize.Normalizer.add_item))
    other = str(DEMO / "cms-v2" / "in-network-rates-fee-for-service-single-plan-sample.json")
    lines: list[str] = []

    class Record(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    log = logging.getLogger(f"test-unexpected-{parser}")
    log.addHandler(Record())
    lake = Lake(str(tmp_path))
    ingest = PartitionIngest(lake, "p", "2026-11", "run-bug", HttpClient(offline=True), log=log, parser=parser)
    failed, ok = ingest.ingest(str(UHC)), ingest.ingest(other)
    ingest.commit()

    assert calls["n"] >= 3 and failed["status"] == "failed" and ok["status"] == "ok" and ok["rows"] > 0
    assert failed["error"].startswith("unexpected error (a bug") and "RuntimeError: injected fault" in failed["error"]
    assert any("Traceback" in line and "injected fault" in line for line in lines)
    rates = lake.read("rates", "2026-11", "p")
    assert set(rates.column("file_id").to_pylist()) == {file_id(other)}  # nothing of the failed file
    rejects = lake.read("rejects", "2026-11", "p").to_pylist()
    assert [r["reason"] for r in rejects if r["file_id"] == doomed] == [failed["error"]]


def test_every_thread_a_file_starts_says_what_it_does(tmp_path, monkeypatch):
    """Profilers, /proc and bench/cpu_by_thread.py tell a process's threads apart by their names alone."""
    before = {thread.ident for thread in threading.enumerate()}  # other tests' servers may still be up
    started: set[str] = set()

    def look() -> None:
        started.update(t.name for t in threading.enumerate() if t.ident not in before)

    flatten, blocks = stream.flatten, stream.decompressed_blocks
    monkeypatch.setattr(stream, "flatten", lambda *args: look() or flatten(*args))
    monkeypatch.setattr(stream, "decompressed_blocks", lambda *args: (look() or block for block in blocks(*args)))
    logged_lines(tmp_path, "fast")
    assert {"mrf-inflate", "mrf-write-behind", "mrf-flatten_0"} <= started  # json-scan: one pool a process
    assert not [name for name in started if re.match(r"Thread-\d|ThreadPoolExecutor-", name)], started
