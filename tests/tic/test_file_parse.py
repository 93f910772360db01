"""One file's JSON into tables by either parser, handed on batch by batch, without a lake or a partition."""

from __future__ import annotations

import gzip
import json
import zlib

import polars as pl
import pytest

from mrf_assets.tic.fast import stream
from mrf_assets.tic.fast.scan import ScanError
from mrf_assets.tic.file_parse import describe_error, parse_fast, parse_reference
from mrf_assets.tic.normalize import FileContext, Normalizer
from mrf_assets.tic.seen import SeenIds, SeenKeys
from mrf_assets.tic.sources import SourceError
from tests.conftest import DEMO

UHC = DEMO / "real-2022" / "uhc-ny_2022-09-01_Empire_CSP-927-A351_in-network-rates.json.gz"


def parse(parser: str, path, restarts: list | None = None) -> tuple[dict[str, pl.DataFrame], dict, Normalizer]:
    """Every table the parser handed on, concatenated, its stats and normalizer."""
    handed: dict[str, list] = {}
    stat: dict = {}

    def make_normalizer(header: dict) -> Normalizer:
        ctx = FileContext("p", "2026-11", "f", header.get("version"), header.get("last_updated_on"))
        return Normalizer(ctx, lambda url: [], SeenIds(), SeenIds(), SeenKeys())

    def sink(ready) -> None:
        for name, table in ready:
            handed.setdefault(name, []).append(table)

    def restart() -> None:
        restarts.append(sorted(handed))
        handed.clear()

    progress = lambda json_bytes, items: None  # noqa: E731
    if parser == "fast":
        normalizer = parse_fast(path, stat, make_normalizer, sink, restart, progress)
    else:
        normalizer = parse_reference(path, stat, make_normalizer, sink, progress)
    return {name: pl.concat([pl.from_arrow(t) for t in tables]) for name, tables in handed.items()}, stat, normalizer


def sorted_frame(frame: pl.DataFrame) -> pl.DataFrame:
    columns = [c for c, kind in frame.schema.items() if not isinstance(kind, pl.List)]
    return frame.sort(columns)


def test_both_parsers_hand_on_the_same_tables():
    fast, fast_stat, fast_norm = parse("fast", UHC)
    reference, reference_stat, reference_norm = parse("reference", UHC)
    assert set(fast) >= {"rates", "provider_sets", "providers", "organizations"}
    for name in ("rates", "provider_sets", "providers", "organizations"):
        assert sorted_frame(fast[name]).equals(sorted_frame(reference[name])), name
    assert fast["rates"].height == 51_712 and fast_norm.counts["rows"] == reference_norm.counts["rows"]
    assert fast_stat["json_bytes"] == reference_stat["json_bytes"] > 0
    assert fast_stat["last_updated_on"] == "2022-09-01"


def test_the_fast_path_starts_over_when_the_references_come_after_the_items(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "BATCH_BYTES", 200)  # items decoded before the references are read
    doc = json.loads((DEMO / "cms-v1" / "in-network-rates-fee-for-service-single-plan-sample.json").read_text())
    assert "provider_references" in doc
    references = doc.pop("provider_references")
    path = tmp_path / "references-last.json.gz"
    path.write_bytes(gzip.compress(json.dumps({**doc, "provider_references": references}).encode()))
    restarts: list = []
    fast, stat, _ = parse("fast", path, restarts)
    reference, _, _ = parse("reference", path)
    assert stat["passes"] == 2 and len(restarts) == 1 and "rates" in restarts[0]  # the first read's rates, dropped
    assert sorted_frame(fast["rates"]).equals(sorted_frame(reference["rates"]))  # nothing twice


@pytest.mark.parametrize("error, said", [
    (ScanError("unexpected byte b'<' at 0"), "invalid JSON: unexpected byte b'<' at 0"),
    (json.JSONDecodeError("Expecting value", "x", 0), "invalid JSON: Expecting value: line 1 column 1 (char 0)"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
     "invalid UTF-8 text: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
    (SourceError("server answered an HTML page"), "server answered an HTML page"),
    (zlib.error("incomplete or truncated stream"), "error: incomplete or truncated stream"),
])
def test_a_file_error_says_what_went_wrong(error, said):
    assert describe_error(error) == said
