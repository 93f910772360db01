"""Files ingested by worker processes give the same partition as one process."""

from __future__ import annotations

import polars as pl

from mrf_assets.tic.http import HttpClient
from mrf_assets.tic.ingest import PartitionIngest
from mrf_assets.tic.lake import Lake
from mrf_assets.tic.parallel import ingest_files
from mrf_assets.tic.tables import TABLES
from tests.conftest import DEMO

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
