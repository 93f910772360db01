"""What a partition's ingest tells while a file is downloaded and read: how far a long one has got."""

from __future__ import annotations

import logging
import re

import pytest

from mrf_assets.tic import ingest as ingest_module
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
